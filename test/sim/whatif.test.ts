/** The what-if over Tide's own history: records to a trace data centre, and its checks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tideInProcess } from '../cli/in-process.ts';
import { openEmbeddedStore } from '../../src/store/embedded-store.ts';
import { fittedPowerTable, historyDatacentre, observationInterval } from '../../src/sim/whatif/history-trace.ts';
import { whatIf } from '../../src/sim/whatif/whatif.ts';
import type { HostSample, VmSample } from '../../src/store/types.ts';

const T0 = Date.parse('2026-11-01T00:00:00Z');
const STEP = 60_000;
const all = { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER };

/** Two 4-core hosts, one idle VM on each, observed every minute for `n` minutes. */
function history(n: number) {
  const hostSamples: HostSample[] = [];
  const vmSamples: VmSample[] = [];
  for (let k = 0; k < n; k++) {
    const atMs = T0 + k * STEP;
    for (const [host, vm, load] of [['a', 'vm-a', 10], ['b', 'vm-b', 30]] as const) {
      hostSamples.push({ host, atMs, powerState: 'on', watts: 60 + load, cpuLoadPercent: load / 2 + (k % 2) * 10, cpuCores: 4, memoryCapacityMiB: 8192 });
      vmSamples.push({ vm, host, atMs, cpuLoadPercent: load, vcpus: 2, memoryMiB: 1024 });
    }
  }
  return { hostSamples, vmSamples, actions: [] };
}

test('the store\'s samples become one trace per VM on the recorded hosts, with their capacity and a fitted power line', () => {
  const h = history(10);
  const dc = historyDatacentre(h.hostSamples, h.vmSamples, all);
  assert.equal(dc.intervalSeconds, 60);
  assert.deepEqual(dc.setup.hostNames, ['a', 'b']);
  assert.deepEqual(dc.setup.hostTypes.map((t) => t.cores), [4, 4]);
  assert.deepEqual(dc.traces.map((t) => [t.name, t.samples.length, t.samples[0]]), [['vm-a', 10, 10], ['vm-b', 10, 30]]);
  assert.deepEqual(dc.placement, [0, 1]);
  assert.equal(dc.toMs - dc.fromMs, 10 * STEP);
  assert.deepEqual(fittedPowerTable([{ load: 0, watts: 50 }, { load: 50, watts: 100 }]), [50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150]);
  assert.equal(observationInterval([0, 30_000, 60_000, 60_000, 150_000]), 30);
});

test('a what-if consolidates the two half-idle hosts and stands beside what happened (both on all along)', () => {
  const r = whatIf(history(30), { strategy: 'paper', range: all, source: 'test' });
  assert.equal(r.migrations, 1);
  assert.equal(r.actions.filter((a) => a.type === 'power-off').length, 1);
  assert.equal(r.actual.migrations, 0);
  // Actual: a at 70 W and b at 90 W for 30 minutes.
  assert.equal(r.actual.energyWh, 80);
  assert.ok(r.energyWh < r.actual.energyWh, `what-if ${r.energyWh} Wh < actual ${r.actual.energyWh} Wh`);
  assert.equal(r.actual.overloadedMinutes, 0);
  assert.equal(r.scenario, 'history:test');
});

test('bad history: an empty window, a single observation, a malformed record (named), a host without capacity', () => {
  const h = history(5);
  assert.throws(() => historyDatacentre(h.hostSamples, h.vmSamples, { fromMs: 0, toMs: T0 }), /no host samples in this window/);
  assert.throws(() => historyDatacentre(h.hostSamples.slice(0, 2), h.vmSamples, all), /one observation only/);
  const bad = structuredClone(h.hostSamples);
  (bad[3] as any).watts = 'lots';
  assert.throws(() => historyDatacentre(bad, h.vmSamples, all), /host sample #4 \("b" at 2026-11-01T00:01:00.000Z\): watts "lots" is not a number/);
  const badVm = structuredClone(h.vmSamples);
  badVm[0].cpuLoadPercent = 140;
  assert.throws(() => historyDatacentre(h.hostSamples, badVm, all), /VM sample #1 \("vm-a" at .*\): cpuLoadPercent 140 is not a percentage/);
  const old = h.hostSamples.map(({ cpuCores: _c, memoryCapacityMiB: _m, ...s }) => s);
  assert.throws(() => historyDatacentre(old, h.vmSamples, all), /host a: its samples carry no capacity/);
});

const tide = tideInProcess;

test('tide simulate --from-store: one clear line for no store, not a store, an empty store, an empty window; a replay of a written store', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-whatif-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: [string[], RegExp][] = [
    [['--from-store', join(dir, 'nowhere')], /no history store at .*nowhere/],
    [['--from-store', dir], /is not a Tide history store \(no history\/ or samples\/ in it\)/],
  ];
  const storeDir = join(dir, 'store');
  mkdirSync(storeDir);
  await (await openEmbeddedStore(storeDir)).close();
  cases.push([['--from-store', storeDir], /the history store is empty/]);
  for (const [args, expected] of cases) {
    const r = await tide('simulate', ...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, expected);
  }
  const store = await openEmbeddedStore(storeDir);
  const h = history(30);
  store.appendHostSamples(h.hostSamples);
  store.appendVmSamples(h.vmSamples);
  await store.close();
  const empty = await tide('simulate', '--from-store', storeDir, '--until', '2026-10-01T00:00Z');
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /no observation recorded in this window \(the store holds 2026-11-01T00:00:00.000Z → 2026-11-01T00:29:00.000Z\)/);
  const policy = join(dir, 'policy.yaml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(policy, 'apiVersion: tide.dev/v1alpha1\nkind: ConsolidationPolicy\nmetadata: { name: p }\nspec: { strategy: paper, consolidationThresholdPercent: 1 }\n');
  const strict = await tide('simulate', '--from-store', storeDir, '--policy', policy, '--json');
  assert.equal(strict.code, 0, strict.stderr);
  // Th2 of 1 %: the two hosts' load never fits on one, so nothing moves.
  assert.equal(JSON.parse(strict.stdout).migrations, 0);
  const loose = await tide('simulate', '--from-store', storeDir, '--json');
  assert.equal(JSON.parse(loose.stdout).migrations, 1);
  writeFileSync(policy, 'kind: ConsolidationPolicy\nspec: { overloadThresholdPercent: 180 }\n');
  const bad = await tide('simulate', '--from-store', storeDir, '--policy', policy);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--policy .*policy.yaml: spec.overloadThresholdPercent: /);
});
