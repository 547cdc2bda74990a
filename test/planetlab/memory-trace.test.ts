/**
 * Traces with a memory column (`cpu mem`, memory in % of the VM's size): parsing and its
 * errors, and realistic mode, where a VM's footprint follows the column — in what the planner
 * sees, in what a migration copies, in what a host holds — while CloudSim mode ignores it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrace, parseTraceColumns, readTraceDir, TraceError, type Trace } from '../../src/sim/trace.ts';
import { runTrace } from '../../src/sim/datacentre/run-trace.ts';
import { TraceDatacentre } from '../../src/sim/datacentre/trace-datacentre.ts';
import { migrationSeconds, type DatacentreSetup } from '../../src/sim/datacentre/setup.ts';
import { dirtyMiBps, linkMiBps, migrateAlone, REALISTIC_PRECOPY } from '../../src/sim/datacentre/migration-model.ts';
import { oracleEnergy } from '../../src/sim/oracle/oracle.ts';

test('a trace file may carry a memory column; one-column files read as before', () => {
  assert.deepEqual(parseTraceColumns('10 100\n20\t50\n  30   25  \n', 'vm'), { cpu: [10, 20, 30], memory: [100, 50, 25] });
  assert.deepEqual(parseTraceColumns('10\n20\n', 'vm'), { cpu: [10, 20] });
  assert.deepEqual(parseTrace('10 100\n20 50\n', 'vm'), [10, 20], 'scenario VMs take the CPU column');
});

test('bad lines of a two-column trace: the error names the file, the line and the column', () => {
  const fails = (text: string, message: string) =>
    assert.throws(() => parseTraceColumns(text, 'traces/vm-7'), (err: unknown) => err instanceof TraceError && err.message === message);
  fails('10 100\n20\n', 'traces/vm-7:2: expected a CPU and a memory percentage (two numbers from 0 to 100, as on line 1), got "20"');
  fails('10 100\n20 50 7\n', 'traces/vm-7:2: expected a CPU and a memory percentage (two numbers from 0 to 100, as on line 1), got "20 50 7"');
  fails('10 100\n20 lots\n', 'traces/vm-7:2: expected a memory percentage (a number from 0 to 100) in column 2, got "20 lots"');
  fails('10 100\nx 50\n', 'traces/vm-7:2: expected a CPU percentage (a number from 0 to 100) in column 1, got "x 50"');
  fails('10 100\n20 130\n', 'traces/vm-7:2: memory percentage 130 is outside 0–100');
  fails('10 100\n\n', 'traces/vm-7:2: expected a CPU and a memory percentage (two numbers from 0 to 100, as on line 1), got ""');
  fails('10\n20 50\n', 'traces/vm-7:2: expected a CPU percentage (a number from 0 to 100), got "20 50"');
  fails('10 20 30\n', 'traces/vm-7:1: expected a CPU percentage (a number from 0 to 100), optionally followed by a memory percentage, got "10 20 30"');

  const dir = mkdtempSync(join(tmpdir(), 'tide-memory-trace-'));
  try {
    writeFileSync(join(dir, 'a'), '10 100\n20 50\n');
    writeFileSync(join(dir, 'b'), '10\n20\n');
    const [a, b] = readTraceDir(dir);
    assert.deepEqual([a.memory, b.memory], [[100, 50], undefined]);
    writeFileSync(join(dir, 'c'), '10 100\n20 -5\n');
    assert.throws(() => readTraceDir(dir), (err: unknown) => err instanceof TraceError && err.message === `${join(dir, 'c')}:2: memory percentage -5 is outside 0–100`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Four hosts of 2 × 1,000 MIPS and 4 GiB; VMs of 1,000 MIPS and 2 GiB, at 10 % CPU: two fit a
// host by memory, four only once they use half their memory or less.
const setup: DatacentreSetup = {
  hostCount: 4,
  hostTypes: [{ model: 'linear', watts: [100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200], coreMips: 1000, cores: 2, memoryMiB: 4096, bandwidthMbps: 1000 }],
  vmTypes: [{ mips: 1000, vcpus: 1, memoryMiB: 2048 }],
  intervalSeconds: 300,
  durationSeconds: 8 * 300,
  cloudsimCompat: false,
  migrationDegradation: 0.1,
};
const MEMORY = [100, 100, 25, 25, 25, 25, 25, 25, 25];
const traces = (memory?: number[]): Trace[] =>
  Array.from({ length: 4 }, (_, i) => ({ name: `vm-${i}`, file: `vm-${i}`, samples: Array(9).fill(10), ...(memory && { memory }) }));
const hostsUsed = (r: ReturnType<typeof runTrace>) => r.datacentre.hosts.filter((h) => h.resident.length > 0).length;

test('realistic mode: a VM holds what its memory column says, and consolidation follows it', () => {
  const seen: number[][] = [];
  const withMemory = runTrace(traces(MEMORY), { strategy: 'tide', setup, onPlan: (snapshot) => seen.push(snapshot.vms.map((vm) => vm.memoryMiB)) });
  assert.deepEqual(seen.map((round) => round[0]), MEMORY.slice(0, 8).map((m) => (2048 * m) / 100), 'the planner sees the footprint of each interval');
  assert.equal(hostsUsed(withMemory), 1, 'four VMs at 512 MiB share one host');
  const fullSize = runTrace(traces(), { strategy: 'tide', setup });
  assert.equal(hostsUsed(fullSize), 2, 'at their full 2 GiB, two per host');
  assert.ok(withMemory.energyKWh < fullSize.energyKWh);
  for (const r of [withMemory, fullSize]) assert.equal(r.overCapacityHostSeconds, 0);

  // The oracle follows the column too: two hosts while the VMs use all their memory, then one.
  const oracle = oracleEnergy(traces(MEMORY), setup);
  assert.deepEqual(oracle.intervals.map((i) => Math.round(i.lowerJoules / 300)), [220, 220, 120, 120, 120, 120, 120, 120]);
  assert.ok(oracle.lowerKWh <= withMemory.energyKWh);
});

test('realistic mode: a migration copies the footprint; CloudSim mode ignores the memory column', () => {
  const migrate = (dc: TraceDatacentre, k: number) => {
    const vm = dc.vms[0];
    const to = dc.hosts.find((h) => h !== vm.host)!;
    dc.apply({ strategy: 'tide', summary: 'test', actions: [{ type: 'migrate', vm: vm.name, from: vm.host.name, to: to.name, reason: 'Consolidate', message: 'test' }] }, k);
    return vm.migration!.endsAt - k * setup.intervalSeconds;
  };
  const realistic = new TraceDatacentre(traces(MEMORY), setup);
  assert.equal(realistic.snapshot(2).vms[0].memoryMiB, 512);
  // Realistic mode's pre-copy model: the 512 MiB footprint, the VM's 10 % load dirtying pages.
  const p = REALISTIC_PRECOPY;
  assert.ok(Math.abs(migrate(realistic, 2) - migrateAlone(512, dirtyMiBps(10, 1, p), linkMiBps(1000, p)).endsAt) < 1e-9);
  assert.ok(migrate(new TraceDatacentre(traces(MEMORY), setup), 2) > migrationSeconds(512, 1000));
  const compat = new TraceDatacentre(traces(MEMORY), { ...setup, cloudsimCompat: true });
  assert.equal(compat.snapshot(2).vms[0].memoryMiB, 2048);
  assert.ok(Math.abs(migrate(compat, 2) - migrationSeconds(2048, 1000)) < 1e-9);
});

test('realistic mode: a host whose VMs grow past its RAM is counted as over capacity', () => {
  // Two VMs fill host-0 at their full size, the third is alone on host-1. At a quarter of their
  // size all three fit host-0, and a plan moves the third there; then they grow back to 2 GiB
  // each: 6 GiB on a 4-GiB host for the second interval.
  const dc = new TraceDatacentre(
    Array.from({ length: 3 }, (_, i) => ({ name: `vm-${i}`, file: `vm-${i}`, samples: [10, 10, 10], memory: [25, 100, 100] })),
    { ...setup, hostCount: 2, durationSeconds: 600 },
    'first-fit',
  );
  assert.deepEqual(dc.vms.map((vm) => vm.host.name), ['host-0', 'host-0', 'host-1']);
  dc.apply({ strategy: 'tide', summary: 'test', actions: [{ type: 'migrate', vm: 'vm-2', from: 'host-1', to: 'host-0', reason: 'Consolidate', message: 'test' }] }, 0);
  const over: number[] = [];
  const recorder = { host: () => {}, idle: () => {}, vm: () => {}, shutdown: () => {}, overCapacity: (seconds: number) => over.push(seconds) };
  dc.run(0, recorder);
  assert.deepEqual(over, [], 'interval 0: 3 × 512 MiB');
  dc.run(1, recorder);
  assert.deepEqual(over, [300], 'interval 1: 3 × 2,048 MiB on 4,096');
});
