/**
 * Filters in the kube-scheduler sense: small checks that each say why a VM may not move, or
 * why a host may not take it (null: no objection). Strategies compose them; the reasons end
 * up in plan summaries and alerts, so they are short phrases with the numbers.
 */
import { num, pct } from './explain.ts';
import { EPSILON } from './units.ts';
import type { ClusterState, HostState, VmState } from './cluster.ts';

export type VmFilter = (c: ClusterState, vm: VmState) => string | null;
export type HostFilter = (c: ClusterState, vm: VmState, to: HostState, maxLoad: number) => string | null;

export const alreadyMoved: VmFilter = (_c, vm) => (vm.moved ? `${vm.name} already moves in this plan` : null);

export const pinned: VmFilter = (_c, vm) =>
  vm.snap.pinnedHost !== undefined ? `${vm.name} is pinned to ${vm.snap.pinnedHost}` : null;

export const doNotMigrate: VmFilter = (_c, vm) =>
  vm.snap.doNotMigrate ? (vm.snap.migrating ? `${vm.name} is migrating` : `${vm.name} is marked do-not-migrate`) : null;

export const migrationCooldown: VmFilter = (c, vm) => {
  const last = vm.snap.lastMigratedAtMs;
  const cooldown = c.policy.migrationCooldownMs;
  if (last === undefined || cooldown <= 0) return null;
  const ago = c.snapshot.atMs - last;
  return ago < cooldown ? `${vm.name} migrated ${num(ago / 1000)} s ago, cooldown ${num(cooldown / 1000)} s` : null;
};

/** Everything that keeps a VM where it is, whatever the target. */
export const VM_FILTERS: readonly VmFilter[] = [alreadyMoved, pinned, doNotMigrate, migrationCooldown];

export const notSameHost: HostFilter = (_c, vm, to) => (vm.host === to ? `${vm.name} already runs on ${to.name}` : null);

export const hostIsOn: HostFilter = (_c, _vm, to) => (to.powerState === 'on' ? null : `${to.name} is ${to.powerState}`);

export const notInMaintenance: HostFilter = (_c, _vm, to) => (to.snap.maintenance ? `${to.name} is in maintenance` : null);

export const memoryFits: HostFilter = (_c, vm, to) => {
  const after = to.memoryUsedMiB + vm.snap.memoryMiB;
  return after <= to.snap.memoryMiB ? null : `${vm.name} needs ${vm.snap.memoryMiB} MiB, ${to.name} has ${to.snap.memoryMiB - to.memoryUsedMiB} MiB free`;
};

export const cpuFits: HostFilter = (c, vm, to, maxLoad) => {
  const after = to.load + c.weightOn(vm, to);
  return after <= maxLoad + EPSILON ? null : `${to.name} would reach ${pct(after)} > ${pct(maxLoad)}`;
};

export const antiAffinity: HostFilter = (_c, vm, to) => {
  const group = vm.snap.antiAffinityGroup;
  return group && (to.antiAffinity.get(group) ?? 0) > 0 ? `${to.name} already runs a VM of anti-affinity group ${group}` : null;
};

/** Everything a target host must satisfy; `maxLoad` is the load it may reach. */
export const HOST_FILTERS: readonly HostFilter[] = [notSameHost, hostIsOn, notInMaintenance, memoryFits, cpuFits, antiAffinity];

export function vmBlocked(c: ClusterState, vm: VmState, filters: readonly VmFilter[] = VM_FILTERS): string | null {
  for (const filter of filters) {
    const why = filter(c, vm);
    if (why) return why;
  }
  return null;
}

export function hostRefuses(c: ClusterState, vm: VmState, to: HostState, maxLoad: number): string | null {
  for (const filter of HOST_FILTERS) {
    const why = filter(c, vm, to, maxLoad);
    if (why) return why;
  }
  return null;
}

/** Power actions respect the policy's cooldown on each host. */
/**
 * The order standby hosts are woken in: those whose last wakes failed fewest times first (a host
 * that did not come is tried again only after the others), then the biggest host, which brings
 * the most capacity, and among equals the one that idles cheapest.
 */
export function wakeOrder(a: HostState, b: HostState): number {
  return (a.snap.failedWakes ?? 0) - (b.snap.failedWakes ?? 0) || b.cores - a.cores || (a.snap.idleWatts ?? 0) - (b.snap.idleWatts ?? 0) || (a.name < b.name ? -1 : 1);
}

export function powerCooldownBlocks(c: ClusterState, host: HostState): string | null {
  const last = host.snap.lastPowerActionAtMs;
  const cooldown = c.policy.powerCooldownMs;
  if (last === undefined || cooldown <= 0) return null;
  const ago = c.snapshot.atMs - last;
  return ago < cooldown ? `${host.name} was powered ${num(ago / 1000)} s ago, cooldown ${num(cooldown / 1000)} s` : null;
}
