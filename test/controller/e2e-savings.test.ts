/**
 * Measured savings and the what-if, end to end through `tide dev` (embedded API server,
 * simulator, simulated meters, the operator's runtime): the paper's two hosts consolidate and
 * node100 is powered off; the history store records the predicted saving, then the measured
 * one when the hour's window ends, and the policy's status sums it. `tide report` then shows
 * both, and `tide simulate --from-store` replays the same store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tideWritingStdout } from '../cli/in-process.ts';
import { startDev } from '../../src/cli/dev/start-dev.ts';
import { silentLogger } from '../../src/controller/log.ts';
import { loadScenario } from '../../src/sim/scenario.ts';
import { SAVING_WINDOW_MS } from '../../src/savings/predict.ts';
import { eventually } from './harness.ts';


const tide = tideWritingStdout;

test('a power-off records its predicted saving, then the measured one; tide report shows both; a what-if replays the store', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-savings-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'history');
  const kubeconfigPath = join(dir, 'kubeconfig');
  // 600× the wall: the hour-long window of node100's power-off ends within seconds.
  const dev = await startDev({
    scenario: loadScenario('paper-consolidation'), speed: 600, apiPort: 0, kubeconfigPath, metricsPort: 0, dataDir,
    namespace: 'default', log: silentLogger, observeIntervalMs: 60_000,
  });
  let stopped = false;
  t.after(() => (stopped ? undefined : dev.stop()));

  // The policy as the operator's informer sees it (its status as written to the API server).
  const policy = await eventually('the policy status to carry the measured saving', async () => {
    const p = dev.runtime.operator.reconciler.policies()[0];
    return (p?.status?.measuredEnergySavedWh ?? 0) > 0 && p;
  }, 40_000);
  const offs = (await dev.runtime.store.actions({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER })).filter((a) => a.action.type === 'power-off');
  assert.equal(offs.length, 1);
  const [off] = offs;
  assert.equal(off.action.host, 'node100');
  // Predicted: the spec's 69 W idle over the window; measured: node100's meter readings.
  assert.deepEqual(off.action.predictedSaving, { watts: 69, windowMs: SAVING_WINDOW_MS, energyWh: 69 });
  const m = off.measuredSaving!;
  assert.equal(m.ended, 'window-end');
  assert.equal(m.toMs - m.fromMs, SAVING_WINDOW_MS);
  assert.ok(m.offMs > 0.9 * SAVING_WINDOW_MS && m.offMs <= SAVING_WINDOW_MS, `off ${m.offMs} ms of the hour`);
  assert.ok(Math.abs(m.idleWatts - 69) < 4, `idle watts from node100's readings ≈ 69 W, got ${m.idleWatts}`);
  assert.ok(m.offWatts < m.idleWatts, `off ${m.offWatts} W`);
  assert.ok(Math.abs(m.energyWh - ((m.idleWatts - m.offWatts) * m.offMs) / 3_600_000) < 1e-6);
  assert.equal(policy.status!.measuredEnergySavedWh, Math.round(m.energyWh * 1000) / 1000);
  const decisions = await dev.runtime.store.decisions({ fromMs: 0, toMs: Number.MAX_SAFE_INTEGER });
  assert.ok(decisions.some((d) => d.predictedSaving?.watts === 69), 'the decision that powered node100 off carries the prediction');

  stopped = true;
  await dev.stop();

  const report = await tide('report', '--store', dataDir);
  assert.equal(report.code, 0, report.stderr);
  assert.match(report.stdout, /savings per power-off/);
  assert.match(report.stdout, new RegExp(`node100\\s+69\\.0 Wh \\(69 W × 1 h\\)\\s+${m.energyWh.toFixed(1)} Wh`));
  assert.match(report.stdout, new RegExp(`total over the 1 power-off\\(s\\) measured: predicted 69\\.0 Wh, measured ${m.energyWh.toFixed(1)} Wh`));

  const whatIf = await tide('simulate', '--from-store', dataDir, '--strategy', 'paper', '--json');
  assert.equal(whatIf.code, 0, whatIf.stderr);
  const doc = JSON.parse(whatIf.stdout);
  assert.equal(doc.actual.migrations, 4);
  assert.equal(doc.actual.powerOffs, 1);
  assert.ok(doc.actual.energyWh > 0);
  assert.equal(doc.window.hosts, 2);
  assert.equal(doc.window.vms, 8);
  // The paper's strategy, replayed on the same loads, consolidates the same way.
  assert.equal(doc.migrations, 4);
  assert.deepEqual(doc.actions.filter((a: any) => a.type === 'power-off').map((a: any) => a.host), ['node100']);
  for (const key of ['energyWh', 'energyKWh', 'migrations', 'sla', 'overloadedMinutes', 'actual']) assert.ok(key in doc, key);
  console.log(report.stdout);
  console.log((await tide('simulate', '--from-store', dataDir, '--strategy', 'paper')).stdout);
});
