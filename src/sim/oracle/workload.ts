/**
 * What the oracle's two references see of a trace run, interval by interval: the VMs present,
 * their CPU demand at the interval's start and end sample (the simulator interpolates linearly
 * between the two) and the memory they hold. It is the workload the simulator runs:
 *
 * - CloudSim compatibility mode: a VM leaves for good once its trace is 0 at both samples
 *   around an update (TraceDatacentre.retireIdleVms), and memory does not count (CloudSim's
 *   PlanetLab VMs request no RAM once placed). Updates happen at every interval's end and
 *   wherever a migration ends, so a run that migrates during the first interval also removes
 *   the VMs whose first two samples are 0, which a run without migrations keeps until their
 *   next pair of zeros: the lower bound must not count them, the packing does;
 * - realistic mode: every VM stays and holds its memory footprint (its size, or its trace's
 *   memory column's share of it).
 */
import { vmTypeOf, type DatacentreSetup, type VmType } from '../datacentre/setup.ts';
import { memoryFootprintMiB, sampleAt, type Trace } from '../trace.ts';

export interface OracleVm {
  type: VmType;
  samples: readonly number[];
  memory?: readonly number[];
  /** First interval from which the VM is gone in a run without migrations (compatibility mode), or Infinity. */
  gone: number;
  /** First interval from which some run may have removed it (compatibility mode), or Infinity. */
  goneInSomeRun: number;
}

export interface IntervalVm {
  /** Which trace (and VM) it is. */
  index: number;
  type: VmType;
  /** MIPS requested at the interval's start and end sample. */
  startMips: number;
  endMips: number;
  /** MiB held during the interval (0 in compatibility mode: memory never binds there). */
  memoryMiB: number;
  /** Some run may have removed it already (compatibility mode): the lower bound leaves it out. */
  goneInSomeRun: boolean;
}

/** First interval from which CloudSim has removed the VM (compatibility mode), or Infinity. */
export function retiredFrom(samples: readonly number[]): number {
  for (let j = 1; j < samples.length; j++) if (sampleAt(samples, j) === 0 && sampleAt(samples, j + 1) === 0) return j;
  return Infinity;
}

export function oracleVms(traces: readonly Trace[], setup: DatacentreSetup): OracleVm[] {
  return traces.map((t, i) => ({
    type: vmTypeOf(setup, i, traces.length),
    samples: t.samples,
    ...(t.memory && { memory: t.memory }),
    gone: setup.cloudsimCompat ? retiredFrom(t.samples) : Infinity,
    goneInSomeRun: !setup.cloudsimCompat ? Infinity : sampleAt(t.samples, 0) === 0 && sampleAt(t.samples, 1) === 0 ? 1 : retiredFrom(t.samples),
  }));
}

/** Intervals the simulator runs: as many as the shortest trace has samples, within the duration. */
export function intervalCount(traces: readonly Trace[], setup: DatacentreSetup): number {
  return Math.min(...traces.map((t) => t.samples.length), Math.floor(setup.durationSeconds / setup.intervalSeconds));
}

/** The VMs present during interval `k`. */
export function intervalVms(vms: readonly OracleVm[], setup: DatacentreSetup, k: number): IntervalVm[] {
  return vms.flatMap((vm, index) => {
    if (k >= vm.gone) return [];
    const mips = vm.type.mips * vm.type.vcpus;
    return [{
      index,
      type: vm.type,
      startMips: (sampleAt(vm.samples, k) / 100) * mips,
      endMips: (sampleAt(vm.samples, k + 1) / 100) * mips,
      memoryMiB: setup.cloudsimCompat ? 0 : memoryFootprintMiB(vm.type.memoryMiB, vm.memory, k),
      goneInSomeRun: k >= vm.goneInSomeRun,
    }];
  });
}
