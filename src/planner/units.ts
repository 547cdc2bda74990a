/**
 * The planner's one unit decision, shared by strategies and invariants.
 *
 * The paper speaks of "CPU loading" for hosts and VMs alike without saying of what. Section 4.2
 * only comes out as published (80 % / 40 % hosts, the 40 % VM moves, both end at 60 %) when a
 * VM's load counts on a host in proportion to the cores it can use: the paper's hosts have 4
 * cores, its VMs 2 vCPUs, so a VM at 40 % of its own vCPUs weighs 40 × 2 / 4 = 20 points of
 * host load. Host 100 (VMs at 80, 40, 20, 20) is then at 40 + 20 + 10 + 10 = 80 %, host 200
 * (four at 20) at 40 %.
 */
import type { HostSnapshot, VmSnapshot } from './types.ts';

/** Comparisons of loads allow for floating-point dust (20.000000000000004 ≤ 20). */
export const EPSILON = 1e-9;

/** Cores' worth of CPU a VM uses: 80 % of 2 vCPUs is 1.6 cores. */
export function vmDemandCores(vm: Pick<VmSnapshot, 'cpuLoadPercent' | 'vcpus'>): number {
  return (Math.max(0, vm.cpuLoadPercent) * vm.vcpus) / 100;
}

/** Points of host load (% of all the host's cores) a demand of `cores` adds on a host. */
export function pointsOn(cores: number, host: Pick<HostSnapshot, 'cpuCores'>): number {
  return (cores / host.cpuCores) * 100;
}

/**
 * Host load the VMs do not explain (the hypervisor itself, unmanaged guests). A measured host
 * load is kept as it is; moving a VM shifts only that VM's weight, the rest stays with the host.
 */
export function overheadPoints(host: HostSnapshot, vmsOnHost: readonly VmSnapshot[]): number {
  if (host.cpuLoadPercent === undefined) return 0;
  const explained = vmsOnHost.reduce((sum, vm) => sum + pointsOn(vmDemandCores(vm), host), 0);
  return Math.max(0, host.cpuLoadPercent - explained);
}

/** A host's load in points as the planner sees it: what its VMs weigh plus the overhead they do not explain. */
export function hostLoadPoints(host: HostSnapshot, vmsOnHost: readonly VmSnapshot[]): number {
  return overheadPoints(host, vmsOnHost) + vmsOnHost.reduce((sum, vm) => sum + pointsOn(vmDemandCores(vm), host), 0);
}
