/**
 * The oracle's lower bound on one interval: no run that serves its VMs' CPU demand in full and
 * keeps every host within its RAM can use less energy in it, whatever it does (migrations
 * only add load: a migrating VM runs in full on its source and weighs on its target).
 *
 * Why it is a bound. Let S(t) be the hosts drawing power at time t of the interval: in
 * realistic mode the hosts on (a host only goes off mid-interval, when its last VM left); in
 * CloudSim's accounting the hosts holding a VM whose demand is above 0 at the interval's
 * start (a VM moving in is on its target from the start). S(t) only shrinks, so every S(t)
 * contains the hosts at the end, which hold those VMs as the end sample asks: by the bin-packing
 * bounds of bin-count.ts there are at least N of them — for the VMs' CPU demand at the end and,
 * in realistic mode, for their memory — and at least N_fast of the models whose cores are fast
 * enough for the busiest vCPUs (hostRequirements). At any instant the hosts of S(t) carry D(t),
 * the demand at t, and draw at least W(D(t)) = minimumWatts(D(t), those counts) (power-bound.ts). The
 * simulator charges each span between two events the mean of its start and end watts; W is
 * convex in D (the value of a linear programme in its right-hand side) and D moves linearly in
 * the interval, so those chords lie above W, and the interval costs at least its length ×
 * W(mean demand) (Jensen). In CloudSim's accounting a host at exactly 0 % at a span's start
 * draws nothing: VMs at 0 % at the interval's start are left out, the others have demand above
 * 0 at every span's start; so are VMs some run may already have removed (workload.ts).
 *
 * What it does not bound: a run that leaves demand unserved (an oversubscribed host, a vCPU
 * asking more than its core) or puts more VM memory on a host than its RAM saves the watts of
 * what it did not do; the simulator counts such host-seconds (overCapacityHostSeconds).
 */
import type { DatacentreSetup } from '../datacentre/setup.ts';
import { binsNeeded } from './bin-count.ts';
import { minimumWatts, type HostPool, type HostRequirement } from './power-bound.ts';
import type { IntervalVm } from './workload.ts';

export function lowerBoundJoules(present: readonly IntervalVm[], setup: DatacentreSetup, pools: readonly HostPool[]): number {
  const counted = setup.cloudsimCompat ? present.filter((vm) => vm.startMips > 0 && !vm.goneInSomeRun) : present;
  let start = 0;
  let end = 0;
  for (const vm of counted) {
    start += vm.startMips;
    end += vm.endMips;
  }
  return minimumWatts((start + end) / 2, hostRequirements(counted, pools), pools) * setup.intervalSeconds;
}

/**
 * How many hosts the VMs need at the interval's end, by core speed: a vCPU gets at most one
 * core, so for each core speed the VMs whose demand per vCPU at the end exceeds the next slower
 * speed need that many hosts of the models at least that fast — for their memory and for their
 * CPU demand. The slowest speed covers every VM and every host. Faster models come first, so
 * each requirement's models include the previous ones.
 */
export function hostRequirements(vms: readonly IntervalVm[], pools: readonly HostPool[]): HostRequirement[] {
  const speeds = [...new Set(pools.map((p) => p.coreMips))].sort((a, b) => b - a);
  return speeds.map((speed, j) => {
    const models = pools.flatMap((p, t) => (p.coreMips >= speed ? [t] : []));
    const slower = speeds[j + 1] ?? -Infinity;
    const needing = vms.filter((vm) => vm.endMips / vm.type.vcpus > slower);
    const bins = (size: (p: HostPool) => number) => models.map((t) => ({ size: size(pools[t]), count: pools[t].count }));
    const hosts = Math.max(
      binsNeeded(needing.map((vm) => vm.endMips), bins((p) => p.capacityMips)),
      binsNeeded(needing.map((vm) => vm.memoryMiB), bins((p) => p.memoryMiB)),
    );
    return { pools: models, hosts };
  });
}
