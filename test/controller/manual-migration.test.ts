/**
 * VirtualMachineMigration, the pure parts (manual-migrations.ts): what fails at once, what waits,
 * what the placement's migration record says, and that the planner leaves a moved VM where it was
 * put. End to end through kubectl on both API servers: test/realkube/manual-migration.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ObservedHost } from '../../src/api/drivers.ts';
import type { ConsolidationPolicy, MigrationRecord, PhysicalHost, VirtualMachineMigration, VirtualMachinePlacement } from '../../src/api/types.ts';
import { fromRecord, precheck, statusFor } from '../../src/controller/manual-migrations.ts';
import { plannerPolicy } from '../../src/controller/policy.ts';
import { buildSnapshot } from '../../src/controller/snapshot.ts';
import { plan } from '../../src/planner/plan.ts';

const T0 = Date.parse('2026-11-29T12:00:00Z');
const NOW = new Date(T0).toISOString();

const vmm = (spec: VirtualMachineMigration['spec']): VirtualMachineMigration => ({
  apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachineMigration', metadata: { name: 'move-it', namespace: 'lab', uid: 'uid-1', generation: 1 }, spec,
});
const vmp = (name: string, spec: Partial<VirtualMachinePlacement['spec']> = {}, migration?: MigrationRecord): VirtualMachinePlacement => ({
  apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachinePlacement', metadata: { name, namespace: 'lab', uid: `p-${name}` },
  spec: { domain: name, doNotMigrate: false, priority: 0, ...spec }, ...(migration ? { status: { migration } } : {}),
});
const ph = (name: string, maintenance = false): PhysicalHost => ({
  apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: { name },
  spec: { address: name, capacity: { cpuCores: 4, memoryMiB: 16384 }, standbyAllowed: false, maintenance },
});
const policy = (spec: Partial<ConsolidationPolicy['spec']> = {}): ConsolidationPolicy => ({
  apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: { name: 'default' },
  spec: {
    strategy: 'paper', overloadThresholdPercent: 80, consolidationThresholdPercent: 80, balanceThresholdPercent: 10, evaluationInterval: '10m',
    evaluateOnOverload: true, minHostsOn: 1, maxConcurrentMigrations: 2, maxMigrationsPerRound: 20, migrationTimeout: '10m',
    migrationCooldown: '30m', powerCooldown: '30m', timeZone: 'UTC', dryRun: false, ...spec,
  },
});
const record = (extra: Partial<MigrationRecord> = {}): MigrationRecord => ({
  id: 'vm-1-x', phase: 'Succeeded', from: 'a', to: 'b', reason: 'Manual', message: 'migrate vm-1 a→b', startedAt: NOW, completedAt: NOW, durationSeconds: 4.2, requestedBy: 'uid-1', ...extra,
});

test('fails at once what can never run, waits for what passes, and asks the planner otherwise', () => {
  const ctx = { policy: policy(), hosts: [ph('a'), ph('b'), ph('m', true)] };
  const verdict = (spec: VirtualMachineMigration['spec'], placement: VirtualMachinePlacement | undefined, c = ctx) => {
    const v = precheck(vmm(spec), placement, c);
    return v && [v.phase, v.reason];
  };
  assert.deepEqual(verdict({ placement: 'vm-9' }, undefined), ['Failed', 'PlacementNotFound']);
  assert.match(precheck(vmm({ placement: 'vm-9' }), undefined, ctx)!.message, /VirtualMachinePlacement lab\/vm-9 does not exist/);
  assert.deepEqual(verdict({ placement: 'vm-1' }, vmp('vm-1', { doNotMigrate: true })), ['Failed', 'DoNotMigrate']);
  assert.deepEqual(verdict({ placement: 'vm-1', targetHost: 'b' }, vmp('vm-1', { pinnedHost: 'a' })), ['Failed', 'Pinned']);
  assert.equal(verdict({ placement: 'vm-1', targetHost: 'a' }, vmp('vm-1', { pinnedHost: 'a' })), undefined, 'to its own pinned host it may go');
  assert.deepEqual(verdict({ placement: 'vm-1', targetHost: 'z' }, vmp('vm-1')), ['Failed', 'TargetNotFound']);
  assert.deepEqual(verdict({ placement: 'vm-1', targetHost: 'm' }, vmp('vm-1')), ['Failed', 'TargetInMaintenance']);
  assert.deepEqual(verdict({ placement: 'vm-1' }, vmp('vm-1'), { ...ctx, policy: undefined as never }), ['Pending', 'NoPolicy']);
  assert.deepEqual(verdict({ placement: 'vm-1' }, vmp('vm-1'), { ...ctx, policy: policy({ dryRun: true }) }), ['Pending', 'DryRun']);
  assert.deepEqual(verdict({ placement: 'vm-1' }, vmp('vm-1', {}, record({ phase: 'Running', requestedBy: undefined }))), ['Pending', 'VMBusy']);
  assert.equal(verdict({ placement: 'vm-1', targetHost: 'b' }, vmp('vm-1')), undefined);
});

test("a request's Running, Succeeded and Failed are read off its own migration record only", () => {
  const request = vmm({ placement: 'vm-1' });
  assert.equal(fromRecord(request, vmp('vm-1', {}, record({ requestedBy: 'someone-else' }))), undefined);
  assert.equal(fromRecord(request, vmp('vm-1', {}, record({ requestedBy: undefined }))), undefined);
  const running = fromRecord(request, vmp('vm-1', {}, record({ phase: 'Running', completedAt: undefined, durationSeconds: undefined })))!;
  assert.deepEqual([running.phase, running.fields?.migrationId, running.fields?.targetHost], ['Running', 'vm-1-x', 'b']);
  const done = fromRecord(request, vmp('vm-1', {}, record()))!;
  assert.deepEqual([done.phase, done.reason, done.message], ['Succeeded', 'Migrated', 'a→b in 4.2 s']);
  const failed = fromRecord(request, vmp('vm-1', {}, record({ phase: 'Failed', error: 'interrupted' })))!;
  assert.deepEqual([failed.phase, failed.message], ['Failed', 'a→b failed: interrupted']);

  const status = statusFor(undefined, done, NOW, 1);
  assert.deepEqual([status.phase, status.sourceHost, status.durationSeconds, status.completedAt], ['Succeeded', 'a', 4.2, NOW]);
  assert.deepEqual(status.conditions!.map((c) => [c.type, c.status, c.reason]), [['Succeeded', 'True', 'Migrated']]);
  assert.equal(statusFor(undefined, { phase: 'Pending', reason: 'NoPolicy', message: '…' }, NOW).conditions![0]!.status, 'Unknown');
});

test('the planner does not move a VM back within its cooldown after a requested migration', () => {
  // vm-1 was asked onto b a minute ago; b is now far more loaded than a, so balancing wants to
  // move something back — anything but vm-1.
  const seen = (name: string, domains: [string, number][]): ObservedHost => ({
    name, reachable: true, powerState: 'on', observedAtMs: T0, cpuLoadPercent: 0,
    domains: domains.map(([d, load]) => ({ name: d, state: 'running', vcpus: 2, memoryMiB: 1024, cpuLoadPercent: load })),
  });
  const minuteAgo = new Date(T0 - 60_000).toISOString();
  const placements = [vmp('vm-1', {}, record({ startedAt: minuteAgo, completedAt: minuteAgo })), vmp('vm-2'), vmp('vm-3')];
  const observed = new Map([['a', seen('a', [])], ['b', seen('b', [['vm-1', 90], ['vm-2', 60], ['vm-3', 60]])]]);
  const { snapshot } = buildSnapshot({ nowMs: T0, hosts: [ph('a'), ph('b')], placements, observed });
  const moves = plan(snapshot, plannerPolicy(policy().spec, T0)).actions.filter((a) => a.type === 'migrate').map((a) => a.type === 'migrate' && a.vm);
  assert.ok(moves.length > 0, 'balancing moves something');
  assert.ok(!moves.includes('vm-1'), `vm-1 stays: ${moves.join(', ')}`);
  // Without the record, vm-1 (the heaviest) is the one balancing would move.
  const { snapshot: unmarked } = buildSnapshot({ nowMs: T0, hosts: [ph('a'), ph('b')], placements: [vmp('vm-1'), vmp('vm-2'), vmp('vm-3')], observed });
  assert.ok(plan(unmarked, plannerPolicy(policy().spec, T0)).actions.some((a) => a.type === 'migrate' && a.vm === 'vm-1'));
});

/** A ManualMigrations over an in-memory API server and an executor that "migrates" at once. */
async function fakeRound() {
  const { ManualMigrations } = await import('../../src/controller/manual-migrations.ts');
  const { silentLogger } = await import('../../src/controller/log.ts');
  const objects = new Map<string, any>();
  const key = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ''}/${name}`;
  const put = (o: any) => objects.set(key(o.kind, o.metadata.namespace, o.metadata.name), structuredClone(o));
  const get = (kind: string, name: string, namespace = 'lab') => objects.get(key(kind, namespace, name));
  const events: string[] = [];
  const writer = {
    async read(ref: any) { return structuredClone(objects.get(key(ref.def.kind, ref.namespace, ref.name))); },
    async updateStatus(ref: any, mutate: any) { const o = objects.get(key(ref.def.kind, ref.namespace, ref.name)); o.status = mutate(structuredClone(o.status ?? {}), o); },
    async recordEvent(ref: any, _type: string, reason: string) { events.push(`${ref.name}:${reason}`); },
    async readSecret() { return {}; },
  };
  const ran: string[] = [];
  const executor = {
    async execute(input: any) {
      return input.plan.actions.map((action: any) => {
        ran.push(`${action.vm}→${action.to}`);
        const p = input.placementByDomain.get(action.vm);
        get('VirtualMachinePlacement', p.metadata.name, p.metadata.namespace).status = { migration: record({ from: action.from, to: action.to, requestedBy: action.requestUid }) };
        return { id: 'x', action, result: 'succeeded', detail: '', startedAtMs: T0, durationMs: 1 };
      });
    },
  };
  const manual = new ManualMigrations({ clock: { now: () => T0 } as never, writer: writer as never, log: silentLogger, executor: executor as never });
  const seen = (name: string, domains: string[]): ObservedHost => ({
    name, reachable: true, powerState: 'on', observedAtMs: T0, cpuLoadPercent: 0, domains: domains.map((d) => ({ name: d, state: 'running', vcpus: 1, memoryMiB: 512, cpuLoadPercent: 0 })),
  });
  const hosts = [ph('a'), ph('b')];
  const round = (migrations: VirtualMachineMigration[], placements: VirtualMachinePlacement[], p = policy({ maxConcurrentMigrations: 1 })) => {
    [...migrations, ...placements].filter((o) => !get(o.kind, o.metadata.name, o.metadata.namespace)).forEach(put);
    // The managed placements: the oldest claim of each domain (claims.ts); here, the first listed.
    const managed = placements.filter((x, i) => placements.findIndex((y) => y.spec.domain === x.spec.domain) === i);
    const { snapshot, placementByDomain } = buildSnapshot({ nowMs: T0, hosts, placements: managed, observed: new Map([['a', seen('a', ['vm-1', 'vm-2'])], ['b', seen('b', [])]]) });
    return manual.round({ migrations, placements, hosts, policy: p, snapshot, plannerPolicy: plannerPolicy(p.spec, T0), targets: new Map(), placementByDomain });
  };
  return { round, get, events, ran };
}

const request = (vm: string, i = 0, namespace = 'lab'): VirtualMachineMigration => ({
  ...vmm({ placement: vm, targetHost: 'b' }),
  metadata: { name: `move-${vm}`, namespace, uid: `uid-${namespace}-${vm}`, creationTimestamp: `2026-11-29T11:00:0${i}Z` },
});

test('a round runs open requests through the executor up to maxConcurrentMigrations, and never runs one the API server shows finished', async () => {
  const { round, get, events, ran } = await fakeRound();
  const requests = [request('vm-1', 0), request('vm-2', 1)];
  const results = await round(requests, [vmp('vm-1'), vmp('vm-2')]);
  assert.deepEqual(ran, ['vm-1→b'], 'one slot: one migration');
  assert.equal(results.length, 1);
  assert.deepEqual([get('VirtualMachineMigration', 'move-vm-1').status.phase, get('VirtualMachineMigration', 'move-vm-2').status.reason], ['Succeeded', 'WaitingForSlot']);
  assert.deepEqual(events, ['move-vm-2:WaitingForSlot', 'move-vm-1:Migrated']);

  // The cache still shows move-vm-1 open (its status as it was): the API server says finished.
  await round([requests[0]!], [vmp('vm-1'), vmp('vm-2')], policy({ maxConcurrentMigrations: 2 }));
  assert.deepEqual(ran, ['vm-1→b'], 'move-vm-1 did not run again');
});

test("a namespace cannot move, through a placement of its own, a VM another namespace's placement claimed first", async () => {
  const { round, get, ran } = await fakeRound();
  const owner = vmp('vm-1');
  const intruder = { ...vmp('vm-1'), metadata: { name: 'vm-1', namespace: 'other', uid: 'p-other' } };
  await round([request('vm-1', 0, 'other')], [owner, intruder]);
  assert.deepEqual(ran, []);
  const refused = get('VirtualMachineMigration', 'move-vm-1', 'other').status;
  assert.deepEqual([refused.phase, refused.reason, refused.message], ['Failed', 'Conflict', 'vm-1 is claimed by VirtualMachinePlacement lab/vm-1']);
});
