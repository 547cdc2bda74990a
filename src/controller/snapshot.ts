/**
 * Observation + custom resources → the planner's Snapshot. Pure. This is where "what Tide
 * was told" (PhysicalHost, VirtualMachinePlacement) meets "what the hosts report" (libvirt).
 */
import { isObservable, type ObservedHost } from '../api/drivers.ts';
import type { PhysicalHost, VirtualMachinePlacement } from '../api/types.ts';
import type { HostPowerState, HostSnapshot, Snapshot, VmSnapshot } from '../planner/types.ts';
import { poweredOffByTide } from './status.ts';
import { failedWakes, wakeFailing } from './wake.ts';

export interface SnapshotInput {
  nowMs: number;
  hosts: PhysicalHost[];
  placements: VirtualMachinePlacement[];
  observed: Map<string, ObservedHost>;
  /** `placements` by domain, when the caller already has it (one index per round, not one per policy). */
  placementByDomain?: Map<string, VirtualMachinePlacement>;
}

export interface SnapshotResult {
  snapshot: Snapshot;
  /** Domain name → its VirtualMachinePlacement, for the VMs Tide manages. */
  placementByDomain: Map<string, VirtualMachinePlacement>;
  /**
   * Hosts left out of planning, with why: not observed yet, or not observable (unreachable, or
   * `virsh` failing while SSH answers). Their VMs are left out too; the planner never sees such a
   * host, so it is never emptied, never a migration target, and never powered off or on.
   */
  excluded: { host: string; why: string }[];
}

/**
 * May Tide put this host in standby: its powerPolicy lets it (AlwaysOn never; Off keeps it off
 * anyway; Auto as standbyAllowed says), and Tide can power it both off and back on.
 */
export function canStandby(host: PhysicalHost): boolean {
  const power = host.spec.power;
  const policy = host.spec.powerPolicy ?? 'Auto';
  const allowed = policy === 'Off' || (policy === 'Auto' && host.spec.standbyAllowed);
  return allowed && !!power && power.onMethod !== 'None' && power.offMethod !== 'None';
}

function powerStateOf(host: PhysicalHost, observed: ObservedHost | undefined): HostPowerState | undefined {
  const action = host.status?.powerAction;
  if (action && (action.phase === 'Pending' || action.phase === 'Running')) {
    return action.type === 'PowerOn' ? 'booting' : 'shutting-down';
  }
  switch (observed?.powerState) {
    case 'on':
      // On, but with domains unknown when libvirt did not answer in full: not plannable.
      return isObservable(observed) ? 'on' : undefined;
    case 'off':
      return 'off';
    case 'booting':
    case 'shutting-down':
      return observed.powerState;
    default:
      // A host Tide powered off (confirmed) cannot answer SSH: it is off, and a candidate to wake.
      // Any other unknown host is left out of this round.
      return poweredOffByTide(host) ? 'off' : undefined;
  }
}

function timeMs(iso: string | undefined): number | undefined {
  return iso ? Date.parse(iso) : undefined;
}

export function buildSnapshot(input: SnapshotInput): SnapshotResult {
  const placementByDomain = input.placementByDomain ?? new Map(input.placements.map((p) => [p.spec.domain, p]));
  const excluded: SnapshotResult['excluded'] = [];
  const hosts: HostSnapshot[] = [];
  const vms: VmSnapshot[] = [];
  const seenDomains = new Set<string>();

  for (const host of [...input.hosts].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const name = host.metadata.name;
    const observed = input.observed.get(name);
    const powerState = powerStateOf(host, observed);
    const keepOff = host.spec.powerPolicy === 'Off';
    if (!powerState) {
      excluded.push({ host: name, why: observed?.error ?? 'not observed yet' });
      continue;
    }
    hosts.push({
      name,
      cpuCores: host.spec.capacity.cpuCores,
      memoryMiB: host.spec.capacity.memoryMiB,
      powerState,
      // A host whose last wakes all failed is put in standby no more (wake.ts).
      standbyAllowed: canStandby(host) && !wakeFailing(host),
      canPowerOn: !!host.spec.power && host.spec.power.onMethod !== 'None',
      ...(failedWakes(host) > 0 ? { failedWakes: failedWakes(host) } : {}),
      ...(wakeFailing(host) ? { wakeFailing: true } : {}),
      maintenance: host.spec.maintenance,
      // Every VM that may move leaves a host in maintenance, one to be kept off, and one deleted
      // and held by Tide's finalizer (removal.ts).
      ...(host.metadata.deletionTimestamp || host.spec.maintenance || keepOff ? { evacuate: true } : {}),
      ...(keepOff ? { keepOff: true } : {}),
      ...(observed?.cpuLoadPercent !== undefined && powerState === 'on' ? { cpuLoadPercent: observed.cpuLoadPercent } : {}),
      ...(host.spec.power?.idleWatts !== undefined ? { idleWatts: host.spec.power.idleWatts } : {}),
      ...(host.spec.power?.peakWatts !== undefined ? { peakWatts: host.spec.power.peakWatts } : {}),
      ...(timeMs(host.status?.powerAction?.startedAt) !== undefined ? { lastPowerActionAtMs: timeMs(host.status?.powerAction?.startedAt) } : {}),
    });
    for (const domain of observed?.domains ?? []) {
      if (domain.state === 'shutoff') continue; // defined but not running: uses no CPU or memory
      const placement = placementByDomain.get(domain.name);
      // A domain seen twice is mid-migration (paused copy on the target): keep the first, move neither.
      const duplicate = seenDomains.has(domain.name);
      seenDomains.add(domain.name);
      if (duplicate) {
        const first = vms.find((v) => v.name === domain.name);
        if (first) Object.assign(first, { doNotMigrate: true, migrating: true });
        continue;
      }
      const migration = placement?.status?.migration;
      const migrating = domain.state !== 'running' || migration?.phase === 'Pending' || migration?.phase === 'Running';
      const lastMigratedAtMs = migration?.phase === 'Succeeded' ? timeMs(migration.completedAt) : undefined;
      vms.push({
        name: domain.name,
        host: name,
        vcpus: domain.vcpus,
        memoryMiB: domain.memoryMiB,
        cpuLoadPercent: domain.cpuLoadPercent,
        // Domains without a VirtualMachinePlacement are not Tide's to move, but they still use capacity.
        doNotMigrate: !placement || placement.spec.doNotMigrate || migrating,
        ...(migrating ? { migrating: true } : {}),
        ...(placement?.spec.pinnedHost ? { pinnedHost: placement.spec.pinnedHost } : {}),
        ...(placement?.spec.affinityGroup ? { affinityGroup: placement.spec.affinityGroup } : {}),
        ...(placement?.spec.antiAffinityGroup ? { antiAffinityGroup: placement.spec.antiAffinityGroup } : {}),
        ...(placement ? { priority: placement.spec.priority } : {}),
        ...(lastMigratedAtMs !== undefined ? { lastMigratedAtMs } : {}),
      });
    }
  }
  return { snapshot: { atMs: input.nowMs, hosts, vms }, placementByDomain, excluded };
}
