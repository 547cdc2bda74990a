/**
 * Tide's own history as a trace data centre (src/sim/datacentre): the hosts the store saw,
 * with their recorded capacity and a power line fitted to their meter readings; one trace per
 * VM, its recorded CPU load averaged over each observation interval; every VM starting on the
 * host it was seen on first, every host in the power state it was first seen in. Pure: the
 * store's records in, the data centre's setup out.
 *
 * Units follow the store: snapshot cores of 1,000 MIPS (so the trace data centre's MIPS are
 * cores × 1,000 and a VM's are vCPUs × 1,000). What the store does not hold is assumed and
 * said so in docs/simulate.md: migrations over 1 Gbit/s, a VM's size its largest recorded
 * memory (1 GiB when none was recorded), a load of 0 before a VM was first seen.
 */
import type { HostSample, SamplePowerState, VmSample } from '../../store/types.ts';
import { SNAPSHOT_MIPS_PER_CORE } from '../datacentre/trace-datacentre.ts';
import type { DatacentreSetup, HostType, VmType } from '../datacentre/setup.ts';
import type { Trace } from '../trace.ts';

export class HistoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HistoryError';
  }
}

const POWER_STATES: readonly SamplePowerState[] = ['on', 'off', 'booting', 'shutting-down', 'unknown'];
const DEFAULT_VM_MEMORY_MIB = 1024;
const ASSUMED_BANDWIDTH_MBPS = 1000;

export interface HistoryDatacentre {
  setup: DatacentreSetup;
  traces: Trace[];
  /** Host index of each VM (traces' order) at the window's start. */
  placement: number[];
  fromMs: number;
  toMs: number;
  intervalSeconds: number;
  /** Each host's mean recorded CPU load per interval (undefined: no reading), by host name. */
  hostLoads: Map<string, (number | undefined)[]>;
}

const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms));

/** Throws naming the record when a sample is not what the store writes. */
export function checkSamples(hosts: readonly HostSample[], vms: readonly VmSample[]): void {
  const percent = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 100;
  const bad = (what: string, i: number, s: { atMs?: unknown }, name: unknown, why: string): never => {
    throw new HistoryError(`${what} sample #${i + 1} (${JSON.stringify(name)} at ${iso(Number(s.atMs))}): ${why}`);
  };
  hosts.forEach((s, i) => {
    if (typeof s.host !== 'string' || s.host === '') bad('host', i, s, s.host, 'no host name');
    if (!Number.isFinite(s.atMs)) bad('host', i, s, s.host, `atMs ${JSON.stringify(s.atMs)} is not a time in epoch ms`);
    if (!POWER_STATES.includes(s.powerState)) bad('host', i, s, s.host, `powerState ${JSON.stringify(s.powerState)} is not one of ${POWER_STATES.join(', ')}`);
    if (s.watts !== undefined && !(Number.isFinite(s.watts) && s.watts >= 0)) bad('host', i, s, s.host, `watts ${JSON.stringify(s.watts)} is not a number ≥ 0`);
    if (s.cpuLoadPercent !== undefined && !percent(s.cpuLoadPercent)) bad('host', i, s, s.host, `cpuLoadPercent ${JSON.stringify(s.cpuLoadPercent)} is not a percentage`);
    if (s.cpuCores !== undefined && !(Number.isFinite(s.cpuCores) && s.cpuCores > 0)) bad('host', i, s, s.host, `cpuCores ${JSON.stringify(s.cpuCores)} is not a number > 0`);
  });
  vms.forEach((s, i) => {
    if (typeof s.vm !== 'string' || s.vm === '') bad('VM', i, s, s.vm, 'no VM name');
    if (typeof s.host !== 'string' || s.host === '') bad('VM', i, s, s.vm, 'no host name');
    if (!Number.isFinite(s.atMs)) bad('VM', i, s, s.vm, `atMs ${JSON.stringify(s.atMs)} is not a time in epoch ms`);
    if (!percent(s.cpuLoadPercent)) bad('VM', i, s, s.vm, `cpuLoadPercent ${JSON.stringify(s.cpuLoadPercent)} is not a percentage`);
    if (s.vcpus !== undefined && !(Number.isInteger(s.vcpus) && s.vcpus > 0)) bad('VM', i, s, s.vm, `vcpus ${JSON.stringify(s.vcpus)} is not a whole number > 0`);
  });
}

/** The observation interval: the median gap between successive observation times, in whole seconds. */
export function observationInterval(times: readonly number[]): number | undefined {
  const distinct = [...new Set(times)].sort((a, b) => a - b);
  const gaps = distinct.slice(1).map((t, i) => t - distinct[i]).sort((a, b) => a - b);
  if (gaps.length === 0) return undefined;
  return Math.max(1, Math.round(gaps[Math.floor(gaps.length / 2)] / 1000));
}

/** Watts at 0 %, 10 %, … 100 % from readings: a least-squares line when loads vary, else flat. */
export function fittedPowerTable(points: readonly { watts: number; load: number }[]): number[] {
  const n = points.length;
  const meanX = points.reduce((a, p) => a + p.load, 0) / n;
  const meanY = points.reduce((a, p) => a + p.watts, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.load - meanX) * (p.watts - meanY);
    sxx += (p.load - meanX) ** 2;
  }
  const slope = sxx > 0 && sxy > 0 ? sxy / sxx : 0;
  const idle = Math.max(0, meanY - slope * meanX);
  return Array.from({ length: 11 }, (_, i) => Math.round((idle + slope * i * 10) * 1000) / 1000);
}

/** Bucket index of each sample time, and the mean of each bucket (undefined where empty). */
function bucketMeans<T>(samples: readonly T[], at: (s: T) => number, value: (s: T) => number | undefined, fromMs: number, intervalMs: number, n: number): (number | undefined)[] {
  const sums = new Array<number>(n).fill(0);
  const counts = new Array<number>(n).fill(0);
  for (const s of samples) {
    const k = Math.floor((at(s) - fromMs) / intervalMs);
    const v = value(s);
    if (k < 0 || k >= n || v === undefined) continue;
    sums[k] += v;
    counts[k]++;
  }
  return sums.map((sum, k) => (counts[k] > 0 ? sum / counts[k] : undefined));
}

export function historyDatacentre(hostSamples: readonly HostSample[], vmSamples: readonly VmSample[], range: { fromMs: number; toMs: number }): HistoryDatacentre {
  checkSamples(hostSamples, vmSamples);
  const hosts = hostSamples.filter((s) => s.atMs >= range.fromMs && s.atMs < range.toMs);
  const vms = vmSamples.filter((s) => s.atMs >= range.fromMs && s.atMs < range.toMs);
  if (hosts.length === 0) throw new HistoryError('no host samples in this window: the operator recorded nothing then (check --since/--until)');
  const intervalSeconds = observationInterval(hosts.map((s) => s.atMs));
  if (intervalSeconds === undefined) throw new HistoryError('the window holds one observation only: a what-if needs at least two observation rounds');
  const intervalMs = intervalSeconds * 1000;
  const first = Math.min(...hosts.map((s) => s.atMs));
  const last = Math.max(...hosts.map((s) => s.atMs));
  const fromMs = first;
  const n = Math.floor((Math.min(range.toMs, last + intervalMs) - fromMs) / intervalMs);
  if (n < 2) throw new HistoryError(`the window holds ${n} observation interval(s) of ${intervalSeconds} s: a what-if needs at least two`);
  const toMs = fromMs + n * intervalMs;

  const hostNames = [...new Set(hosts.map((s) => s.host))].sort();
  const hostTypes: HostType[] = hostNames.map((name) => {
    const own = hosts.filter((s) => s.host === name);
    const cores = Math.max(0, ...own.map((s) => s.cpuCores ?? 0));
    const memoryMiB = Math.max(0, ...own.map((s) => s.memoryCapacityMiB ?? 0));
    if (cores === 0 || memoryMiB === 0) {
      throw new HistoryError(`host ${name}: its samples carry no capacity (cpuCores, memoryCapacityMiB); they were recorded by a Tide older than the what-if, which cannot rebuild the host`);
    }
    const readings = own.filter((s) => s.powerState === 'on' && s.watts !== undefined).map((s) => ({ watts: s.watts!, load: s.cpuLoadPercent ?? 0 }));
    if (readings.length === 0) throw new HistoryError(`host ${name}: no power reading while on in this window, so neither what happened nor the what-if can be costed`);
    return { model: `${name} (fitted to its readings)`, watts: fittedPowerTable(readings), coreMips: SNAPSHOT_MIPS_PER_CORE, cores, memoryMiB, bandwidthMbps: ASSUMED_BANDWIDTH_MBPS };
  });
  const hostIndex = new Map(hostNames.map((h, i) => [h, i]));
  const firstState = (name: string) => hosts.filter((s) => s.host === name).sort((a, b) => a.atMs - b.atMs)[0].powerState;

  const vmNames = [...new Set(vms.map((s) => s.vm))].sort();
  if (vmNames.length === 0) throw new HistoryError('no VM samples in this window: there is no load to replay');
  const vmTypes: VmType[] = [];
  const traces: Trace[] = [];
  const placement: number[] = [];
  for (const name of vmNames) {
    const own = vms.filter((s) => s.vm === name).sort((a, b) => a.atMs - b.atMs);
    const vcpus = Math.max(0, ...own.map((s) => s.vcpus ?? 0));
    if (vcpus === 0) throw new HistoryError(`VM ${name}: its samples carry no vcpus; they were recorded by a Tide older than the what-if`);
    const where = hostIndex.get(own[0].host);
    if (where === undefined) throw new HistoryError(`VM ${name}: sample at ${iso(own[0].atMs)} places it on ${own[0].host}, a host with no sample in this window`);
    const memory = Math.max(0, ...own.map((s) => s.memoryMiB ?? 0));
    vmTypes.push({ mips: SNAPSHOT_MIPS_PER_CORE, vcpus, memoryMiB: memory > 0 ? memory : DEFAULT_VM_MEMORY_MIB });
    // An interval without a sample holds the previous one; before the first, the VM asked nothing.
    let held = 0;
    const samples = bucketMeans(own, (s) => s.atMs, (s) => s.cpuLoadPercent, fromMs, intervalMs, n).map((v) => (held = v ?? held));
    traces.push({ name, file: `history:${name}`, samples });
    placement.push(where);
  }
  const hostLoads = new Map(hostNames.map((name) => [name, bucketMeans(hosts.filter((s) => s.host === name), (s) => s.atMs, (s) => s.cpuLoadPercent, fromMs, intervalMs, n)]));
  const occupied = new Set(placement);
  const setup: DatacentreSetup = {
    hostCount: hostNames.length,
    hostTypes,
    vmTypes,
    intervalSeconds,
    durationSeconds: n * intervalSeconds,
    cloudsimCompat: false,
    migrationDegradation: 0.1,
    hostNames,
    hostsOffAtStart: hostNames.map((h, i) => (firstState(h) === 'off' && !occupied.has(i) ? i : -1)).filter((i) => i >= 0),
  };
  return { setup, traces, placement, fromMs, toMs, intervalSeconds, hostLoads };
}
