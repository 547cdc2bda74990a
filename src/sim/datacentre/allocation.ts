/**
 * How one host shares its MIPS among its VMs at one instant, as CloudSim's
 * VmSchedulerTimeSharedOverSubscription and HostDynamicWorkload do it:
 *
 * - each vCPU's request is capped at the MIPS of one host core;
 * - a VM migrating out gets 90 % of its request (the migration's performance degradation);
 *   a VM migrating in weighs only 10 % of its request on its target;
 * - when the requests exceed the host's MIPS, every VM is scaled by the same factor (and
 *   CloudSim floors the result);
 * - the host's "allocated" MIPS gives a migrating-out VM its allocation / 0.9 back, while its
 *   "requested" MIPS counts every VM in full, a migrating-in one included. That is why a
 *   migration target counts as violating its SLA (allocated < requested) while it receives.
 */

export type MigrationRole = 'resident' | 'out' | 'in';

export interface VmRequest {
  /** Total MIPS the VM asks for now (utilisation × MIPS × vCPUs). */
  requestedMips: number;
  vcpus: number;
  role: MigrationRole;
}

export interface HostAllocation {
  /** Per VM, in the order given: MIPS it actually gets. */
  allocated: number[];
  /** What the host reports as used (CloudSim's utilisationMips). */
  utilisationMips: number;
  /** Sum of every VM's full request (CloudSim's hostTotalRequestedMips). */
  requestedMips: number;
  /**
   * MIPS the host's own VMs (resident or migrating out) asked for and did not get beyond the
   * migration's degradation: an oversubscribed host, or a vCPU asking more than a core has.
   */
  unservedMips: number;
}

export function allocateHost(capacityMips: number, coreMips: number, vms: readonly VmRequest[], degradation = 0.1): HostAllocation {
  const keep = 1 - degradation;
  const capped = vms.map((vm) => Math.min(vm.requestedMips / vm.vcpus, coreMips) * vm.vcpus);
  let weight = 0;
  vms.forEach((vm, i) => (weight += vm.role === 'in' ? capped[i] * degradation : capped[i]));
  const oversubscribed = weight > capacityMips;
  const scale = oversubscribed ? capacityMips / weight : 1;
  const allocated = vms.map((vm, i) => {
    const share = vm.role === 'out' ? capped[i] * scale * keep : vm.role === 'in' ? capped[i] * degradation * scale : capped[i] * scale;
    return oversubscribed ? Math.floor(share) : share;
  });
  let utilisationMips = 0;
  let requestedMips = 0;
  let unservedMips = 0;
  vms.forEach((vm, i) => {
    const given = vm.role === 'out' ? allocated[i] / keep : allocated[i];
    utilisationMips += given;
    requestedMips += vm.requestedMips;
    if (vm.role !== 'in') unservedMips += vm.requestedMips - given;
  });
  return { allocated, utilisationMips, requestedMips, unservedMips: Math.max(0, unservedMips) };
}
