/** The pure parts of measured savings: the prediction, the measurement, the report's totals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureSaving } from '../../src/savings/measure.ts';
import { predictSavings, totalPrediction } from '../../src/savings/predict.ts';
import { savingsSummary } from '../../src/report/savings.ts';
import type { Plan, Snapshot } from '../../src/planner/types.ts';

const MIN = 60_000;
const HOUR = 3_600_000;

test('a plan predicts each power-off saves its host\'s idle watts over the window; hosts without idle watts predict nothing', () => {
  const snapshot = { atMs: 0, vms: [], hosts: [{ name: 'a', idleWatts: 69 }, { name: 'b', idleWatts: 58 }, { name: 'c' }] } as unknown as Snapshot;
  const plan = {
    strategy: 'paper', summary: '', actions: [
      { type: 'migrate', vm: 'v', from: 'a', to: 'b', reason: 'Consolidate', message: '' },
      { type: 'power-off', host: 'a', reason: 'EmptyHost', message: '' },
      { type: 'power-off', host: 'c', reason: 'EmptyHost', message: '' },
    ],
  } as unknown as Plan;
  const p = predictSavings(plan, snapshot, 30 * MIN);
  assert.deepEqual([...p.entries()], [['a', { watts: 69, windowMs: 30 * MIN, energyWh: 34.5 }]]);
  assert.deepEqual(totalPrediction([{ watts: 69, windowMs: HOUR, energyWh: 69 }, { watts: 58, windowMs: HOUR, energyWh: 58 }]), { watts: 127, windowMs: HOUR, energyWh: 127 });
  assert.equal(totalPrediction([]), undefined);
});

test('measured: idle watts from the readings before, minus the readings while off, over the off time only', () => {
  const off = 10 * MIN;
  const readings = [
    { atMs: 0, powerState: 'on' as const, watts: 70, cpuLoadPercent: 0 },
    { atMs: 5 * MIN, powerState: 'on' as const, watts: 68, cpuLoadPercent: 0 },
    { atMs: 9 * MIN, powerState: 'shutting-down' as const, watts: 60 }, // in force at the power-off: not counted
    { atMs: 12 * MIN, powerState: 'off' as const, watts: 4 },
    { atMs: 30 * MIN, powerState: 'off' as const }, // no reading: not counted
    { atMs: 40 * MIN, powerState: 'off' as const, watts: 2 },
    { atMs: 70 * MIN, powerState: 'off' as const, watts: 2 }, // past the window
  ];
  const m = measureSaving({ offAtMs: off, untilMs: off + HOUR, ended: 'window-end', readings });
  assert.ok(m);
  assert.equal(m.idleWatts, 68); // the lowest reading while on (their loads do not vary)
  assert.equal(m.idleWattsSource, 'lowest-on-reading');
  assert.equal(m.offMs, 18 * MIN + 30 * MIN); // 12→30 at 4 W, 40→70 at 2 W
  assert.equal(m.offWatts, (4 * 18 + 2 * 30) / 48);
  assert.ok(Math.abs(m.energyWh - ((68 - 4) * 18 + (68 - 2) * 30) / 60) < 1e-9);
  assert.deepEqual([m.fromMs, m.toMs, m.ended], [off, off + HOUR, 'window-end']);
});

test('measured: a host back on early ends the span there; without readings while on the spec\'s idle watts are used; with neither, nothing', () => {
  const readings = [{ atMs: 0, powerState: 'off' as const, watts: 5 }, { atMs: 20 * MIN, powerState: 'booting' as const, watts: 90 }];
  const m = measureSaving({ offAtMs: 0, untilMs: 25 * MIN, ended: 'host-on', readings, specIdleWatts: 65 });
  assert.ok(m);
  assert.equal(m.idleWattsSource, 'spec');
  assert.equal(m.offMs, 20 * MIN);
  assert.ok(Math.abs(m.energyWh - (60 * 20) / 60) < 1e-9);
  assert.equal(m.ended, 'host-on');
  assert.equal(measureSaving({ offAtMs: 0, untilMs: 25 * MIN, ended: 'host-on', readings }), undefined);
});

test('the report totals only power-offs with both a prediction and a measurement', () => {
  const predicted = { watts: 69, windowMs: HOUR, energyWh: 69 };
  const measured = { fromMs: 0, toMs: HOUR, offMs: HOUR, idleWatts: 66, idleWattsSource: 'fitted' as const, offWatts: 3, energyWh: 63, ended: 'window-end' as const };
  const s = savingsSummary([
    { atMs: 1, type: 'power-off', reason: 'EmptyHost', host: 'a', predictedSaving: predicted, measuredSaving: measured },
    { atMs: 2, type: 'power-off', reason: 'EmptyHost', host: 'b', predictedSaving: predicted }, // still in its window
    { atMs: 3, type: 'migrate', reason: 'Consolidate', vm: 'v' },
  ]);
  assert.deepEqual(s.rows.map((r) => r.action.host), ['a', 'b']);
  assert.deepEqual([s.predictedWh, s.measuredWh, s.compared], [69, 63, 1]);
});
