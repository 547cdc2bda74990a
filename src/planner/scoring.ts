/**
 * Scoring: among hosts that pass the filters, which one takes the VM. Both walks use the
 * ordered placement set, so a choice costs O(log n) plus the hosts the filters turn down.
 */
import { hostRefuses } from './filters.ts';
import type { ClusterState, HostState, VmState } from './cluster.ts';

/**
 * Best fit: the most loaded host that stays at or under `maxLoad` with the VM. Packs VMs onto
 * few hosts, which is what consolidation wants (more hosts left empty to power off).
 */
export function mostLoadedFit(c: ClusterState, vm: VmState, maxLoad: number, exclude?: ReadonlySet<HostState>): HostState | null {
  // A host above maxLoad − weight cannot take the VM, so the walk starts below that bound. The
  // weight depends on the host's cores; the VM's demand on the biggest host bounds it from below.
  const leastWeight = (vm.demand / c.maxCores) * 100;
  for (const host of c.hostsDownFrom(maxLoad - leastWeight)) {
    if (exclude?.has(host)) continue;
    if (!hostRefuses(c, vm, host, maxLoad)) return host;
  }
  return null;
}

/** Spread: the least loaded host that takes the VM within `maxLoad`. */
export function leastLoadedFit(c: ClusterState, vm: VmState, maxLoad: number, exclude?: ReadonlySet<HostState>): HostState | null {
  for (let it = c.placement.begin(); !it.equals(c.placement.end()); it.next()) {
    const host = it.pointer.host;
    if (exclude?.has(host)) continue;
    if (host.load >= maxLoad) return null;
    if (!hostRefuses(c, vm, host, maxLoad)) return host;
  }
  return null;
}
