/**
 * lr-mmt: Beloglazov & Buyya's (2012) LR-MMT 1.2, the strongest heuristic of their study, as
 * CloudSim 3.0.3 runs it (PowerVmAllocationPolicyMigrationAbstract.optimizeAllocation):
 *
 * 1. Overloaded hosts: local regression over the last 10 samples, safety 1.2 (overload.ts).
 * 2. From each, minimum migration time selection: move the VM with the least RAM, again and
 *    again until the host is no longer overloaded.
 * 3. Place those VMs, largest demand first, by power-aware best fit (placement.ts); empty
 *    hosts may receive them, overloaded hosts may not.
 * 4. Underloaded hosts: from the least utilised up, try to move every VM off the host (all
 *    or nothing) onto non-empty hosts that stay below overload; a host that received VMs in
 *    this round is not evacuated (CloudSim means to exclude them too, but a bug lets it
 *    evacuate them, moving a VM twice in one round, which Tide's invariants forbid).
 *
 * Hosts are not powered off by a plan: like CloudSim, the data centre switches a host off
 * when it is empty and on when it receives a VM.
 */
import { vmBlocked } from '../filters.ts';
import { listNames, num } from '../explain.ts';
import { OverloadDetector } from '../power-aware/overload.ts';
import { describePlacement, findPowerAwareHost, type PlacementRules } from '../power-aware/placement.ts';
import type { ClusterState, HostState, VmState } from '../cluster.ts';
import type { Strategy } from '../strategy.ts';

export const lrMmt: Strategy = {
  name: 'lr-mmt',
  description: 'Beloglazov & Buyya LR-MMT 1.2: local-regression overload detection, minimum migration time, power-aware best fit',
  plan(c) {
    const rules = beloglazovRules(c);
    const relief = relieveOverloadedHosts(rules);
    const evacuated = evacuateUnderloadedHosts(rules, relief.overloaded, relief.receivers);
    return `lr-mmt: ${relief.summary}; ${evacuated}`;
  },
};

export function beloglazovRules(c: ClusterState): PlacementRules {
  return {
    c,
    startLoad: new Map(c.hosts.map((h) => [h, h.load])),
    overload: new OverloadDetector(),
  };
}

/** Minimum migration time: the movable VM with the least RAM (ties: by name). */
export function selectMinimumMigrationTime(c: ClusterState, vms: readonly VmState[]): VmState | null {
  let best: VmState | null = null;
  for (const vm of vms) {
    if (vmBlocked(c, vm)) continue;
    if (!best || vm.snap.memoryMiB < best.snap.memoryMiB || (vm.snap.memoryMiB === best.snap.memoryMiB && vm.name < best.name)) best = vm;
  }
  return best;
}

interface Relief {
  overloaded: Set<HostState>;
  receivers: Set<HostState>;
  summary: string;
}

export function relieveOverloadedHosts(rules: PlacementRules): Relief {
  const { c } = rules;
  const overloaded = new Set<HostState>();
  const leaving: { vm: VmState; why: string }[] = [];
  for (const host of c.hosts) {
    if (host.powerState !== 'on' || host.vms.length === 0) continue;
    const verdict = rules.overload.now(host);
    if (!verdict.overloaded) continue;
    overloaded.add(host);
    let staying = [...host.vms];
    for (;;) {
      const vm = selectMinimumMigrationTime(c, staying);
      if (!vm) break;
      staying = staying.filter((v) => v !== vm);
      leaving.push({ vm, why: `${host.name} is overloaded: ${verdict.why()}; ${vm.name} has the least RAM (${vm.snap.memoryMiB} MiB)` });
      if (!rules.overload.of(host, staying).overloaded) break;
    }
  }
  leaving.sort((a, b) => b.vm.demand - a.vm.demand || (a.vm.name < b.vm.name ? -1 : 1));
  const receivers = new Set<HostState>();
  const stuck: string[] = [];
  for (const { vm, why } of leaving) {
    if (c.migrationCapReached()) break;
    const target = findPowerAwareHost(rules, vm, overloaded);
    if (!target) {
      stuck.push(vm.name);
      continue;
    }
    const from = vm.host.name;
    c.migrate(vm, target.host, 'Overloaded', `migrate ${vm.name} ${from}→${target.host.name}: ${why}; ${describePlacement(target)}`);
    receivers.add(target.host);
  }
  if (stuck.length) c.alert('Blocked', `no host can take ${listNames(stuck)} without being overloaded: they stay on overloaded hosts`);
  const summary = overloaded.size ? `${overloaded.size} overloaded hosts, ${leaving.length - stuck.length} VMs moved off` : 'no host overloaded';
  return { overloaded, receivers, summary };
}

/** All or nothing per host, least utilised first; returns the summary. */
export function evacuateUnderloadedHosts(rules: PlacementRules, overloaded: ReadonlySet<HostState>, receivers: ReadonlySet<HostState>, canEvacuate?: (host: HostState) => string | null): string {
  const { c } = rules;
  const off = (h: HostState) => (rules.startLoad.get(h) ?? 0) <= 0 || h.powerState !== 'on';
  const excludedTargets = new Set<HostState>([...overloaded, ...c.hosts.filter(off)]);
  const done = new Set<HostState>([...excludedTargets, ...receivers]);
  const candidates = c.hosts
    .filter((h) => !done.has(h) && (rules.startLoad.get(h) ?? 0) < 100 && !h.snap.maintenance)
    .sort((a, b) => (rules.startLoad.get(a) ?? 0) - (rules.startLoad.get(b) ?? 0) || (a.name < b.name ? -1 : 1));
  // Only hosts that were on and loaded at the start can take VMs from an underloaded host.
  const targets = c.hosts.filter((h) => !excludedTargets.has(h));
  let emptied = 0;
  for (const host of candidates) {
    if (done.has(host) || c.migrationCapReached()) continue;
    done.add(host);
    excludedTargets.add(host);
    if (host.vms.length === 0 || host.vms.some((vm) => vmBlocked(c, vm)) || canEvacuate?.(host)) continue;
    const mark = c.checkpoint();
    const placed: HostState[] = [];
    const start = rules.startLoad.get(host) ?? 0;
    for (const vm of [...host.vms].sort((a, b) => b.demand - a.demand || (a.name < b.name ? -1 : 1))) {
      const target = c.migrationCapReached() ? null : findPowerAwareHost(rules, vm, excludedTargets, targets);
      if (!target) {
        c.rollback(mark);
        placed.length = 0;
        break;
      }
      c.migrate(vm, target.host, 'Consolidate',
        `migrate ${vm.name} ${host.name}→${target.host.name}: ${host.name} is the least utilised host left (${num(start)} %), emptied to be switched off; ${describePlacement(target)}`);
      placed.push(target.host);
    }
    if (placed.length) {
      emptied++;
      for (const h of placed) done.add(h);
    }
  }
  return emptied ? `${emptied} underloaded hosts emptied` : 'no underloaded host could be emptied';
}
