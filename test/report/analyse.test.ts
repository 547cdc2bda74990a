import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReport } from '../../src/report/analyse.ts';
import { parseSimulationOutput, simulationToReportInput } from '../../src/report/from-simulation.ts';
import { storeToReportInput } from '../../src/report/from-store.ts';
import { renderTable } from '../../src/report/table.ts';
import { openEmbeddedStore } from '../../src/store/embedded-store.ts';
import { IDLE_W, STANDBY_W, STEP_S, STEPS, isOff, load, paperDay, watts } from './paper-day.ts';

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-6 * Math.max(1, Math.abs(expected)), `${what}: ${actual} ≠ ${expected}`);

test('energy per host, all-on baseline and saving follow from the timeline', () => {
  const report = buildReport(simulationToReportInput(paperDay()));
  const stepH = STEP_S / 3600;
  let total = 0;
  let saved = 0;
  for (let h = 1; h <= 4; h++) {
    let used = 0;
    for (let s = 0; s < STEPS; s++) used += (isOff(h, s) ? STANDBY_W : watts(load(h, s))) * stepH;
    const summary = report.hosts.find((x) => x.name === `node${h}`)!;
    close(summary.energyWh, used, `node${h} energy`);
    // The model is linear, so the fitted idle power is exactly the model's.
    close(summary.idleWatts!, IDLE_W, `node${h} idle`);
    assert.equal(summary.idleWattsSource, 'fitted');
    total += used;
  }
  for (let s = 0; s < STEPS; s++) for (const h of [3, 4]) if (isOff(h, s)) saved += (IDLE_W - STANDBY_W) * stepH;
  close(report.totalEnergyWh, total, 'total');
  close(report.savedWh, saved, 'saved');
  close(report.allOnEnergyWh, total + saved, 'all-on');
  assert.equal(report.hosts.find((h) => h.name === 'node3')!.offMs, 36 * STEP_S * 1000);
  assert.equal(report.fromMs, 0);
  assert.equal(report.toMs, STEPS * STEP_S * 1000);
});

test('time overloaded, per host and for the cluster', () => {
  const report = buildReport(simulationToReportInput(paperDay(), 80));
  for (let h = 1; h <= 4; h++) {
    let expected = 0;
    for (let s = 0; s < STEPS; s++) if (!isOff(h, s) && load(h, s) >= 80) expected += STEP_S * 1000;
    assert.equal(report.hosts.find((x) => x.name === `node${h}`)!.overloadedMs, expected, `node${h}`);
  }
  let cluster = 0;
  for (let s = 0; s < STEPS; s++) {
    const on = [1, 2, 3, 4].filter((h) => !isOff(h, s));
    if (on.reduce((a, h) => a + load(h, s), 0) / on.length >= 80) cluster += STEP_S * 1000;
  }
  assert.ok(cluster > 0, 'the fixture has an overloaded stretch');
  assert.equal(report.clusterOverloadedMs, cluster);
});

test('charts: active hosts drop to two overnight; actions keep their reasons in order', () => {
  const report = buildReport(simulationToReportInput(paperDay()));
  const { times, activeHosts, watts: series } = report.charts;
  assert.equal(times.length, STEPS + 1);
  assert.equal(activeHosts[10], 2);
  assert.equal(activeHosts[100], 4);
  assert.deepEqual(series.map((s) => s.host), ['node1', 'node2', 'node3', 'node4']);
  assert.equal(series[2].values[10], STANDBY_W);
  assert.deepEqual(report.actions.map((a) => a.type), ['migrate', 'migrate', 'power-off', 'power-off', 'power-on', 'power-on', 'migrate']);
  const text = renderTable(report);
  assert.match(text, /migrate vm-7 node3→node1\s+Consolidate: load 120 %/);
  assert.match(text, /saving against all hosts on: .* \(\d+\.\d %\)/);
});

test('a window clips energy to the part asked for', () => {
  const input = simulationToReportInput(paperDay());
  const report = buildReport({ ...input, window: { fromMs: 6 * STEP_S * 1000, toMs: 42 * STEP_S * 1000 } });
  const node3 = report.hosts.find((h) => h.name === 'node3')!;
  close(node3.energyWh, 36 * STANDBY_W * (STEP_S / 3600), 'node3 off all window');
  assert.deepEqual(report.actions.map((a) => a.type), ['power-off', 'power-off', 'power-on', 'power-on']);
});

test('bad simulation output is refused with the field or line at fault', () => {
  assert.throws(() => parseSimulationOutput('{"scenario": "x",\n  "hosts": [}', 'sim.json'), /sim\.json: not valid JSON \(line 2, column \d+/);
  const broken = paperDay() as unknown as { timeline: { hosts: { watts: unknown }[] }[] };
  broken.timeline[3].hosts[1].watts = 'lots';
  assert.throws(() => parseSimulationOutput(JSON.stringify(broken), 'sim.json'), /sim\.json: field \/timeline\/3\/hosts\/1\/watts must be number/);
  const { energyWh: _e, ...missing } = paperDay();
  assert.throws(() => parseSimulationOutput(JSON.stringify(missing), 'sim.json'), /field \/energyWh is missing/);
});

test('without a timeline the report says so and keeps the simulator total', () => {
  const { timeline: _t, ...sim } = paperDay();
  const report = buildReport(simulationToReportInput(parseSimulationOutput(JSON.stringify({ ...sim, energyWh: 1234 }), 'f')));
  assert.equal(report.hosts.length, 0);
  assert.equal(report.sourceEnergyWh, 1234);
  assert.match(renderTable(report), /no "timeline"/);
});

test('a report from the history store matches the same data from a simulation', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tide-report-'));
  try {
    const start = Date.UTC(2026, 10, 24, 0, 0);
    const store = await openEmbeddedStore(dir, { now: () => start + 86_400_000 });
    const sim = paperDay();
    for (const step of sim.timeline!) {
      store.appendHostSamples(step.hosts.map((h) => ({
        host: h.name, atMs: start + step.atSeconds * 1000, powerState: h.powerState as 'on' | 'off', watts: h.watts, cpuLoadPercent: h.cpuLoadPercent,
      })));
    }
    for (const a of sim.actions) {
      const { atSeconds, reason, ...rest } = a;
      const id = await store.recordAction({ ...rest, reason: reason.split(':')[0], message: reason }, start + atSeconds * 1000);
      await store.recordActionOutcome(id, { result: 'succeeded', finishedAtMs: start + atSeconds * 1000 + 6000 });
    }
    await store.close();
    const reader = await openEmbeddedStore(dir, { readOnly: true });
    const fromStore = buildReport(await storeToReportInput(reader, { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER }, 'store'));
    const fromSim = buildReport(simulationToReportInput(sim));
    close(fromStore.totalEnergyWh, fromSim.totalEnergyWh, 'total');
    close(fromStore.savedWh, fromSim.savedWh, 'saved');
    assert.equal(fromStore.fromMs, start);
    assert.deepEqual(fromStore.actions.map((a) => [a.reason, a.result]).slice(0, 3), [['Consolidate', 'succeeded'], ['Consolidate', 'succeeded'], ['EmptyHost', 'succeeded']]);
    assert.match(renderTable(fromStore), /2026-11-24 00:51:00Z\s+migrate vm-7 node3→node1\s+Consolidate\s+succeeded\s+Consolidate: load/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
