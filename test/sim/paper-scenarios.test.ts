/** The simulator reproduces the paper's two experiments (§4.1, §4.2): moves, watts, timing, energy. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario } from '../../src/sim/scenario.ts';
import { runSimulation } from '../../src/sim/run.ts';

const close = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);

test('paper-consolidation: 8 idle VMs end on node200, node100 off, 127 W → 58 W in ≈86 s', () => {
  const r = runSimulation(loadScenario('paper-consolidation'));
  assert.equal(r.initialWatts, 127);
  assert.equal(r.finalWatts, 58);
  const moves = r.actions.filter((a) => a.action.type === 'migrate');
  assert.deepEqual(moves.map((a) => a.action.type === 'migrate' && `${a.action.vm} ${a.action.from}→${a.action.to}`), ['vm-1 node100→node200', 'vm-2 node100→node200', 'vm-3 node100→node200', 'vm-4 node100→node200']);
  assert.ok(r.actions.every((a) => a.outcome === 'succeeded'));
  const off = r.actions.find((a) => a.action.type === 'power-off')!;
  assert.equal(off.action.type === 'power-off' && off.action.host, 'node100');
  // 4 × (1 GiB at 1 Gbit/s + 2.5 s) + 42 s shutdown: the paper's "around 86 seconds".
  close((off.endedAtMs! - r.scenario.startMs) / 1000, 86, 1, 'migration and power-off time');
  assert.deepEqual(r.hosts.map((h) => [h.name, h.powerState, h.vms.length]), [['node100', 'off', 0], ['node200', 'on', 8]]);
  // While memory is copied both hosts work: 20 points of CPU each on 69–120 W and 58–108 W hosts.
  assert.equal(Math.max(...r.power.map((p) => p.watts)), 147.2);
  // Energy, integrated by hand: 147.2 W while migrating (4 × 11.09 s), node100 shutting down at idle (42 s), then 58 W.
  const migrating = 4 * (2.5 + (1024 * 8.388608) / 1000);
  const expectedWh = (147.2 * migrating + 127 * 42 + 58 * (900 - migrating - 42)) / 3600;
  close(r.energyWh, expectedWh, 1e-4, 'energy (migration times are whole milliseconds)');
  close(r.energyWh, 16.40, 0.01, 'energy (Wh)');
  // Against leaving both hosts on for the same 900 s: 127 W × 0.25 h.
  assert.ok(127 * 0.25 - r.energyWh > 15, 'consolidation saves energy');
});

test('paper-balance: the 40 % VM moves at 33 s, takes ≈11 s, hosts end at 60 % / 60 %', () => {
  const r = runSimulation(loadScenario('paper-balance'));
  assert.equal(r.actions.length, 1);
  const [move] = r.actions;
  assert.deepEqual(move.action.type === 'migrate' && [move.action.vm, move.action.from, move.action.to], ['vm-40', 'node100', 'node200']);
  assert.match(move.action.message, /node100 80 % vs node200 40 %, d = 40 ≥ 10, vm-40 weighs 20 points ≤ d\/2 = 20/);
  assert.equal((move.startedAtMs - r.scenario.startMs) / 1000, 33);
  close((move.endedAtMs! - move.startedAtMs) / 1000, 11, 0.2, 'migration time');
  assert.deepEqual(r.hosts.map((h) => [h.name, h.cpuLoadPercent]), [['node100', 60], ['node200', 60]]);
  // 80 % and 40 % on the two hosts' linear models: 109.8 + 78 W; at 60/60: 99.6 + 88 W.
  close(r.initialWatts, 187.8, 1e-9, 'initial watts');
  close(r.finalWatts, 187.6, 1e-9, 'final watts');
  // During the migration: about 10 % more (the paper's figure), here 208 W.
  const peak = Math.max(...r.power.map((p) => p.watts));
  close(peak, 208, 1e-9, 'watts while migrating');
  close(peak / r.initialWatts - 1, 0.1, 0.02, 'relative increase while migrating');
  const seconds = 2.5 + (1024 * 8.388608) / 1000;
  close(r.energyWh, (187.8 * 33 + 208 * seconds + 187.6 * (600 - 33 - seconds)) / 3600, 1e-4, 'energy');
});

test('the npa strategy on the same scenarios moves nothing and keeps both hosts on', () => {
  const r = runSimulation(loadScenario('paper-consolidation'), { strategy: 'npa' });
  assert.deepEqual(r.actions, []);
  assert.equal(r.finalWatts, 127);
  close(r.energyWh, (127 * 900) / 3600, 1e-6, 'energy');
});
