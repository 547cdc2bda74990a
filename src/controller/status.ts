/**
 * What the status of each resource should say, given what was observed. Pure: the reconciler
 * feeds it observations and writes the result only when it differs from what is there.
 */
import { isObservable, type ObservedHost } from '../api/drivers.ts';
import type { PhysicalHost, PhysicalHostStatus, VirtualMachinePlacement, VirtualMachinePlacementStatus } from '../api/types.ts';
import { setConditions, type ConditionUpdate } from './conditions.ts';

type HostPower = NonNullable<PhysicalHostStatus['powerState']>;

/** Did Tide power this host off, and see it go? Then a host that cannot be reached is off. */
export function poweredOffByTide(host: PhysicalHost): boolean {
  const action = host.status?.powerAction;
  // A wake that did not bring the host up (every method tried) leaves it as it was: off.
  return (action?.type === 'PowerOff' && action.phase === 'Succeeded') || (action?.type === 'PowerOn' && action.phase === 'Failed');
}

/**
 * The power state to show. A host Tide powered off cannot answer SSH, so "unreachable" after a
 * successful PowerOff means Off, not a failure.
 */
export function effectivePowerState(host: PhysicalHost, observed: ObservedHost | undefined): HostPower {
  const action = host.status?.powerAction;
  if (action && (action.phase === 'Pending' || action.phase === 'Running')) return action.type === 'PowerOn' ? 'PoweringOn' : 'PoweringOff';
  if (!observed) return host.status?.powerState ?? 'Unknown';
  switch (observed.powerState) {
    case 'on':
      return observed.reachable ? 'On' : 'Unknown';
    case 'off':
      return 'Off';
    case 'booting':
      return 'PoweringOn';
    case 'shutting-down':
      return 'PoweringOff';
    default:
      return poweredOffByTide(host) ? 'Off' : 'Unknown';
  }
}

export function hostStatus(
  host: PhysicalHost,
  observed: ObservedHost | undefined,
  overloadThresholdPercent: number,
  nowIso: string,
): PhysicalHostStatus {
  const previous = host.status ?? {};
  const powerState = effectivePowerState(host, observed);
  const on = powerState === 'On';
  // Only a full answer from libvirt says which VMs run; otherwise they are unknown, not none.
  const full = isObservable(observed) ? observed : undefined;
  const running = full?.domains.filter((d) => d.state !== 'shutoff');
  const measured = on ? full?.cpuLoadPercent : undefined;
  // The load shown: the one already written while the new one stays in its band and on the
  // same side of Th1 (so the Overloaded condition and its message change only when it does).
  const over = (l: number | undefined) => l !== undefined && l > overloadThresholdPercent;
  const load = measured === undefined ? undefined : over(measured) === over(previous.cpuLoadPercent) ? banded(previous.cpuLoadPercent, round(measured), LOAD_BAND_POINTS) : round(measured);
  const conditions: ConditionUpdate[] = [
    reachableCondition(host.metadata.name, observed, powerState),
    {
      type: 'Ready',
      status: on && full && !host.spec.maintenance ? 'True' : 'False',
      reason: host.spec.maintenance ? 'Maintenance' : on ? (running ? 'Running' : 'NotObservable') : powerState,
      message: host.spec.maintenance
        ? 'host is in maintenance: it receives no VM'
        : on ? (running ? `${running.length} VMs running` : 'host is on but its VMs are unknown (see Reachable)') : `host is ${powerState}`,
    },
    {
      type: 'Standby',
      status: powerState === 'Off' ? 'True' : 'False',
      reason: powerState === 'Off' ? (previous.powerAction?.type === 'PowerOff' ? 'PoweredOffByTide' : 'PoweredOff') : 'Active',
      message: powerState === 'Off' ? (previous.powerAction?.type === 'PowerOff' ? previous.powerAction.message : undefined) ?? 'host is powered off' : 'host is not in standby',
    },
    {
      type: 'Overloaded',
      status: load !== undefined && load > overloadThresholdPercent ? 'True' : 'False',
      reason: load !== undefined && load > overloadThresholdPercent ? 'OverThreshold' : 'WithinThreshold',
      message: load !== undefined ? `CPU load ${round(load)} % against Th1 ${overloadThresholdPercent} %` : 'no load measured',
    },
  ];
  // Object.assign, not `{ ...previous, powerState, … }`: in Node 20's V8 an object spread and
  // then given keys its source lacks (the first status of an object) is several times larger and
  // outlives the young generation (measured: 5× the bytes allocated, a third of them promoted;
  // none with Object.assign). Statuses are made for every object every round.
  const status: PhysicalHostStatus = Object.assign({}, previous, {
    observedGeneration: host.metadata.generation,
    powerState,
    conditions: setConditions(previous.conditions, conditions, nowIso, host.metadata.generation),
  });
  const vms = running?.map((d) => d.name).sort() ?? (powerState === 'Off' ? [] : undefined);
  if (vms) {
    status.vmCount = vms.length;
    status.vms = vms;
  } else {
    delete status.vmCount;
    delete status.vms;
  }
  if (load !== undefined) status.cpuLoadPercent = load;
  else delete status.cpuLoadPercent;
  if (on && full?.memoryUsedMiB !== undefined) {
    status.memoryUsedMiB = banded(previous.memoryUsedMiB, Math.round(full.memoryUsedMiB), RELATIVE_BAND * host.spec.capacity.memoryMiB);
  }
  // A host's own meter (written by the zigbee agent) wins over a driver's reading.
  if (!host.spec.meter && observed?.watts !== undefined) {
    status.watts = banded(previous.watts, Math.round(observed.watts * 10) / 10, WATTS_BAND);
  }
  if (observed) status.lastObservedTime = new Date(observed.observedAtMs).toISOString();
  return status;
}

/**
 * Could Tide see the host's VMs, and if not, why? A host that answers SSH while `virsh` fails is
 * on, yet as unknown as one that does not answer at all: both are left out of planning.
 */
function reachableCondition(name: string, observed: ObservedHost | undefined, powerState: HostPower): ConditionUpdate {
  if (isObservable(observed)) return { type: 'Reachable', status: 'True', reason: 'Connected', message: 'libvirt answered over SSH' };
  if (powerState === 'Off') return { type: 'Reachable', status: 'False', reason: 'PoweredOff', message: observed?.error ?? 'host is powered off' };
  if (!observed) return { type: 'Reachable', status: 'False', reason: 'Unreachable', message: 'not observed yet' };
  return {
    type: 'Reachable',
    status: 'False',
    reason: observed.errorReason ?? 'Unreachable',
    message: `${observed.error ?? 'no answer'}; ${name} is left out of planning (its VMs are unknown: it is not emptied, not a migration target, not powered off) until libvirt answers`,
  };
}

export function placementStatus(
  placement: VirtualMachinePlacement,
  observed: Map<string, ObservedHost>,
  nowIso: string,
): VirtualMachinePlacementStatus {
  const previous = placement.status ?? {};
  const { byDomain, unseen } = indexOf(observed);
  let found: Sighting | undefined;
  for (const seen of byDomain.get(placement.spec.domain) ?? []) {
    if (!found || seen.domain.state === 'running' || seen.domain.state === 'migrating') found = seen;
  }
  const allObserved = unseen.length === 0;
  const migrating = previous.migration?.phase === 'Running' || previous.migration?.phase === 'Pending';
  // `observed` holds exactly the hosts Tide governs. A VM last seen on (or pinned to) any other
  // host is where Tide cannot look — a PhysicalHost deleted, or outside the hostSelector — and
  // is not gone: its state is unknown, and its last host and size stay as they were.
  const lastHost = previous.host ?? placement.spec.pinnedHost;
  const unmanaged = !found && lastHost !== undefined && !observed.has(lastHost) ? lastHost : undefined;
  const state: NonNullable<VirtualMachinePlacementStatus['state']> = migrating
    ? 'Migrating'
    : !found
      ? allObserved && !unmanaged ? 'NotFound' : 'Unknown'
      : DOMAIN_STATE[found.domain.state];
  // Object.assign, not a spread: see hostStatus.
  const status: VirtualMachinePlacementStatus = Object.assign({}, previous, {
    observedGeneration: placement.metadata.generation,
    state,
    conditions: setConditions(
      previous.conditions,
      [
        {
          type: 'Ready',
          status: state === 'Running' ? 'True' : 'False',
          reason: unmanaged && !migrating ? 'HostUnmanaged' : state,
          message: found
            ? `domain ${placement.spec.domain} is ${found.domain.state} on ${found.host}`
            : unmanaged
              ? `domain ${placement.spec.domain} ${previous.host ? 'was last seen on' : 'is pinned to'} ${unmanaged}, which is not a PhysicalHost Tide governs (deleted, or outside the policy's hostSelector): Tide cannot see it there, does not count it as gone and does not move it`
              : allObserved
              ? `domain ${placement.spec.domain} not found on any host`
              : `domain ${placement.spec.domain} not found on the hosts that could be observed; ${[...unseen].sort().join(', ')} cannot be observed`,
        },
        {
          type: 'Migrating',
          status: migrating ? 'True' : 'False',
          reason: migrating ? 'MigrationRunning' : previous.migration ? `Migration${previous.migration.phase}` : 'NeverMigrated',
          message: previous.migration ? `${previous.migration.from}→${previous.migration.to}: ${previous.migration.message}` : 'not migrated by Tide yet',
        },
      ],
      nowIso,
      placement.metadata.generation,
    ),
  });
  if (found) {
    status.host = found.host;
    status.vcpus = found.domain.vcpus;
    status.memoryMiB = found.domain.memoryMiB;
    status.cpuLoadPercent = banded(previous.host === found.host ? previous.cpuLoadPercent : undefined, round(found.domain.cpuLoadPercent), LOAD_BAND_POINTS);
    status.lastObservedTime = new Date(observed.get(found.host)!.observedAtMs).toISOString();
  }
  return status;
}

type Sighting = { host: string; domain: ObservedHost['domains'][number] };
interface ObservedIndex {
  /** Domain name → where it was seen, in the order of `observed`. */
  byDomain: Map<string, Sighting[]>;
  /** Hosts whose VMs are unknown (not observable, and not known to be off): any domain may run there. */
  unseen: string[];
  /** The map's size when indexed: a map grown or shrunk since is indexed again. */
  size: number;
}

/**
 * One index per observation round, built on first use: every placement looks its domain up in
 * it, instead of scanning every domain of every host (100,000 placements × 10,000 hosts).
 * A round's map is complete before any placement status is computed from it.
 */
const indexes = new WeakMap<Map<string, ObservedHost>, ObservedIndex>();
function indexOf(observed: Map<string, ObservedHost>): ObservedIndex {
  let index = indexes.get(observed);
  if (index?.size === observed.size) return index;
  index = { byDomain: new Map(), unseen: [], size: observed.size };
  for (const [host, obs] of observed) {
    if (!isObservable(obs) && obs.powerState !== 'off') index.unseen.push(host);
    for (const domain of obs.domains) {
      const list = index.byDomain.get(domain.name);
      // Only the first sighting of a domain on one host counts (as Array.find did).
      if (!list) index.byDomain.set(domain.name, [{ host, domain }]);
      else if (!list.some((s) => s.host === host)) list.push({ host, domain });
    }
  }
  indexes.set(observed, index);
  return index;
}

const DOMAIN_STATE = { running: 'Running', migrating: 'Migrating', paused: 'Paused', shutoff: 'Stopped', other: 'Unknown' } as const;

const POWER_WORD = { On: 'on', Off: 'off', PoweringOn: 'booting', PoweringOff: 'shutting-down', Unknown: 'unknown' } as const;

/** effectivePowerState in the lower-case words of metrics labels and history samples. */
export function powerStateWord(host: PhysicalHost, observed: ObservedHost | undefined): (typeof POWER_WORD)[HostPower] {
  return POWER_WORD[effectivePowerState(host, observed)];
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/**
 * Status bands. A status write costs the API server and etcd a full object version, so the
 * figures that move with every observation are written only when they leave their band around
 * the value already written: a host's or VM's CPU load by LOAD_BAND_POINTS (or crossing Th1),
 * a host's memory by RELATIVE_BAND of its capacity, a driver's watts (no meter) by WATTS_BAND.
 * Within its band a figure in status may lag the truth by up to that much;
 * the exact figures of every observation go to the metrics and the history store, and liveness
 * (when a host was last observed) to the metrics, never alone to a status write.
 */
export const LOAD_BAND_POINTS = 5;
export const RELATIVE_BAND = 0.05;
export const WATTS_BAND = 1;

/** `written` while `next` stays within `band` of it (strictly), else `next`. */
export function banded(written: number | undefined, next: number, band: number): number {
  return written !== undefined && Math.abs(next - written) < band ? written : next;
}

/**
 * Did anything but the observation timestamps change? Decides whether a status write is worth it.
 * Compared as JSON would see it (a field set to undefined is no field), but walked in place: it
 * runs for every object every round, and serialising both sides made a round's largest garbage.
 */
export function statusChanged(before: unknown, after: unknown): boolean {
  return !sameJson(before ?? {}, after ?? {});
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, i) => sameJson(item, other[i]));
  }
  const fields = (o: object) => Object.keys(o).filter((k) => k !== 'lastObservedTime' && (o as Record<string, unknown>)[k] !== undefined);
  const keysA = fields(a);
  if (keysA.length !== fields(b).length) return false;
  return keysA.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
