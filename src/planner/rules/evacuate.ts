/**
 * Evacuation, as vSphere's maintenance mode and `kubectl drain` do it: every VM that may move
 * leaves a host marked `evacuate` (a PhysicalHost being removed, in maintenance, or whose
 * powerPolicy is Off). plan() runs it before any strategy's own rules, so the VMs it places
 * take their room before balancing or consolidation look at the hosts.
 *
 * - The host receives nothing and is never powered on or off here (plan() treats it as in
 *   maintenance; the invariants check it): evacuation never switches a host off by itself; only
 *   powerPolicy Off does, once the host is empty (powerOffKeptOff).
 * - A VM moves only where any move may go (on, not in maintenance, memory, CPU up to 100 %,
 *   anti-affinity), within the plan's migration cap and the VM's cooldown. Spread: the least
 *   loaded host that stays under Th1 first, else the least loaded one with room at all.
 * - A VM pinned to the host, marked doNotMigrate, mid-migration or not Tide's (no placement)
 *   stays; a VM pinned elsewhere goes to its own host only.
 * - Lower priority first, heaviest first among equals (fewest hosts filled up by small VMs).
 * - When VMs find no room and no host is booting, one standby host that could take one of them
 *   is powered on (reason Evacuate); they move once it is up, in a later round.
 *
 * What stays and why is reported per host (Plan.evacuations): the controller turns it into the
 * host's conditions and Events.
 */
import { listNames, pct } from '../explain.ts';
import { alreadyMoved, doNotMigrate, hostRefuses, migrationCooldown, powerCooldownBlocks, vmBlocked, wakeOrder } from '../filters.ts';
import { leastLoadedFit } from '../scoring.ts';
import type { ClusterState, HostState, VmState } from '../cluster.ts';
import type { EvacuationReport } from '../types.ts';

const FULL = 100;

/** Why a VM that is free to move finds no target: said this way so the controller can tell "no room". */
export const NO_ROOM = 'no room';

/** Evacuates every host marked so; returns the summary's words, or null when no host is marked. */
export function evacuateHosts(c: ClusterState): string | null {
  const hosts = c.hosts.filter((h) => h.snap.evacuate);
  if (hosts.length === 0) return null;
  const noRoom: VmState[] = [];
  const parts: string[] = [];
  for (const host of hosts) {
    if (host.powerState !== 'on') {
      c.evacuations.push({ host: host.name, moving: [], staying: host.vms.map((vm) => ({ vm: vm.name, why: `${host.name} is ${host.powerState}` })) });
      continue;
    }
    const report = evacuate(c, host, noRoom);
    c.evacuations.push(report);
    parts.push(`evacuating ${host.name}: ${report.moving.length} moving, ${report.staying.length} staying`);
  }
  const powerOn = noRoom.length ? wakeForRoom(c, noRoom) : null;
  return [...parts, ...(powerOn ? [powerOn] : [])].join('; ') || `${listNames(hosts.map((h) => h.name))} not on: nothing moves off ${hosts.length === 1 ? 'it' : 'them'}`;
}

/**
 * Brings the reports up to date once every rule has run: a VM another rule moved off the host
 * later in the plan (e.g. once room appeared) is moving, not staying.
 */
export function finishEvacuationReports(c: ClusterState): void {
  for (const report of c.evacuations) {
    report.moving = c.actions.filter((a) => a.type === 'migrate' && a.from === report.host).map((a) => (a as { vm: string }).vm);
    report.staying = report.staying.filter((x) => c.vmByName.get(x.vm)?.host.name === report.host);
  }
}

/**
 * Powers off every host to be kept off (powerPolicy Off) on which no VM at all is left once this
 * plan's moves are counted, VMs Tide does not manage included. The executor runs the power-off
 * after those moves, only if all of them succeeded and a last look finds the host empty.
 */
export function powerOffKeptOff(c: ClusterState): string | null {
  const parts: string[] = [];
  for (const host of c.hosts) {
    if (!host.snap.keepOff || host.powerState !== 'on') continue;
    if (host.vms.length > 0) {
      parts.push(`${host.name} (powerPolicy Off) stays on while ${listNames(host.vms.map((vm) => vm.name))} ${host.vms.length === 1 ? 'runs' : 'run'} there`);
      continue;
    }
    c.powerOff(host, 'PowerPolicyOff', `power off ${host.name}: its powerPolicy is Off and no VM runs on it any more`);
    parts.push(`powering ${host.name} off (powerPolicy Off)`);
  }
  return parts.length ? parts.join('; ') : null;
}

/** A strategy's summary with the evacuation's words in front, when there was one. */
export function withEvacuation(evacuation: string | null, summary: string): string {
  return evacuation ? `${evacuation}; ${summary}` : summary;
}

function evacuate(c: ClusterState, host: HostState, noRoom: VmState[]): EvacuationReport {
  const report: EvacuationReport = { host: host.name, moving: [], staying: [] };
  const order = [...host.vms].sort((a, b) => (a.snap.priority ?? 0) - (b.snap.priority ?? 0));
  for (const vm of order) {
    const blocked = vmBlocked(c, vm, [alreadyMoved, doNotMigrate, migrationCooldown]);
    if (blocked) {
      report.staying.push({ vm: vm.name, why: blocked });
      continue;
    }
    const pinned = vm.snap.pinnedHost;
    if (pinned === host.name) {
      report.staying.push({ vm: vm.name, why: `${vm.name} is pinned to ${host.name}` });
      continue;
    }
    if (c.migrationCapReached()) {
      report.staying.push({ vm: vm.name, why: `the plan's cap of ${c.policy.maxMigrationsPerPlan} migrations is reached` });
      continue;
    }
    let target: HostState | null;
    let why: string;
    if (pinned !== undefined) {
      const home = c.hostByName.get(pinned);
      const refusal = home ? hostRefuses(c, vm, home, FULL) : `${pinned} is not a known host`;
      target = refusal ? null : home!;
      why = `${vm.name} is pinned to ${pinned}, which cannot take it: ${refusal}`;
    } else {
      target = leastLoadedFit(c, vm, c.policy.overloadThresholdPercent) ?? leastLoadedFit(c, vm, FULL);
      why = `${NO_ROOM}: no host on takes ${vm.name} (${vm.snap.vcpus} vCPUs, ${vm.snap.memoryMiB} MiB) without passing 100 % CPU, its memory or anti-affinity`;
    }
    if (!target) {
      report.staying.push({ vm: vm.name, why });
      if (pinned === undefined) noRoom.push(vm);
      continue;
    }
    const before = target.load;
    c.migrate(vm, target, 'Evacuate', `migrate ${vm.name} ${host.name}→${target.name}: evacuating ${host.name}; ${target.name} ${pct(before)} → ${pct(target.load)}`);
    report.moving.push(vm.name);
  }
  return report;
}

/** Powers on the biggest standby host that could take at least one VM that found no room. */
function wakeForRoom(c: ClusterState, stuck: VmState[]): string | null {
  const booting = c.hosts.filter((h) => h.powerState === 'booting' && !h.snap.maintenance);
  if (booting.length) return `waiting for ${listNames(booting.map((h) => h.name))} to boot`;
  const fits = (h: HostState, vm: VmState) =>
    vm.snap.memoryMiB <= h.snap.memoryMiB && c.weightOn(vm, h) <= FULL && !(vm.snap.antiAffinityGroup && (h.antiAffinity.get(vm.snap.antiAffinityGroup) ?? 0) > 0);
  const standby = c.hosts
    .filter((h) => h.powerState === 'off' && !h.snap.maintenance && !h.snap.evacuate && h.snap.canPowerOn !== false && !powerCooldownBlocks(c, h) && stuck.some((vm) => fits(h, vm)))
    .sort(wakeOrder);
  const chosen = standby[0];
  if (!chosen) return null;
  const names = stuck.filter((vm) => fits(chosen, vm)).map((vm) => vm.name);
  c.powerOn(chosen, 'Evacuate', `power on ${chosen.name}: ${listNames(names)} must leave ${listNames([...new Set(stuck.map((vm) => vm.host.name))])} and no host on has room; ${chosen.cores} cores, ${chosen.snap.memoryMiB} MiB`);
  return `powering ${chosen.name} on for room`;
}
