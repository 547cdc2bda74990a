/**
 * The simple bound, shown beside the oracle's for comparison: every VM of the trace (none
 * removed, whatever CloudSim does), its CPU demand carried by whole hosts at 100 % of the model
 * that is cheapest per MIPS at full load (CloudSim's G5: 135 W for 5,320 MIPS), memory ignored.
 * It is what "an ideal packing" usually means. It is no bound on CloudSim's accounting, which
 * removes VMs whose trace reaches 0 (oracle/workload.ts) and so may serve less than this
 * counts; and where memory decides how many hosts run (realistic mode) it lies far below any run.
 */
import { hostTypeOf, vmTypeOf, type DatacentreSetup } from '../datacentre/setup.ts';
import { tablePower } from '../power-model.ts';
import { JOULES_PER_KWH } from '../metrics/energy.ts';
import { sampleAt, type Trace } from '../trace.ts';
import { intervalCount } from './workload.ts';

export function simpleBoundKWh(traces: readonly Trace[], setup: DatacentreSetup): number {
  let wattsPerMips = Infinity;
  for (let i = 0; i < Math.min(setup.hostCount, setup.hostTypes.length); i++) {
    const type = hostTypeOf(setup, i);
    wattsPerMips = Math.min(wattsPerMips, tablePower(type.watts, type.model).peakWatts / (type.coreMips * type.cores));
  }
  const mips = traces.map((_, i) => {
    const type = vmTypeOf(setup, i, traces.length);
    return type.mips * type.vcpus;
  });
  let joules = 0;
  for (let k = 0; k < intervalCount(traces, setup); k++) {
    // The simulator interpolates demand linearly within an interval: its mean is the mean of the ends.
    const demand = traces.reduce((sum, t, i) => sum + ((sampleAt(t.samples, k) + sampleAt(t.samples, k + 1)) / 200) * mips[i], 0);
    joules += demand * wattsPerMips * setup.intervalSeconds;
  }
  return joules / JOULES_PER_KWH;
}
