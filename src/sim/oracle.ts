/**
 * The oracle: a lower bound on the energy any strategy can reach on a trace, so results read
 * as a ratio to the limit. With perfect knowledge of every instant's total demand it runs the
 * fewest hosts whose MIPS cover it, filling the most efficient hosts (least watts per MIPS at
 * full load) first and leaving at most one host partly loaded, and never violates an SLA.
 * VMs are treated as divisible (no packing loss, no per-core limit) and migrations as free,
 * which is what makes it a bound rather than a strategy.
 *
 * It sees the workload the simulator runs: in CloudSim compatibility mode a VM leaves once
 * its trace is 0 at both samples around an update (see TraceDatacentre.retireIdleVms), and
 * memory does not count; in realistic mode every VM stays and the hosts must also hold the
 * VMs' memory, so the oracle runs at least as many hosts as their RAM needs, evenly loaded.
 */
import { tablePower, type PowerModel } from './power-model.ts';
import { hostTypeOf, vmTypeOf, type DatacentreSetup } from './datacentre/setup.ts';
import { JOULES_PER_KWH } from './metrics/energy.ts';
import type { Trace } from './trace.ts';

export interface Pool {
  capacity: number;
  memoryMiB: number;
  count: number;
  power: PowerModel;
}

/** The data centre's hosts grouped by model, most efficient (least watts per MIPS at full load) first. */
export function oraclePools(setup: DatacentreSetup): Pool[] {
  const byModel = new Map<string, Pool>();
  for (let i = 0; i < setup.hostCount; i++) {
    const type = hostTypeOf(setup, i);
    const pool = byModel.get(type.model) ?? { capacity: type.coreMips * type.cores, memoryMiB: type.memoryMiB, count: 0, power: tablePower(type.watts, type.model) };
    pool.count++;
    byModel.set(type.model, pool);
  }
  // Least watts per MIPS at full load first.
  return [...byModel.values()].sort((a, b) => a.power.watts(100) / a.capacity - b.power.watts(100) / b.capacity);
}

/** Least watts that carry `demandMips`: full hosts, most efficient first, plus the cheapest host for the rest. */
export function minimumWatts(demandMips: number, available: readonly Pool[]): number {
  let rest = demandMips;
  let watts = 0;
  const left = available.map((p) => ({ ...p }));
  for (const pool of left) {
    const full = Math.min(pool.count, Math.floor(rest / pool.capacity));
    watts += full * pool.power.watts(100);
    pool.count -= full;
    rest -= full * pool.capacity;
  }
  if (rest <= 1e-9) return watts;
  const partial = left.filter((p) => p.count > 0 && p.capacity >= rest).map((p) => p.power.watts((rest / p.capacity) * 100));
  if (partial.length === 0) throw new Error(`the oracle cannot carry ${Math.round(demandMips)} MIPS: the hosts' capacity is too small`);
  return watts + Math.min(...partial);
}

/** Least watts when the memory of the VMs needs more hosts than their CPU: the fewest such hosts, evenly loaded. */
export function minimumWattsWithMemory(demandMips: number, memoryMiB: number, available: readonly Pool[]): number {
  const cpuOnly = minimumWatts(demandMips, available);
  let hosts: { pool: Pool; n: number }[] = [];
  let rest = memoryMiB;
  for (const pool of [...available].sort((a, b) => b.memoryMiB - a.memoryMiB)) {
    const n = Math.min(pool.count, Math.ceil(rest / pool.memoryMiB));
    if (n > 0) hosts = [...hosts, { pool, n }];
    rest -= n * pool.memoryMiB;
    if (rest <= 0) break;
  }
  const capacity = hosts.reduce((sum, h) => sum + h.n * h.pool.capacity, 0);
  if (capacity < demandMips) return cpuOnly;
  const u = (demandMips / capacity) * 100;
  return Math.max(cpuOnly, hosts.reduce((sum, h) => sum + h.n * h.pool.power.watts(u), 0));
}

/** First interval from which CloudSim has removed the VM (compatibility mode), or Infinity. */
export function retiredFrom(samples: readonly number[]): number {
  const at = (i: number) => samples[Math.min(i, samples.length - 1)];
  for (let j = 1; j < samples.length; j++) if (at(j) === 0 && at(j + 1) === 0) return j;
  return Infinity;
}

export interface OracleResult {
  energyKWh: number;
}

export function oracleEnergy(traces: readonly Trace[], setup: DatacentreSetup): OracleResult {
  const available = oraclePools(setup);
  const intervals = Math.min(...traces.map((t) => t.samples.length), Math.floor(setup.durationSeconds / setup.intervalSeconds));
  const vms = traces.map((t, i) => {
    const type = vmTypeOf(setup, i, traces.length);
    return { samples: t.samples, mips: type.mips * type.vcpus, memoryMiB: type.memoryMiB, gone: setup.cloudsimCompat ? retiredFrom(t.samples) : Infinity };
  });
  const memory = (k: number) => (setup.cloudsimCompat ? 0 : vms.reduce((sum, vm) => (k < vm.gone ? sum + vm.memoryMiB : sum), 0));
  const watts = (k: number, sample: number) => minimumWattsWithMemory(demand(k, sample), memory(k), available);
  const demand = (k: number, sample: number) =>
    vms.reduce((sum, vm) => (k < vm.gone ? sum + (vm.samples[Math.min(sample, vm.samples.length - 1)] / 100) * vm.mips : sum), 0);
  let joules = 0;
  for (let k = 0; k < intervals; k++) joules += ((watts(k, k) + watts(k, k + 1)) / 2) * setup.intervalSeconds;
  return { energyKWh: joules / JOULES_PER_KWH };
}
