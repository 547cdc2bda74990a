/**
 * The simulator behind the operator's interfaces (HypervisorDriver, PowerDriver, MeterSource),
 * on the simulated clock: calls take simulated time and resolve when the simulation says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimClock } from '../../src/sim/clock.ts';
import { SimHypervisorDriver, SimMeterSource, SimPowerDriver, simHostTargets } from '../../src/sim/drivers.ts';
import { loadScenario } from '../../src/sim/scenario.ts';
import { createDataCentre } from '../../src/sim/run.ts';
import { PowerActionError, type MeterReading } from '../../src/api/drivers.ts';

function setUp() {
  const scenario = loadScenario('paper-balance');
  const clock = new SimClock(createDataCentre(scenario));
  const targets = new Map(simHostTargets(scenario).map((t) => [t.name, t]));
  return { scenario, clock, node100: targets.get('node100')!, node200: targets.get('node200')! };
}

test('observeHost reports load, memory and domains as a hypervisor would', async () => {
  const { clock, node100 } = setUp();
  const observed = await new SimHypervisorDriver(clock).observeHost(node100);
  assert.equal(observed.reachable, true);
  assert.equal(observed.cpuLoadPercent, 80);
  assert.equal(observed.memoryUsedMiB, 4096);
  assert.deepEqual(observed.domains.map((d) => [d.name, d.cpuLoadPercent]), [['vm-80', 80], ['vm-40', 40], ['vm-20a', 20], ['vm-20b', 20]]);
  const unknown = await new SimHypervisorDriver(clock).observeHost({ ...node100, name: 'nope' });
  assert.equal(unknown.reachable, false);
});

test('migrate resolves once the simulated migration is done, with the time it took', async () => {
  const { clock, node100, node200 } = setUp();
  const driver = new SimHypervisorDriver(clock);
  let outcome: Awaited<ReturnType<typeof driver.migrate>> | undefined;
  void driver.migrate({ domain: 'vm-40', from: node100, to: node200, timeoutMs: 60_000 }).then((o) => (outcome = o));
  await clock.runUntil(clock.now() + 5_000);
  assert.equal(outcome, undefined, 'still copying memory after 5 s');
  await clock.runUntilCondition(() => outcome !== undefined, 60_000);
  assert.equal(outcome!.succeeded, true);
  assert.equal(outcome!.runningOn, 'node200');
  assert.equal(outcome!.durationMs, 11_090, '2.5 s + 1 GiB at 1 Gbit/s');
  const after = await driver.observeHost(node100);
  assert.equal(after.cpuLoadPercent, 60);
});

test('a migration past its timeout is aborted and the domain stays on its source', async () => {
  const { clock, node100, node200 } = setUp();
  const driver = new SimHypervisorDriver(clock);
  const pending = driver.migrate({ domain: 'vm-40', from: node100, to: node200, timeoutMs: 3_000 });
  await clock.runUntil(clock.now() + 20_000);
  const outcome = await pending;
  assert.equal(outcome.succeeded, false);
  assert.match(outcome.error!, /timed out after 3000 ms/);
  assert.equal(outcome.runningOn, 'node100');
  const wrongSource = await driver.migrate({ domain: 'vm-40', from: node200, to: node100, timeoutMs: 3_000 });
  assert.match(wrongSource.error!, /runs on node100, not node200/);
});

test('powerOff refuses a host with domains; an empty host shuts down and boots again in simulated time', async () => {
  const { clock, node100, node200 } = setUp();
  const power = new SimPowerDriver(clock);
  await assert.rejects(power.powerOff(node100), (err: unknown) => err instanceof PowerActionError && /refusing to power off node100/.test(err.message));
  const dc = clock.dc;
  for (const vm of [...dc.hosts.get('node200')!.vms]) dc.startMigration(vm.spec.name, 'node100');
  await clock.runUntil(clock.now() + 60_000);
  let off = false;
  void power.powerOff(node200).then(() => (off = true));
  await clock.runUntilCondition(() => off, 60_000);
  assert.equal(dc.hosts.get('node200')!.powerState, 'off');
  const before = clock.now();
  let on = false;
  void power.powerOn(node200).then(() => (on = true));
  await clock.runUntilCondition(() => on, 600_000);
  assert.equal(clock.now() - before, 120_000, 'boot takes the scenario\'s 120 s');
});

test('the meter source reports every host\'s watts and cumulative energy on the simulated clock', async () => {
  const { clock, scenario } = setUp();
  const readings: MeterReading[] = [];
  const meters = new SimMeterSource(clock, 10_000);
  await meters.start((r) => readings.push(r));
  await clock.runUntil(clock.now() + 30_000);
  await meters.stop();
  await clock.runUntil(clock.now() + 30_000);
  assert.equal(readings.length, 2 * 4, 'at 0, 10, 20 and 30 s for 2 hosts, none after stop');
  const last = readings.filter((r) => r.meterId === scenario.hosts[0].meterId).at(-1)!;
  assert.equal(last.watts, 109.8);
  assert.ok(Math.abs(last.energyWh! - (109.8 * 30) / 3600) < 1e-9);
  assert.match(last.meterId, /^0x[0-9a-f]{16}$/);
});

test('runRealtime lets simulated time run N times faster than the wall', async () => {
  const { clock } = setUp();
  const start = clock.now();
  const stop = clock.runRealtime(100, 10);
  try {
    await clock.sleep(20_000); // 20 s simulated ≈ 0.2 s of wall time at 100×
  } finally {
    stop();
  }
  assert.ok(clock.now() - start >= 20_000);
});
