/**
 * Issue 14 items 1 and 3, the pure parts: maintenance and powerPolicy in the snapshot and the
 * plan, the Evacuated condition (evacuation.ts), and the last look before a power action
 * (preflight.ts). End to end through kubectl: test/realkube/host-evacuation.test.ts; with real
 * guests: test/e2e-lab/host-evacuation.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ObservedHost } from '../../src/api/drivers.ts';
import type { ConsolidationPolicy, PhysicalHost, VirtualMachinePlacement } from '../../src/api/types.ts';
import { evacuationVerdict, type PolicyState } from '../../src/controller/evacuation.ts';
import { plannerPolicy } from '../../src/controller/policy.ts';
import { refuseMigration, refusePowerOff, refusePowerOn } from '../../src/controller/preflight.ts';
import { buildSnapshot } from '../../src/controller/snapshot.ts';
import { plan } from '../../src/planner/plan.ts';
import type { PowerOffAction, PowerOnAction } from '../../src/planner/types.ts';

const T0 = Date.parse('2026-11-25T12:00:00Z');
const ACTIVE: PolicyState = { kind: 'active', name: 'default', governs: true };
type Spec = PhysicalHost['spec'];

function host(name: string, spec: Partial<Spec> = {}): PhysicalHost {
  return {
    apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: { name, generation: 1, uid: `uid-${name}` },
    spec: {
      address: name, capacity: { cpuCores: 4, memoryMiB: 16384 }, standbyAllowed: true, maintenance: false,
      power: { onMethod: 'WakeOnLAN', offMethod: 'SSH', wakeOnLAN: { macAddress: '52:54:00:00:00:01', broadcastAddress: '255.255.255.255', port: 9 }, bootTimeoutSeconds: 600, shutdownTimeoutSeconds: 300 },
      ...spec,
    },
  };
}

const vmp = (domain: string, spec: Partial<VirtualMachinePlacement['spec']> = {}): VirtualMachinePlacement => ({
  apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachinePlacement', metadata: { name: domain, namespace: 'lab', generation: 1 },
  spec: { domain, doNotMigrate: false, priority: 0, ...spec },
});

function seen(name: string, domains: string[], powerState: ObservedHost['powerState'] = 'on', memoryMiB = 1024): ObservedHost {
  return {
    name, reachable: powerState === 'on', powerState, observedAtMs: T0, cpuLoadPercent: 5,
    domains: domains.map((d) => ({ name: d, state: 'running', vcpus: 1, memoryMiB, cpuLoadPercent: 10 })),
  };
}

function policy(spec: Partial<ConsolidationPolicy['spec']> = {}): ConsolidationPolicy {
  return {
    apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: { name: 'default', generation: 1, uid: 'p1' },
    spec: {
      strategy: 'paper', overloadThresholdPercent: 80, consolidationThresholdPercent: 80, balanceThresholdPercent: 10, evaluationInterval: '10m',
      evaluateOnOverload: true, minHostsOn: 1, maxConcurrentMigrations: 2, maxMigrationsPerRound: 20, migrationTimeout: '10m',
      migrationCooldown: '30m', powerCooldown: '30m', timeZone: 'UTC', dryRun: false, ...spec,
    },
  };
}

function planFor(hosts: PhysicalHost[], observed: ObservedHost[], placements: VirtualMachinePlacement[], p = policy()) {
  const { snapshot } = buildSnapshot({ nowMs: T0, hosts, placements, observed: new Map(observed.map((o) => [o.name, o])) });
  return { snapshot, plan: plan(snapshot, plannerPolicy(p.spec, T0)) };
}

const moves = (p: ReturnType<typeof plan>) => p.actions.map((a) => (a.type === 'migrate' ? `${a.vm}→${a.to}` : `${a.type} ${'host' in a ? a.host : ''} ${a.reason}`));

test('maintenance: every movable VM leaves, pinned and doNotMigrate stay, the host is not powered', () => {
  const hosts = [host('a'), host('b', { maintenance: true })];
  const placements = [vmp('vm-1'), vmp('vm-2', { pinnedHost: 'b' }), vmp('vm-3', { doNotMigrate: true }), vmp('vm-4')];
  const { snapshot, plan: p } = planFor(hosts, [seen('a', []), seen('b', ['vm-1', 'vm-2', 'vm-3', 'vm-4'])], placements);
  assert.deepEqual(snapshot.hosts.map((h) => [h.name, h.evacuate ?? false, h.keepOff ?? false]), [['a', false, false], ['b', true, false]]);
  assert.deepEqual(moves(p), ['vm-1→a', 'vm-4→a']);
  assert.deepEqual(p.evacuations![0]!.staying.map((s) => s.vm), ['vm-2', 'vm-3']);
});

test('Evacuated: False while VMs can still leave, True naming those that cannot (pinned, doNotMigrate, no room), with the progress', () => {
  const h = host('b', { maintenance: true });
  const placements = [vmp('vm-1'), vmp('vm-2', { pinnedHost: 'b' }), vmp('vm-3', { doNotMigrate: true }), vmp('vm-4')];
  const observed = seen('b', ['vm-1', 'vm-2', 'vm-3', 'vm-4', 'stray']);
  const moving = evacuationVerdict({ host: h, observed, placements, policy: ACTIVE, evacuation: { host: 'b', moving: ['vm-1', 'vm-4'], staying: [] } });
  assert.deepEqual([moving.evacuated.status, moving.evacuated.reason], ['False', 'Evacuating']);
  assert.match(moving.evacuated.message, /^2 VMs still to move; cannot move: vm-2 \(pinned to b\), vm-3 \(doNotMigrate\); stray runs there without a VirtualMachinePlacement/);
  assert.deepEqual(moving.progress, { vmsLeft: 4, movable: 2, cannotMove: [{ vm: 'vm-2', reason: 'pinned to b' }, { vm: 'vm-3', reason: 'doNotMigrate' }], unmanaged: ['stray'] });

  const full = evacuationVerdict({
    host: h, observed: seen('b', ['vm-2', 'vm-3', 'vm-4']), placements, policy: ACTIVE,
    evacuation: { host: 'b', moving: [], staying: [{ vm: 'vm-4', why: 'no room: no host on takes vm-4 (1 vCPUs, 1024 MiB) …' }] },
  });
  assert.deepEqual([full.evacuated.status, full.evacuated.reason, full.warning], ['True', 'NoMovableVMs', true]);
  assert.equal(full.evacuated.message, 'no VM that can move is left; vm-2 (pinned to b), vm-3 (doNotMigrate), vm-4 (no room) cannot move');

  const empty = evacuationVerdict({ host: h, observed: seen('b', []), placements, policy: { kind: 'none' } });
  assert.deepEqual([empty.evacuated.status, empty.evacuated.message, empty.warning], ['True', 'no VM Tide manages is left', false]);
  const noPolicy = evacuationVerdict({ host: h, observed, placements, policy: { kind: 'none' } });
  assert.deepEqual([noPolicy.evacuated.status, noPolicy.evacuated.reason], ['False', 'NoPolicy']);
  const dry = evacuationVerdict({ host: h, observed, placements, policy: { kind: 'dry-run', name: 'default', governs: true } });
  assert.equal(dry.evacuated.reason, 'DryRun');
  const unknown = evacuationVerdict({ host: h, observed: { ...seen('b', []), reachable: false, error: 'ssh: timeout' }, placements, policy: ACTIVE });
  assert.deepEqual([unknown.evacuated.status, unknown.evacuated.reason, unknown.progress], ['False', 'NotObservable', undefined]);
  const off = evacuationVerdict({ host: h, observed: seen('b', [], 'off'), placements, policy: ACTIVE });
  assert.deepEqual([off.evacuated.status, off.evacuated.reason], ['True', 'HostOff']);
});

test('powerPolicy Off: evacuated, then powered off in the same plan once nothing is left — never with a VM on it, never woken', () => {
  // standbyAllowed false and minHostsOn 2: neither holds an administrator's Off.
  const strict = policy({ minHostsOn: 2 });
  const b = host('b', { powerPolicy: 'Off', standbyAllowed: false });
  const both = planFor([host('a'), b], [seen('a', []), seen('b', ['vm-1', 'vm-2'])], [vmp('vm-1'), vmp('vm-2')], strict);
  assert.deepEqual(moves(both.plan), ['vm-1→a', 'vm-2→a', 'power-off b PowerPolicyOff']);
  assert.deepEqual(both.snapshot.hosts.find((h) => h.name === 'b')?.keepOff, true);

  const pinned = planFor([host('a'), b], [seen('a', []), seen('b', ['vm-1', 'vm-2'])], [vmp('vm-1'), vmp('vm-2', { pinnedHost: 'b' })], strict);
  assert.deepEqual(moves(pinned.plan), ['vm-1→a'], 'a pinned VM keeps it on');
  const stray = planFor([host('a'), b], [seen('a', []), seen('b', ['stray'])], [], strict);
  assert.deepEqual(moves(stray.plan), [], 'a VM Tide does not manage keeps it on too');
  assert.match(stray.plan.summary, /b \(powerPolicy Off\) stays on while stray runs there/);

  // Off and overloaded elsewhere: b is not woken (the plan alerts instead).
  const busy = planFor([host('a'), b], [{ ...seen('a', ['vm-1', 'vm-2'], 'on', 1024), cpuLoadPercent: 95 }, seen('b', [], 'off')], [vmp('vm-1'), vmp('vm-2')]);
  assert.ok(!busy.plan.actions.some((a) => a.type === 'power-on'), moves(busy.plan).join(', '));
});

test('powerPolicy AlwaysOn: never put in standby whatever standbyAllowed says, and woken when off', () => {
  const idle = planFor([host('a'), host('b', { powerPolicy: 'AlwaysOn' })], [seen('a', ['vm-1']), seen('b', ['vm-2'])], [vmp('vm-1'), vmp('vm-2')]);
  assert.ok(!idle.plan.actions.some((a) => a.type === 'power-off' && a.host === 'b'), moves(idle.plan).join(', '));
  assert.equal(idle.snapshot.hosts.find((h) => h.name === 'b')?.standbyAllowed, false);
  const off = planFor([host('a'), host('b', { powerPolicy: 'AlwaysOn' })], [seen('a', ['vm-1']), seen('b', [], 'off')], [vmp('vm-1')]);
  assert.deepEqual(moves(off.plan), ['power-on b StandbyNotAllowed']);
  // Maintenance wins over AlwaysOn: a host in maintenance is not powered on.
  const kept = planFor([host('a'), host('b', { powerPolicy: 'AlwaysOn', maintenance: true })], [seen('a', ['vm-1']), seen('b', [], 'off')], [vmp('vm-1')]);
  assert.deepEqual(moves(kept.plan), []);
});

test('the last look: an ordered power-off needs Off still set; AlwaysOn stops a standby; Off stops a wake and an arrival', () => {
  const fresh = { policy: policy(), planPolicyUid: 'p1' };
  const ordered: PowerOffAction = { type: 'power-off', host: 'b', reason: 'PowerPolicyOff', message: '' };
  const standby: PowerOffAction = { ...ordered, reason: 'EmptyHost' };
  const wake: PowerOnAction = { type: 'power-on', host: 'b', reason: 'Overloaded', message: '' };
  assert.equal(refusePowerOff(ordered, { ...fresh, host: host('b', { powerPolicy: 'Off', maintenance: true, standbyAllowed: false }) }, T0), undefined);
  assert.match(refusePowerOff(ordered, { ...fresh, host: host('b', { powerPolicy: 'Auto' }) }, T0)!, /no longer Off/);
  assert.match(refusePowerOff(standby, { ...fresh, host: host('b', { powerPolicy: 'AlwaysOn' }) }, T0)!, /powerPolicy was set to AlwaysOn/);
  assert.match(refusePowerOn(wake, { ...fresh, host: host('b', { powerPolicy: 'Off' }) })!, /kept off/);
  const move = { type: 'migrate' as const, vm: 'vm-1', from: 'a', to: 'b', reason: 'Balance' as const, message: '' };
  assert.match(refuseMigration(move, { ...fresh, placement: vmp('vm-1'), target: host('b', { powerPolicy: 'Off' }) })!, /kept off/);
});
