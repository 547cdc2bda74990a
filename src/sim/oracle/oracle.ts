/**
 * The oracle: two clairvoyant, migration-free references per interval that bracket what a
 * strategy can reach on a trace, so a result reads as a ratio to the limit and the gap between
 * the two says how much is left to win.
 *
 * Lower bound (lower-bound.ts): no run that serves its VMs' demand in full and keeps every
 * host within its RAM can use less energy. Upper reference (packing.ts): a packing that is
 * reachable, made from scratch each interval with perfect knowledge; a perfect online
 * strategy could approach it (it would still pay for migrations and boots).
 */
import { hostTypeOf, type DatacentreSetup } from '../datacentre/setup.ts';
import { placeInitially } from '../datacentre/placement.ts';
import { JOULES_PER_KWH } from '../metrics/energy.ts';
import type { Trace } from '../trace.ts';
import { lowerBoundJoules } from './lower-bound.ts';
import { cheapestPacking, hostOrders, packingJoules, packingOf, type OpenHost } from './packing.ts';
import { hostPools, type HostPool } from './power-bound.ts';
import { intervalCount, intervalVms, oracleVms, type IntervalVm } from './workload.ts';

export interface OracleInterval {
  lowerJoules: number;
  upperJoules: number;
}

export interface OracleResult {
  /** The lower bound, kWh. */
  lowerKWh: number;
  /** The reachable clairvoyant packing, kWh. */
  upperKWh: number;
  intervals: OracleInterval[];
}

export function oracleEnergy(traces: readonly Trace[], setup: DatacentreSetup): OracleResult {
  const pools = hostPools(setup);
  const orders = hostOrders(pools);
  const vms = oracleVms(traces, setup);
  let initial: ((present: readonly IntervalVm[]) => OpenHost[]) | undefined;
  const intervals: OracleInterval[] = [];
  for (let k = 0; k < intervalCount(traces, setup); k++) {
    const present = intervalVms(vms, setup, k);
    // The initial placement reserves every VM's full MIPS and memory, so it fits any interval:
    // the packing of last resort when first fit finds no room (few spare hosts).
    const packing = cheapestPacking(present, orders, setup.intervalSeconds, setup.cloudsimCompat) ?? (initial ??= initialPacking(traces, setup, pools))(present);
    intervals.push({
      lowerJoules: lowerBoundJoules(present, setup, pools),
      upperJoules: packingJoules(packing, setup.intervalSeconds, setup.cloudsimCompat),
    });
  }
  const kWh = (f: (i: OracleInterval) => number) => intervals.reduce((sum, i) => sum + f(i), 0) / JOULES_PER_KWH;
  return { lowerKWh: kWh((i) => i.lowerJoules), upperKWh: kWh((i) => i.upperJoules), intervals };
}

function initialPacking(traces: readonly Trace[], setup: DatacentreSetup, pools: readonly HostPool[]) {
  const types = oracleVms(traces, setup).map((vm) => vm.type);
  const where = placeInitially(setup, types, 'power-aware', traces.map((t) => t.name));
  const poolOf = new Map(pools.map((p) => [p.model, p]));
  return (present: readonly IntervalVm[]) => packingOf(present, (i) => ({ host: where[i], pool: poolOf.get(hostTypeOf(setup, where[i]).model)! }));
}
