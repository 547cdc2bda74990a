/**
 * Hard violations every strategy fixes first, even `npa`: a pinned VM away from its host, a
 * host over its CPU or memory capacity. When a fix is impossible the plan carries an alert
 * saying why, instead of a move that would break something else.
 */
import { leastLoadedFit } from './scoring.ts';
import { alreadyMoved, doNotMigrate, hostRefuses, migrationCooldown, vmBlocked } from './filters.ts';
import { pct } from './explain.ts';
import { EPSILON } from './units.ts';
import type { ClusterState, HostState } from './cluster.ts';

const FULL = 100;

export function repairHardViolations(c: ClusterState): void {
  wakeHostsNotAllowedStandby(c);
  movePinnedVmsHome(c);
  relieveOverCapacityHosts(c);
}

/**
 * A host that is off although its standby is no longer allowed (an administrator set
 * standbyAllowed: false, e.g. before uninstalling Tide) is powered on: standby is Tide's to
 * undo. Hosts in maintenance, without a way to power them on, or whose wakes fail, are left alone.
 */
function wakeHostsNotAllowedStandby(c: ClusterState): void {
  for (const host of c.hosts) {
    // A host kept out of standby because its wakes fail is off for want of a working wake, not by
    // Tide's choice: it is woken when load needs it (overload, room), not retried every round.
    if (host.powerState !== 'off' || host.snap.standbyAllowed || host.snap.wakeFailing || host.snap.maintenance || host.snap.canPowerOn === false) continue;
    // No power cooldown here: it guards against Tide's own flapping, and this is an administrator's call.
    c.powerOn(host, 'StandbyNotAllowed', `power on ${host.name}: it is off but standby is not allowed for it (standbyAllowed false or powerPolicy AlwaysOn)`);
  }
}

function movePinnedVmsHome(c: ClusterState): void {
  for (const vm of c.vms) {
    const home = vm.snap.pinnedHost;
    if (home === undefined || home === vm.host.name) continue;
    const target = c.hostByName.get(home);
    const why = vmBlocked(c, vm, [alreadyMoved, doNotMigrate, migrationCooldown]) ??
      (target ? hostRefuses(c, vm, target, FULL) : `${home} is not a known host`) ??
      (c.migrationCapReached() ? `the plan's migration cap of ${c.policy.maxMigrationsPerPlan} is reached` : null);
    if (why || !target) {
      c.alert('PinnedElsewhere', `${vm.name} is pinned to ${home} but runs on ${vm.host.name} and cannot move back: ${why}`, vm.host);
      continue;
    }
    const before = target.load;
    c.migrate(vm, target, 'PinnedElsewhere',
      `migrate ${vm.name} ${vm.host.name}→${home}: ${vm.name} is pinned to ${home}, which has room (${pct(before)} → ${pct(target.load)})`);
  }
}

function overCapacity(host: HostState): string | null {
  const parts: string[] = [];
  if (host.load > FULL + EPSILON) parts.push(`CPU ${pct(host.load)} > 100 %`);
  if (host.memoryUsedMiB > host.snap.memoryMiB) parts.push(`memory ${host.memoryUsedMiB} MiB > ${host.snap.memoryMiB} MiB`);
  return parts.length ? parts.join(', ') : null;
}

function relieveOverCapacityHosts(c: ClusterState): void {
  for (const host of c.hosts) {
    if (host.powerState !== 'on' || !overCapacity(host)) continue;
    // Heaviest first: fewest migrations to get back under capacity.
    for (const vm of [...host.vms]) {
      const over = overCapacity(host);
      if (!over || c.migrationCapReached()) break;
      if (vmBlocked(c, vm)) continue;
      const target = leastLoadedFit(c, vm, FULL, new Set([host]));
      if (!target) continue;
      const before = target.load;
      c.migrate(vm, target, 'HostOverCapacity',
        `migrate ${vm.name} ${host.name}→${target.name}: ${host.name} is over capacity (${over}); ${target.name} has room (${pct(before)} → ${pct(target.load)})`);
    }
    const still = overCapacity(host);
    if (still) c.alert('HostOverCapacity', `${host.name} stays over capacity (${still}): no movable VM fits on another host`, host);
  }
}

