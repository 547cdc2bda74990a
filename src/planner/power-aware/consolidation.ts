/**
 * The two halves of Beloglazov & Buyya's dynamic consolidation (CloudSim's
 * PowerVmAllocationPolicyMigrationAbstract.optimizeAllocation), shared by lr-mmt and tide,
 * which differ only in the rules they pass: which hosts count as overloaded, which targets
 * may take a VM, which hosts are worth emptying.
 *
 * 1. Overloaded hosts (by `detect`): move VMs off by minimum migration time (least RAM first)
 *    until the host is no longer overloaded, then place them, largest demand first, by
 *    power-aware best fit under `place`; overloaded hosts take none, empty hosts may.
 * 2. Underloaded hosts: from the least utilised up, move every VM off (all or nothing) onto
 *    hosts that were on and loaded; a host that received VMs this round is not emptied.
 */
import { vmBlocked } from '../filters.ts';
import { listNames, num } from '../explain.ts';
import { describePlacement, findPowerAwareHost, type PlacementRules } from './placement.ts';
import { describeVerdict } from './overload.ts';
import { powerOnForStuckVms } from './power.ts';
import type { ClusterState, HostState, VmState } from '../cluster.ts';

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

export function relieveOverloadedHosts(detect: PlacementRules, place: PlacementRules): Relief {
  const { c } = detect;
  const overloaded = new Set<HostState>();
  const leaving: { vm: VmState; why: string }[] = [];
  for (const host of c.hosts) {
    if (host.powerState !== 'on' || host.vms.length === 0) continue;
    const verdict = detect.overload.now(host);
    if (!verdict.overloaded) continue;
    overloaded.add(host);
    let staying = [...host.vms];
    for (;;) {
      const vm = selectMinimumMigrationTime(c, staying);
      if (!vm) break;
      staying = staying.filter((v) => v !== vm);
      leaving.push({ vm, why: `${host.name} is overloaded: ${describeVerdict(verdict)}; ${vm.name} has the least RAM (${vm.snap.memoryMiB} MiB)` });
      if (!detect.overload.of(host, staying).overloaded) break;
    }
  }
  leaving.sort((a, b) => b.vm.demand - a.vm.demand || (a.vm.name < b.vm.name ? -1 : 1));
  const receivers = new Set<HostState>();
  const stuck: VmState[] = [];
  for (const { vm, why } of leaving) {
    if (c.migrationCapReached()) break;
    const target = findPowerAwareHost(place, vm, overloaded);
    if (!target) {
      stuck.push(vm);
      continue;
    }
    const from = vm.host.name;
    c.migrate(vm, target.host, 'Overloaded', `migrate ${vm.name} ${from}→${target.host.name}: ${why}; ${describePlacement(target, place)}`);
    receivers.add(target.host);
  }
  const waking = powerOnForStuckVms(place, stuck);
  if (stuck.length) c.alert('Blocked', `no host can take ${listNames(stuck.map((vm) => vm.name))} without being overloaded: they stay on overloaded hosts (${waking})`);
  const summary = overloaded.size ? `${overloaded.size} overloaded hosts, ${leaving.length - stuck.length} VMs moved off${waking ? `, ${waking}` : ''}` : 'no host overloaded';
  return { overloaded, receivers, summary };
}

export interface EvacuationOptions {
  /** Only hosts below this load (%) at the round's start are emptied. */
  belowPercent: number;
  /**
   * CloudSim: a host at 0 % counts as switched off (it draws nothing there), so it is neither
   * emptied nor a target. In a real data centre a host of idle VMs draws idle watts: false.
   */
  idleIsOff: boolean;
  /**
   * Which candidate to empty first, and how a message says so (default: the least utilised
   * at the round's start); ties go to the least utilised.
   */
  order?: { compare: (a: HostState, b: HostState) => number; describe: string };
}

/** All or nothing per host, least utilised first; returns the summary. */
export function evacuateUnderloadedHosts(rules: PlacementRules, overloaded: ReadonlySet<HostState>, receivers: ReadonlySet<HostState>, opts: EvacuationOptions = { belowPercent: 100, idleIsOff: true }): string {
  const { c } = rules;
  if (!c.policy.consolidationAllowed) return 'no consolidation: outside the off-peak windows';
  const belowPercent = opts.belowPercent;
  const off = (h: HostState) => h.powerState !== 'on' || (opts.idleIsOff ? (rules.startLoad.get(h) ?? 0) <= 0 : h.vms.length === 0);
  const excludedTargets = new Set<HostState>([...overloaded, ...c.hosts.filter(off)]);
  const done = new Set<HostState>([...excludedTargets, ...receivers]);
  const candidates = c.hosts
    .filter((h) => !done.has(h) && (rules.startLoad.get(h) ?? 0) < belowPercent && !h.snap.maintenance)
    .sort((a, b) => opts.order?.compare(a, b) || (rules.startLoad.get(a) ?? 0) - (rules.startLoad.get(b) ?? 0) || (a.name < b.name ? -1 : 1));
  // Only hosts that were on and loaded at the start can take VMs from an underloaded host.
  const targets = c.hosts.filter((h) => !excludedTargets.has(h));
  // Targets only lose free memory during the loop, so this stays an upper bound: a host with a VM
  // bigger than any target's free memory cannot be emptied, and is skipped without a search.
  const maxFreeMiB = targets.reduce((most, h) => Math.max(most, h.snap.memoryMiB - h.memoryUsedMiB), 0);
  let emptied = 0;
  let blocked = 0;
  for (const host of candidates) {
    if (done.has(host) || c.migrationCapReached()) continue;
    done.add(host);
    excludedTargets.add(host);
    if (host.vms.length === 0) continue;
    if (host.vms.some((vm) => vmBlocked(c, vm))) {
      blocked++;
      continue;
    }
    if (host.vms.some((vm) => vm.snap.memoryMiB > maxFreeMiB)) continue;
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
        `migrate ${vm.name} ${host.name}→${target.host.name}: ${host.name} is ${opts.order?.describe ?? 'the least utilised host left'} (${num(start)} % < ${num(belowPercent)} %), emptied to be switched off; ${describePlacement(target, rules)}`);
      placed.push(target.host);
    }
    if (placed.length) {
      emptied++;
      for (const h of placed) done.add(h);
    }
  }
  const parts = [emptied ? `${emptied} underloaded hosts emptied` : 'no underloaded host could be emptied'];
  if (blocked) parts.push(`${blocked} left alone: a VM on each may not move (pinned, do-not-migrate or cooldown)`);
  return parts.join(', ');
}
