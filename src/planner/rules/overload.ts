/**
 * Paper §3.2, Th1: when the average load of the active hosts is over Th1, power another host
 * on; when none can be, alert the operators.
 *
 * "Average load" is weighted by cores (total demand / total cores), which is the plain mean
 * when hosts are alike, as in the paper. Hosts already booting count as active with no load:
 * they are the capacity already on its way, so a slow boot does not power on a second host.
 */
import { listNames, pct } from '../explain.ts';
import { powerCooldownBlocks, wakeOrder } from '../filters.ts';
import type { ClusterState, HostState } from '../cluster.ts';

export interface OverloadOutcome {
  overloaded: boolean;
  summary: string;
}

/** Capacity-weighted mean load of `hosts`, in points. */
export function averageLoad(hosts: readonly HostState[]): number {
  const cores = hosts.reduce((sum, h) => sum + h.cores, 0);
  return cores === 0 ? 0 : hosts.reduce((sum, h) => sum + h.load * h.cores, 0) / cores;
}

export function relieveOverload(c: ClusterState): OverloadOutcome {
  const th1 = c.policy.overloadThresholdPercent;
  const active = c.activeHosts();
  const booting = c.hosts.filter((h) => h.powerState === 'booting' && !h.snap.maintenance);
  if (active.length === 0) return { overloaded: false, summary: 'no active host' };
  const average = averageLoad([...active, ...booting]);
  const what = `average load of ${active.length} active host${active.length === 1 ? '' : 's'}${booting.length ? ` and ${booting.length} booting` : ''} ${pct(average)}`;
  if (average <= th1) return { overloaded: false, summary: `${what} ≤ Th1 ${pct(th1)}` };
  if (booting.length > 0) {
    return { overloaded: true, summary: `${what} > Th1 ${pct(th1)}, waiting for ${listNames(booting.map((h) => h.name))} to boot` };
  }
  const refusals: string[] = [];
  const candidates = c.hosts.filter((h) => {
    if (h.powerState !== 'off') return false;
    // One with no power-on method would only be refused by the executor's preflight, and the
    // overload would wait a round for nothing: the next standby host is woken instead.
    const why = h.snap.maintenance
      ? `${h.name} is in maintenance`
      : h.snap.canPowerOn === false
        ? `${h.name} has no power-on method`
        : powerCooldownBlocks(c, h);
    if (why) refusals.push(why);
    return !why;
  });
  candidates.sort(wakeOrder);
  const chosen = candidates[0];
  if (!chosen) {
    const why = refusals.length ? listNames(refusals) : 'every host is already on';
    c.alert('OverloadedNoStandby', `${what} > Th1 ${pct(th1)} and no standby host can be powered on: ${why}`);
    return { overloaded: true, summary: `${what} > Th1 ${pct(th1)}, no standby host to power on` };
  }
  c.powerOn(chosen, 'Overloaded', `power on ${chosen.name}: ${what} > Th1 ${pct(th1)}`);
  return { overloaded: true, summary: `${what} > Th1 ${pct(th1)}, powering ${chosen.name} on` };
}
