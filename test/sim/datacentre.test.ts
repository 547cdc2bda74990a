/** The simulated data centre: power models, energy integration, migrations, boot and shutdown. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linearPower, SPECPOWER_TABLES, tablePower } from '../../src/sim/power-model.ts';
import { stepLoad, traceLoad } from '../../src/sim/load.ts';
import { dataCentre, simHost, simVm, START } from './helpers.ts';

test('power models: linear between idle and peak, SPECpower tables interpolated between 10 % points', () => {
  const linear = linearPower(69, 120);
  assert.equal(linear.watts(0), 69);
  assert.equal(linear.watts(80), 109.8);
  assert.equal(linear.watts(150), 120, 'clamped at 100 %');
  const g4 = tablePower(SPECPOWER_TABLES['HP ProLiant ML110 G4 (Xeon 3040)']);
  assert.equal(g4.watts(0), 86);
  assert.equal(g4.watts(100), 117);
  assert.ok(Math.abs(g4.watts(15) - (89.4 + 92.6) / 2) < 1e-9);
  assert.throws(() => tablePower([1, 2, 3]), /11 figures/);
});

test('load timelines: steps hold until the next, traces hold each sample for their interval and repeat', () => {
  const steps = stepLoad([{ atSeconds: 100, percent: 50 }, { atSeconds: 0, percent: 10 }]);
  assert.deepEqual([steps.at(0), steps.at(99), steps.at(100), steps.at(1e6)], [10, 10, 50, 50]);
  assert.deepEqual([steps.nextChange(0), steps.nextChange(100)], [100, Infinity]);
  const trace = traceLoad([5, 7, 9], 300);
  assert.deepEqual([trace.at(0), trace.at(299), trace.at(300), trace.at(899), trace.at(900)], [5, 5, 7, 9, 5]);
  assert.equal(trace.nextChange(301), 600);
});

test('energy is integrated exactly over load changes', () => {
  // 2 vCPUs at 40 % on 4 cores = 20 % host load → 50 + 100 × 0.2 = 70 W; then 100 % → 100 W.
  const dc = dataCentre([simHost('a')], [simVm('v', 'a', stepLoad([{ atSeconds: 0, percent: 40 }, { atSeconds: 1800, percent: 100 }]))]);
  assert.equal(dc.watts(), 70);
  dc.advanceTo(START + 3600_000);
  assert.equal(dc.watts(), 100);
  assert.ok(Math.abs(dc.energyWh() - (70 * 0.5 + 100 * 0.5)) < 1e-9);
  assert.ok(Math.abs(dc.hostEnergyWh(dc.hosts.get('a')!) - 85) < 1e-9, 'the host meter agrees with the total');
});

test('a live migration takes memory / bandwidth + overhead, loads both ends while it runs, then moves the VM', () => {
  const dc = dataCentre([simHost('a'), simHost('b')], [simVm('v', 'a', 40, { memoryMiB: 2048 })]);
  const outcomes: boolean[] = [];
  const m = dc.startMigration('v', 'b', (r) => outcomes.push(r.succeeded));
  const seconds = 2 + (2048 * 8.388608) / 1000;
  assert.equal(m.endsAtMs - START, Math.round(seconds * 1000));
  // a: 20 % (VM) + 10 % (migration) = 80 W; b: 10 % = 60 W.
  assert.equal(dc.watts(), 140);
  dc.advanceTo(m.endsAtMs - 1);
  assert.equal(dc.vms.get('v')!.host.spec.name, 'a', 'precopy: the VM runs on its source until the end');
  dc.advanceTo(m.endsAtMs);
  assert.deepEqual(outcomes, [true]);
  assert.equal(dc.vms.get('v')!.host.spec.name, 'b');
  assert.equal(dc.watts(), 50 + 70);
  assert.throws(() => dc.startMigration('v', 'b'), /already runs on b/);
});

test('migrations are refused when the target is off or short of memory; aborts leave the VM home', () => {
  const dc = dataCentre([simHost('a'), simHost('b', { memoryMiB: 1024 }), simHost('c', { powerState: 'off' })], [simVm('v', 'a', 10, { memoryMiB: 2048 })]);
  assert.throws(() => dc.startMigration('v', 'b'), /needs 2048 MiB, 1024 MiB free/);
  assert.throws(() => dc.startMigration('v', 'c'), /the host is off/);
  const dc2 = dataCentre([simHost('a'), simHost('b')], [simVm('v', 'a', 10)]);
  let error = '';
  dc2.startMigration('v', 'b', (r) => (error = r.error ?? ''));
  dc2.advanceTo(START + 1000);
  dc2.abortMigration('v', 'operator aborted');
  dc2.advanceTo(START + 60_000);
  assert.equal(error, 'operator aborted');
  assert.equal(dc2.vms.get('v')!.host.spec.name, 'a');
});

test('hosts boot and shut down over time, draw idle watts meanwhile, and refuse to power off with VMs', () => {
  const dc = dataCentre([simHost('a'), simHost('b', { powerState: 'off' })], [simVm('v', 'a', 0)]);
  assert.equal(dc.watts(), 50 + 2);
  assert.throws(() => dc.powerOff('a'), /refusing to power off a: it runs v/);
  const events: string[] = [];
  dc.powerOn('b', () => events.push(`b up at ${(dc.now() - START) / 1000}`));
  assert.equal(dc.hosts.get('b')!.powerState, 'booting');
  assert.equal(dc.watts(), 100);
  dc.advanceTo(START + 120_000);
  assert.deepEqual(events, ['b up at 60']);
  dc.powerOff('b', () => events.push(`b off at ${(dc.now() - START) / 1000}`));
  dc.advanceTo(START + 200_000);
  assert.deepEqual(events, ['b up at 60', 'b off at 140']);
  // a: 50 W throughout. b: booting 0–60 s and on (idle) 60–120 s at 50 W, shutting down 120–140 s at 50 W, then off at 2 W.
  const expected = (50 * 200 + 50 * 60 + 50 * 60 + 50 * 20 + 2 * 60) / 3600;
  assert.ok(Math.abs(dc.energyWh() - expected) < 1e-9, `${dc.energyWh()} vs ${expected}`);
});
