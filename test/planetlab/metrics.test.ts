import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceDatacentre } from '../../src/sim/datacentre/trace-datacentre.ts';
import { MetricsRecorder } from '../../src/sim/metrics/recorder.ts';
import { allocateHost } from '../../src/sim/datacentre/allocation.ts';
import { DEFAULT_BOOT_SECONDS, DEFAULT_SHUTDOWN_SECONDS, migrationSeconds, type DatacentreSetup } from '../../src/sim/datacentre/setup.ts';
import { REALISTIC_PRECOPY } from '../../src/sim/datacentre/migration-model.ts';
import type { Plan } from '../../src/planner/types.ts';

// Two identical hosts (2 × 1,000 MIPS, 100 W idle, 200 W full, linear), two 1,000-MIPS VMs of
// 625 MB (a 10 s migration over 1 Gbit/s), both at 50 % for two 100-second intervals.
const setup: DatacentreSetup = {
  hostCount: 2,
  hostTypes: [{ model: 'test', watts: [100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200], coreMips: 1000, cores: 2, memoryMiB: 4096, bandwidthMbps: 1000 }],
  vmTypes: [{ mips: 1000, vcpus: 1, memoryMiB: 625 }],
  intervalSeconds: 100,
  durationSeconds: 200,
  cloudsimCompat: true,
  migrationDegradation: 0.1,
};
const traces = [
  { name: 'vm-a', file: 'vm-a', samples: [50, 50, 50] },
  { name: 'vm-b', file: 'vm-b', samples: [50, 50, 50] },
];

test('migration time is RAM over half the link, as CloudSim computes it', () => {
  assert.equal(migrationSeconds(625, 1000), 10);
  assert.equal(migrationSeconds(1740, 1000), 27.84);
});

test('CloudSim metrics of a tiny run match the hand computation', () => {
  const dc = new TraceDatacentre(traces, setup);
  // Power-aware initial placement spreads: the second VM costs less on the empty host.
  assert.deepEqual(dc.vms.map((v) => v.host.name), ['host-0', 'host-1']);
  const recorder = new MetricsRecorder(true);
  const consolidate: Plan = {
    strategy: 'lr-mmt',
    summary: 'test',
    actions: [{ type: 'migrate', vm: 'vm-b', from: 'host-1', to: 'host-0', reason: 'Consolidate', message: 'test' }],
  };
  recorder.migrations += dc.apply(consolidate, 0);
  dc.run(0, recorder);
  dc.run(1, recorder);
  const r = recorder.result();
  // [0, 10 s): host-0 runs vm-a (500 MIPS) and receives vm-b (10 % of 500 = 50): 27.5 %, 127.5 W,
  //            requested 1,000 > allocated 550, so it violates its SLA for those 10 s;
  //            host-1 gives vm-b 90 % (450), reports 450 / 0.9 = 500 used: 25 %, 125 W.
  // [10, 100 s): host-0 at 50 %, 150 W; host-1 empty (off). [100, 200 s): host-0 at 150 W.
  const joules = 127.5 * 10 + 125 * 10 + 150 * 90 + 150 * 100;
  assert.ok(Math.abs(r.energyKWh - joules / 3_600_000) < 1e-12, `energy ${r.energyKWh}`);
  assert.equal(r.migrations, 1);
  // Active time: host-0 200 s, host-1 10 s; violating: host-0's 10 s of receiving.
  assert.ok(Math.abs(r.sla.slatah - 10 / 210) < 1e-12, `slatah ${r.sla.slatah}`);
  // vm-b lost 50 MIPS for 10 s while migrating, out of 2 VMs × 500 MIPS × 200 s requested.
  assert.ok(Math.abs(r.sla.pdm - (50 * 10) / (2 * 500 * 200)) < 1e-12, `pdm ${r.sla.pdm}`);
  assert.ok(Math.abs(r.sla.slav - r.sla.slatah * r.sla.pdm) < 1e-18);
  assert.ok(Math.abs(r.sla.esv - r.energyKWh * r.sla.slav) < 1e-18);
  assert.equal(r.hostShutdowns, 1, 'host-1 went inactive once');
  assert.deepEqual(dc.vms.map((v) => v.host.name), ['host-0', 'host-0']);
});

test('an oversubscribed host scales every VM down alike and floors, like CloudSim', () => {
  const a = allocateHost(2000, 1000, [
    { requestedMips: 1500, vcpus: 1, role: 'resident' },
    { requestedMips: 900, vcpus: 1, role: 'resident' },
    { requestedMips: 600, vcpus: 1, role: 'out' },
  ]);
  // The first VM is capped at one core (1,000): total 2,500 > 2,000, factor 0.8.
  assert.deepEqual(a.allocated, [800, 720, Math.floor(600 * 0.8 * 0.9)]);
  assert.equal(a.requestedMips, 3000);
  assert.ok(a.utilisationMips < a.requestedMips);
});

test('compatibility mode removes a VM whose trace is 0 around an update, as CloudSim does; realistic mode keeps it', () => {
  const idle = [{ name: 'idle', file: 'idle', samples: [10, 0, 0, 10] }, ...traces];
  for (const compat of [true, false]) {
    const dc = new TraceDatacentre(idle, { ...setup, cloudsimCompat: compat, durationSeconds: 300 });
    const recorder = new MetricsRecorder(compat);
    dc.run(0, recorder);
    assert.equal(dc.snapshot(1).vms.some((v) => v.name === 'idle'), !compat);
  }
});

test('realistic mode: an empty host draws idle watts until it is off, its shutdown time included, and a powered-on host boots for its boot time', () => {
  const one = [{ name: 'vm-a', file: 'vm-a', samples: [50, 50, 50, 50, 50, 50] }];
  const hostTypes = [{ ...setup.hostTypes[0], bootSeconds: 150, shutdownSeconds: 40 }];
  const dc = new TraceDatacentre(one, { ...setup, hostTypes, cloudsimCompat: false, durationSeconds: 500 });
  const recorder = new MetricsRecorder(false);
  dc.run(0, recorder); // host-0 at 25 % (125 W), host-1 empty but on (100 W idle)
  const off: Plan = { strategy: 'tide', summary: 'test', actions: [{ type: 'power-off', host: 'host-1', reason: 'EmptyHost', message: 'test' }] };
  dc.apply(off, 1);
  assert.equal(dc.snapshot(1).hosts[1].powerState, 'shutting-down');
  dc.run(1, recorder); // host-1 shuts down: 100 W for 40 s, then 0 W
  assert.equal(dc.snapshot(2).hosts[1].powerState, 'off');
  const on: Plan = { strategy: 'tide', summary: 'test', actions: [{ type: 'power-on', host: 'host-1', reason: 'Overloaded', message: 'test' }] };
  dc.apply(on, 2);
  dc.run(2, recorder); // booting: 100 W idle
  assert.equal(dc.snapshot(3).hosts[1].powerState, 'booting', '150 s of boot outlast a 100-second round');
  dc.run(3, recorder);
  assert.equal(dc.snapshot(4).hosts[1].powerState, 'on');
  const joules = (125 + 100) * 100 + (125 * 100 + 100 * 40) + (125 + 100) * 100 + (125 + 100) * 100;
  assert.ok(Math.abs(recorder.result().energyKWh - joules / 3_600_000) < 1e-12, `${recorder.result().energyKWh * 3_600_000} J`);

  // A host type without boot and shutdown times gets the defaults (2 min, 30 s).
  const plain = new TraceDatacentre(one, { ...setup, cloudsimCompat: false, durationSeconds: 500 });
  plain.apply(off, 0);
  assert.equal(plain.hosts[1].offAt, DEFAULT_SHUTDOWN_SECONDS);
  plain.apply(on, 1);
  assert.equal(plain.hosts[1].bootEndsAt, 100 + DEFAULT_BOOT_SECONDS);
});

test('realistic mode: two VMs leaving one host share its link, and busy ones take more than twice as long as one alone', () => {
  const migrations = (vms: string[]) => {
    const dc = new TraceDatacentre(traces, { ...setup, hostCount: 3, cloudsimCompat: false });
    // vm-a on host-0, vm-b on host-1: move vm-b beside vm-a first, then out again.
    dc.apply({ strategy: 'tide', summary: 'test', actions: [{ type: 'migrate', vm: 'vm-b', from: 'host-1', to: 'host-0', reason: 'Consolidate', message: 'test' }] }, 0);
    dc.run(0, new MetricsRecorder(false));
    assert.deepEqual(dc.vms.map((v) => v.host.name), ['host-0', 'host-0']);
    const actions = vms.map((vm, i) => ({ type: 'migrate' as const, vm, from: 'host-0', to: `host-${i + 1}`, reason: 'Balance' as const, message: 'test' }));
    dc.apply({ strategy: 'tide', summary: 'test', actions }, 1);
    return vms.map((name) => dc.vms.find((v) => v.name === name)!.migration!.endsAt - 100 - REALISTIC_PRECOPY.setupSeconds);
  };
  const [alone] = migrations(['vm-a']);
  // 625 MiB at 62.5 MiB/s; at 50 % the VM dirties 18.5 MiB meanwhile, under the 18.75 MiB that
  // go in 0.3 s, so one stop-and-copy follows.
  assert.ok(Math.abs(alone - (625 + 0.5 * 3.7 * 10) / 62.5) < 1e-9, `alone ${alone}`);
  const shared = migrations(['vm-a', 'vm-b']);
  assert.equal(shared[0], shared[1]);
  // At half the rate each round lasts twice as long and dirties twice as much: a second round.
  assert.ok(shared[0] > 2 * alone, `shared ${shared[0]} vs alone ${alone}`);
});

test('compatibility mode: power actions change nothing, as CloudSim has no power states', () => {
  const dc = new TraceDatacentre(traces, { ...setup, hostCount: 3 });
  assert.equal(dc.hosts[2].resident.length, 0);
  dc.apply({ strategy: 'tide', summary: 'test', actions: [{ type: 'power-off', host: 'host-2', reason: 'EmptyHost', message: 'test' }] }, 0);
  assert.equal(dc.snapshot(0).hosts[2].powerState, 'on');
});
