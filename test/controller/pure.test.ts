import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ObservedHost } from '../../src/api/drivers.ts';
import type { MigrationRecord, PhysicalHost, PowerActionRecord, VirtualMachinePlacement } from '../../src/api/types.ts';
import { setCondition } from '../../src/controller/conditions.ts';
import { settleMigration, settlePowerAction } from '../../src/controller/intents.ts';
import { inOffPeakWindow, plannerPolicy } from '../../src/controller/policy.ts';
import { buildSnapshot } from '../../src/controller/snapshot.ts';
import { effectivePowerState, hostStatus } from '../../src/controller/status.ts';

const T0 = Date.parse('2026-11-25T12:00:00Z'); // a Wednesday

function host(name: string, extra: Partial<PhysicalHost['spec']> = {}, status?: PhysicalHost['status']): PhysicalHost {
  return {
    apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: { name, generation: 1 },
    spec: { address: name, capacity: { cpuCores: 4, memoryMiB: 16384 }, standbyAllowed: true, maintenance: false,
      power: { onMethod: 'WakeOnLAN', offMethod: 'SSH', wakeOnLAN: { macAddress: '52:54:00:00:00:01', broadcastAddress: '10.255.255.255', port: 9 }, bootTimeoutSeconds: 600, shutdownTimeoutSeconds: 300 }, ...extra },
    ...(status ? { status } : {}),
  };
}

function vmp(domain: string, spec: Partial<VirtualMachinePlacement['spec']> = {}, status?: VirtualMachinePlacement['status']): VirtualMachinePlacement {
  return { apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachinePlacement', metadata: { name: domain, namespace: 'paper' }, spec: { domain, doNotMigrate: false, priority: 0, ...spec }, ...(status ? { status } : {}) };
}

function observed(name: string, domains: [string, number, ObservedHost['domains'][number]['state']?][], extra: Partial<ObservedHost> = {}): ObservedHost {
  return {
    name, reachable: true, powerState: 'on', observedAtMs: T0,
    cpuLoadPercent: domains.reduce((s, [, load]) => s + (load * 2) / 4, 0),
    domains: domains.map(([n, load, state]) => ({ name: n, state: state ?? 'running', vcpus: 2, memoryMiB: 1024, cpuLoadPercent: load })),
    ...extra,
  };
}

test('setCondition keeps lastTransitionTime while the status stays, moves it when it flips', () => {
  const a = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Running', message: 'ok' }, '2026-01-01T00:00:00Z');
  const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'Running', message: 'still ok' }, '2026-01-01T00:05:00Z');
  assert.equal(b[0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.equal(b[0]!.message, 'still ok');
  const c = setCondition(b, { type: 'Ready', status: 'False', reason: 'Off', message: 'off' }, '2026-01-01T00:10:00Z');
  assert.equal(c[0]!.lastTransitionTime, '2026-01-01T00:10:00Z');
  assert.equal(c.length, 1);
});

test('off-peak windows: same-day, across midnight, by weekday and time zone', () => {
  const night = [{ start: '22:00', end: '06:00' }];
  assert.equal(inOffPeakWindow(night, 'UTC', Date.parse('2026-11-25T23:30:00Z')), true);
  assert.equal(inOffPeakWindow(night, 'UTC', Date.parse('2026-11-25T05:59:00Z')), true);
  assert.equal(inOffPeakWindow(night, 'UTC', Date.parse('2026-11-25T06:00:00Z')), false);
  assert.equal(inOffPeakWindow(night, 'UTC', T0), false);
  // 12:00 UTC is 21:00 in Tokyo: outside 22:00–06:00 there, inside 20:00–23:00.
  assert.equal(inOffPeakWindow([{ start: '20:00', end: '23:00' }], 'Asia/Tokyo', T0), true);
  // Weekend only: the window that starts Sunday 22:00 still holds Monday 03:00, not Tuesday 03:00.
  const sunday = [{ start: '22:00', end: '06:00', days: ['Sun' as const] }];
  assert.equal(inOffPeakWindow(sunday, 'UTC', Date.parse('2026-11-30T03:00:00Z')), true);
  assert.equal(inOffPeakWindow(sunday, 'UTC', Date.parse('2026-12-01T03:00:00Z')), false);
});

test('plannerPolicy carries the paper defaults and allows consolidation only in a window', () => {
  const spec = {
    strategy: 'paper' as const, overloadThresholdPercent: 80, consolidationThresholdPercent: 80, balanceThresholdPercent: 10,
    evaluationInterval: '10m', evaluateOnOverload: true, minHostsOn: 1, maxConcurrentMigrations: 2, maxMigrationsPerRound: 20,
    migrationTimeout: '10m', migrationCooldown: '30m', powerCooldown: '30m', timeZone: 'UTC', dryRun: false,
  };
  const p = plannerPolicy(spec, T0);
  assert.equal(p.overloadThresholdPercent, 80);
  assert.equal(p.migrationCooldownMs, 1_800_000);
  assert.equal(p.consolidationAllowed, true);
  assert.equal(plannerPolicy({ ...spec, offPeakWindows: [{ start: '22:00', end: '06:00' }] }, T0).consolidationAllowed, false);
});

test('snapshot: unmanaged domains use capacity but never move; unreachable hosts are left out', () => {
  const hosts = [host('node100'), host('node200'), host('node300')];
  const obs = new Map([
    ['node100', observed('node100', [['vm-1', 80], ['vm-2', 40], ['stray', 20]])],
    ['node200', observed('node200', [['vm-5', 20]])],
    ['node300', { name: 'node300', reachable: false, powerState: 'unknown' as const, domains: [], observedAtMs: T0, error: 'connect ETIMEDOUT' }],
  ]);
  const { snapshot, excluded } = buildSnapshot({ nowMs: T0, hosts, placements: [vmp('vm-1'), vmp('vm-2', { pinnedHost: 'node100' }), vmp('vm-5')], observed: obs });
  assert.deepEqual(snapshot.hosts.map((h) => h.name), ['node100', 'node200']);
  assert.deepEqual(excluded, [{ host: 'node300', why: 'connect ETIMEDOUT' }]);
  const stray = snapshot.vms.find((v) => v.name === 'stray')!;
  assert.equal(stray.doNotMigrate, true);
  assert.equal(snapshot.vms.find((v) => v.name === 'vm-2')!.pinnedHost, 'node100');
  assert.equal(snapshot.vms.find((v) => v.name === 'vm-1')!.doNotMigrate, false);
});

test('snapshot: a host without a way back on is never a standby candidate; a migrating VM does not move', () => {
  const noWake = host('node100', { power: { onMethod: 'None', offMethod: 'SSH', bootTimeoutSeconds: 600, shutdownTimeoutSeconds: 300 } });
  const running: MigrationRecord = { id: 'm1', phase: 'Running', from: 'node100', to: 'node200', reason: 'Balance', message: '', startedAt: new Date(T0).toISOString() };
  const { snapshot } = buildSnapshot({
    nowMs: T0, hosts: [noWake], placements: [vmp('vm-1', {}, { migration: running })],
    observed: new Map([['node100', observed('node100', [['vm-1', 10]])]]),
  });
  assert.equal(snapshot.hosts[0]!.standbyAllowed, false);
  assert.equal(snapshot.vms[0]!.doNotMigrate, true);
});

test('interrupted migrations settle from where the VM is found', () => {
  const record: MigrationRecord = { id: 'm1', phase: 'Running', from: 'node100', to: 'node200', reason: 'Balance', message: 'x', startedAt: new Date(T0 - 5000).toISOString() };
  const onTarget = new Map([['node100', observed('node100', [])], ['node200', observed('node200', [['vm-2', 40]])]]);
  assert.deepEqual(settleMigration('vm-2', record, onTarget, T0, 600_000), { settle: true, phase: 'Succeeded', why: 'found running on node200 after the operator restarted', runningOn: 'node200' });
  const onSource = new Map([['node100', observed('node100', [['vm-2', 40]])], ['node200', observed('node200', [])]]);
  const v = settleMigration('vm-2', record, onSource, T0, 600_000);
  assert.equal(v.settle && v.phase, 'Failed');
  assert.equal(v.settle && v.runningOn, 'node100');
  const inFlight = new Map([['node100', observed('node100', [['vm-2', 40]])], ['node200', observed('node200', [['vm-2', 0, 'paused']])]]);
  assert.equal(settleMigration('vm-2', record, inFlight, T0, 600_000).settle, false);
  const blind = new Map([['node100', { ...observed('node100', []), reachable: false }], ['node200', observed('node200', [])]]);
  assert.equal(settleMigration('vm-2', record, blind, T0, 600_000).settle, false);
});

test('an interrupted power-off never counts as done while a VM runs on the host', () => {
  const off: PowerActionRecord = { id: 'p1', type: 'PowerOff', phase: 'Running', reason: 'EmptyHost', message: '', startedAt: new Date(T0 - 1000).toISOString() };
  const v = settlePowerAction(off, observed('node100', [['vm-1', 5]]), T0, 300_000);
  assert.equal(v.settle && v.phase, 'Failed');
  assert.equal(settlePowerAction(off, { ...observed('node100', []), powerState: 'off', reachable: false }, T0, 300_000).settle && 'ok', 'ok');
  const on: PowerActionRecord = { ...off, type: 'PowerOn' };
  assert.equal(settlePowerAction(on, { ...observed('node100', []), reachable: false, powerState: 'unknown' }, T0, 300_000).settle, false);
  const late = settlePowerAction(on, { ...observed('node100', []), reachable: false, powerState: 'unknown' }, T0 + 400_000, 300_000);
  assert.equal(late.settle && late.phase, 'Failed');
});

test('host status: unreachable after a Tide power-off reads Off and Standby, with conditions', () => {
  const h = host('node100', {}, { powerAction: { id: 'p', type: 'PowerOff', phase: 'Succeeded', reason: 'EmptyHost', message: 'emptied by consolidation', startedAt: new Date(T0).toISOString() } });
  const obs: ObservedHost = { name: 'node100', reachable: false, powerState: 'unknown', domains: [], observedAtMs: T0 };
  assert.equal(effectivePowerState(h, obs), 'Off');
  const status = hostStatus(h, obs, 80, new Date(T0).toISOString());
  const standby = status.conditions!.find((c) => c.type === 'Standby')!;
  assert.equal(standby.status, 'True');
  assert.equal(standby.reason, 'PoweredOffByTide');
  const busy = hostStatus(host('node200'), observed('node200', [['a', 100], ['b', 100]]), 80, new Date(T0).toISOString());
  assert.equal(busy.cpuLoadPercent, 100);
  assert.equal(busy.conditions!.find((c) => c.type === 'Overloaded')!.status, 'True');
  assert.deepEqual(busy.vms, ['a', 'b']);
});

test('snapshot: a host Tide powered off, now unreachable, is off and may be woken', () => {
  const off = host('node200', {}, { powerAction: { id: 'p', type: 'PowerOff', phase: 'Succeeded', reason: 'EmptyHost', message: '', startedAt: new Date(T0).toISOString() } });
  const { snapshot, excluded } = buildSnapshot({
    nowMs: T0, hosts: [host('node100'), off], placements: [],
    observed: new Map([
      ['node100', observed('node100', [['a', 90]])],
      ['node200', { name: 'node200', reachable: false, powerState: 'unknown' as const, domains: [], observedAtMs: T0, error: 'Connection lost before handshake' }],
    ]),
  });
  assert.deepEqual(excluded, []);
  assert.equal(snapshot.hosts.find((h) => h.name === 'node200')!.powerState, 'off');
});
