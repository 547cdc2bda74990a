/**
 * Power actions for the consolidating strategies. CloudSim switches a host off the moment it
 * is empty and on the moment it receives a VM; a real data centre needs the plan to say so:
 *
 * - power off every host that is on and empty after the plan's migrations (emptied by them,
 *   or idle already), within the policy: off-peak only, standby allowed, power cooldown,
 *   never fewer than minHostsOn hosts on (a host still booting may never come up, so it does
 *   not count);
 * - power on one host when VMs on overloaded hosts found no target and no host is booting:
 *   they move once it is up (a plan may not migrate to a host that is not on yet).
 */
import { listNames, num } from '../explain.ts';
import { powerCooldownBlocks, wakeOrder } from '../filters.ts';
import { couldTake, type PlacementRules } from './placement.ts';
import type { ClusterState, VmState } from '../cluster.ts';

export function powerOffEmptyHosts(c: ClusterState): string {
  const empty = c.hosts.filter((h) => h.powerState === 'on' && h.vms.length === 0 && !h.snap.maintenance && !h.powerChanged);
  if (empty.length === 0) return 'no empty host on';
  if (!c.policy.consolidationAllowed) return `${empty.length} empty hosts stay on: outside the off-peak windows`;
  let on = c.hosts.filter((h) => h.powerState === 'on' && !h.snap.maintenance).length;
  const minHosts = Math.max(0, c.policy.minHostsOn);
  let off = 0;
  const kept: string[] = [];
  // The host that idles at the most watts first: it saves the most.
  for (const host of empty.sort((a, b) => (b.snap.idleWatts ?? 0) - (a.snap.idleWatts ?? 0) || (a.name < b.name ? -1 : 1))) {
    const why = !host.snap.standbyAllowed ? `${host.name} may not be put in standby` : powerCooldownBlocks(c, host) ?? (on - 1 < minHosts ? `minHostsOn ${minHosts}` : null);
    if (why) {
      kept.push(why);
      continue;
    }
    const idle = host.snap.idleWatts !== undefined ? ` (saves ≈${num(host.snap.idleWatts)} W idle)` : '';
    c.powerOff(host, 'EmptyHost', `power off ${host.name}: it holds no VM after this plan${idle}; ${on - 1} host${on === 2 ? '' : 's'} stay${on === 2 ? 's' : ''} on (minHostsOn ${minHosts})`);
    on--;
    off++;
  }
  return `${off} empty hosts powered off${kept.length ? `, ${kept.length} kept on (${listNames(kept)})` : ''}`;
}

/**
 * When `stuck` VMs found no target: power on the biggest standby host that could take one of
 * them (cheapest idle among equals). One that could take none would only be powered off again.
 */
export function powerOnForStuckVms(rules: PlacementRules, stuck: readonly VmState[]): string | null {
  const { c } = rules;
  if (stuck.length === 0) return null;
  const booting = c.hosts.filter((h) => h.powerState === 'booting');
  if (booting.length) return `waiting for ${listNames(booting.map((h) => h.name))} to boot`;
  const standby = c.hosts
    .filter((h) => h.powerState === 'off' && !h.snap.maintenance && h.snap.canPowerOn !== false && !powerCooldownBlocks(c, h) && stuck.some((vm) => couldTake(rules, h, vm)))
    .sort(wakeOrder);
  const chosen = standby[0];
  if (!chosen) return 'no standby host could take them';
  const names = stuck.map((vm) => vm.name);
  c.powerOn(chosen, 'Overloaded', `power on ${chosen.name}: no host on can take ${listNames(names)} off overloaded hosts; they move once it is up`);
  return `powering ${chosen.name} on`;
}
