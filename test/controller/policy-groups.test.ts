/**
 * Issue 13 items 4 and 5, the pure parts: which policy governs which host (policy-groups.ts),
 * the conditions a shared host raises, the label selectors of `--policy-selector` and the Lease
 * each selector elects on. End to end on both API servers: test/realkube/several-policies.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConsolidationPolicy, PhysicalHost } from '../../src/api/types.ts';
import { canonicalSelector, parseLabelSelector } from '../../src/api/label-selector.ts';
import { leaseNameFor } from '../../src/controller/leader-election.ts';
import { hostsOverlapCondition, policyScope, withPolicyConflict } from '../../src/controller/policy-groups.ts';
import { policySelectorFlag, leaderElectionIdFlag } from '../../src/cli/operator-flags.ts';
import { CONSOLIDATION_POLICY, PHYSICAL_HOST, specWithDefaults, VIRTUAL_MACHINE_PLACEMENT } from '../../src/api/crds.ts';
import type { ConsolidationPolicyStatus, PhysicalHostStatus, PowerActionRecord, VirtualMachinePlacement } from '../../src/api/types.ts';
import { Reconciler } from '../../src/controller/reconciler.ts';
import { precheck } from '../../src/controller/manual-migrations.ts';
import { plan } from '../../src/planner/plan.ts';
import { host as snapshotHost, snapshot, vm } from '../planner/fixtures.ts';
import { hostObject, MemoryWriter, ModelHypervisor, placementObject, quietLog, RecordingPower, T0, testClock } from './executor-world.ts';

const NOW = '2026-11-29T12:00:00.000Z';

const host = (name: string, labels: Record<string, string> = {}): PhysicalHost => ({
  apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: { name, labels },
  spec: { address: name, capacity: { cpuCores: 4, memoryMiB: 8192 }, standbyAllowed: true, maintenance: false },
});

const policy = (name: string, createdAt: string, matchLabels?: Record<string, string>): ConsolidationPolicy => ({
  apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: { name, creationTimestamp: createdAt },
  spec: { ...(matchLabels ? { hostSelector: { matchLabels } } : {}) } as ConsolidationPolicy['spec'],
});

test('each host goes to the one policy that selects it; a host two select goes to none and is named on both', () => {
  const hosts = [host('a1', { rack: 'a' }), host('a2', { rack: 'a' }), host('b1', { rack: 'b', row: '2' }), host('s1', { rack: 'a', row: '2' }), host('x1', { rack: 'x' })];
  const a = policy('rack-a', '2026-01-02T00:00:00Z', { rack: 'a' });
  const b = policy('row-2', '2026-01-01T00:00:00Z', { row: '2' });
  const scope = policyScope([a, b], hosts, false);
  assert.deepEqual(scope.groups.map((g) => g.policy.metadata.name), ['row-2', 'rack-a'], 'the oldest first');
  assert.deepEqual(scope.groups.map((g) => g.hosts.map((h) => h.metadata.name)), [['b1'], ['a1', 'a2']]);
  assert.deepEqual([...scope.overlaps], [['s1', ['row-2', 'rack-a']]]);
  assert.deepEqual(scope.hosts.map((h) => h.metadata.name), ['a1', 'a2', 'b1', 's1'], 'x1 is no policy\'s: not observed');
  assert.equal(scope.policyOf.get('a1'), a);
  assert.equal(scope.policyOf.get('s1'), undefined);

  const onA = hostsOverlapCondition(scope.groups[1]!);
  assert.deepEqual([onA.status, onA.reason], ['True', 'HostsSelectedByOtherPolicies']);
  assert.match(onA.message, /1 host it selects is selected by another policy too.*s1 \(also ConsolidationPolicy row-2\)/);
  const alone = hostsOverlapCondition(policyScope([a], hosts, false).groups[0]!);
  assert.deepEqual([alone.status, alone.reason], ['False', 'NoOverlap']);

  const conflicted = withPolicyConflict({}, scope.overlaps.get('s1'), NOW);
  const c = conflicted.conditions!.find((x) => x.type === 'PolicyConflict')!;
  assert.deepEqual([c.status, c.reason], ['True', 'SelectedBySeveralPolicies']);
  assert.match(c.message, /selected by ConsolidationPolicies row-2, rack-a: no policy governs this host/);
  assert.equal(withPolicyConflict(conflicted, undefined, NOW).conditions!.length, 0, 'gone once one policy selects it');
});

test('without any policy the only instance observes every host; one with a selector observes none', () => {
  const hosts = [host('a1'), host('b1')];
  assert.equal(policyScope([], hosts, true).hosts.length, 2);
  assert.equal(policyScope([], hosts, false).hosts.length, 0);
  const all = policyScope([policy('all', '2026-01-01T00:00:00Z')], hosts, false);
  assert.equal(all.groups[0]!.hosts.length, 2, 'no hostSelector selects every host');
});

test('label selectors: =, ==, !=, in, notin, exists, !exists; bad ones are named', () => {
  const labels = { team: 'a', rack: 'r1', tier: 'prod' };
  const yes = ['team=a', 'team==a', 'team!=b', 'rack in (r1, r2)', 'rack notin (r3)', 'tier', '!legacy', 'team=a,rack in (r1),!legacy', ''];
  const no = ['team=b', 'team!=a', 'rack in (r2)', 'rack notin (r1,r2)', 'missing', '!tier', 'team=a,rack=r2'];
  for (const s of yes) assert.equal(parseLabelSelector(s)(labels), true, s);
  for (const s of no) assert.equal(parseLabelSelector(s)(labels), false, s);
  assert.equal(parseLabelSelector('team!=a')(undefined), true, 'an object without labels');
  assert.throws(() => parseLabelSelector('team=a,'), /label selector 'team=a,': cannot parse ''/);
  assert.throws(() => parseLabelSelector('team=(a)'), /cannot parse 'team=\(a\)'/);
  assert.throws(() => policySelectorFlag('a b'), /--policy-selector: label selector 'a b'/);
  assert.equal(policySelectorFlag(' '), undefined, 'empty: every policy');
  assert.throws(() => leaderElectionIdFlag('Tide_A'), /--leader-election-id: 'Tide_A' is not a valid Lease name/);
});

test('one Lease per selector: equal selectors name the same Lease, others another, none the old one', () => {
  assert.equal(leaseNameFor(undefined), 'tide-operator');
  assert.equal(canonicalSelector('team = a, rack in (r1,r2)'), 'rack in (r1,r2),team=a');
  assert.equal(leaseNameFor('team=a,rack=r1'), leaseNameFor('rack=r1, team=a'));
  assert.notEqual(leaseNameFor('team=a'), leaseNameFor('team=b'));
  assert.match(leaseNameFor('team=a'), /^tide-operator-[0-9a-f]{10}$/);
});

/**
 * Two racks, two policies (team=a, team=b); b1 carries a power-on record long past its boot
 * timeout, as one the other instance may still be carrying out looks to anyone else.
 */
function twoRacks() {
  const s = snapshot([snapshotHost('a1'), snapshotHost('b1')], [vm('va', 'a1', 10), vm('vb', 'b1', 10)]);
  const record: PowerActionRecord = { id: 'p-b1', type: 'PowerOn', phase: 'Running', reason: 'Overload', message: '', startedAt: new Date(T0 - 3_600_000).toISOString() };
  const [a1, b1] = s.hosts.map(hostObject) as [PhysicalHost, PhysicalHost];
  a1.metadata.labels = { rack: 'a' };
  b1.metadata.labels = { rack: 'b' };
  b1.status = { powerAction: record };
  const placements = s.vms.map(placementObject);
  const policyOf = (name: string, team: string, rack: string): ConsolidationPolicy => ({
    apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: { name, uid: `uid-${name}`, generation: 1, labels: { team }, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: specWithDefaults(CONSOLIDATION_POLICY, { hostSelector: { matchLabels: { rack } } }) as ConsolidationPolicy['spec'],
  });
  const policies = [policyOf('rack-a', 'a', 'a'), policyOf('rack-b', 'b', 'b')];
  const writer = new MemoryWriter();
  for (const h of [a1, b1]) writer.put(PHYSICAL_HOST, h);
  for (const p of placements) writer.put(VIRTUAL_MACHINE_PLACEMENT, p);
  for (const p of policies) writer.put(CONSOLIDATION_POLICY, p);
  const hypervisor = new ModelHypervisor(s);
  const observed: string[] = [];
  hypervisor.observe = (target) => void observed.push(target.name);
  const reconciler = (policySelector?: string) => new Reconciler({
    clock: testClock, writer, hypervisor, power: new RecordingPower(), log: quietLog(), planner: plan,
    ...(policySelector ? { policySelector } : {}),
    cache: { listHosts: () => [a1, b1], listPlacements: () => placements, listPolicies: () => policies },
  });
  return { writer, observed, reconciler };
}

test('an instance with --policy-selector leaves the other instance\'s hosts, VMs, records and policies untouched', async () => {
  const world = twoRacks();
  const result = await world.reconciler('team=a').planRound();
  assert.deepEqual(result.plans.map((p) => p.policy), ['rack-a']);
  assert.deepEqual([...new Set(world.observed)], ['a1'], 'b1 is not observed');
  const b1 = world.writer.get<PhysicalHost & { status: PhysicalHostStatus }>(PHYSICAL_HOST, 'b1')!;
  assert.deepEqual([b1.status.powerAction?.phase, b1.status.conditions], ['Running', undefined], 'b1: no status written, its record not settled');
  assert.equal(world.writer.get<VirtualMachinePlacement>(VIRTUAL_MACHINE_PLACEMENT, 'vb', 'prod')!.status!.conditions, undefined, 'vb: no status written');
  assert.ok(world.writer.get<VirtualMachinePlacement>(VIRTUAL_MACHINE_PLACEMENT, 'va', 'prod')!.status!.conditions, 'va: its status written');
  const status = (name: string) => world.writer.get<ConsolidationPolicy & { status?: ConsolidationPolicyStatus }>(CONSOLIDATION_POLICY, name)!.status;
  assert.ok(status('rack-a')?.lastEvaluationTime);
  assert.equal(status('rack-b')?.lastEvaluationTime, undefined, 'rack-b is the other instance\'s');
});

test('the instance that owns every policy plans both racks, and settles what nobody carries out', async () => {
  const world = twoRacks();
  const result = await world.reconciler().planRound();
  assert.deepEqual(result.plans.map((p) => p.policy), ['rack-a', 'rack-b']);
  assert.deepEqual([...new Set(world.observed)].sort(), ['a1', 'b1']);
  assert.notEqual(world.writer.get<PhysicalHost & { status: PhysicalHostStatus }>(PHYSICAL_HOST, 'b1')!.status.powerAction?.phase, 'Running');
});

test('a VirtualMachineMigration to a host another policy governs fails at once: VMs never move across policies', () => {
  const world = twoRacks();
  const placement = world.writer.get<VirtualMachinePlacement>(VIRTUAL_MACHINE_PLACEMENT, 'va', 'prod')!;
  const rackA = world.writer.get<ConsolidationPolicy>(CONSOLIDATION_POLICY, 'rack-a')!;
  const hosts = ['a1', 'b1'].map((n) => world.writer.get<PhysicalHost>(PHYSICAL_HOST, n)!);
  const vmm = (targetHost: string) => ({
    apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachineMigration', metadata: { name: 'move', namespace: 'prod', uid: 'u1' }, spec: { placement: 'va', targetHost },
  }) as Parameters<typeof precheck>[0];
  const across = precheck(vmm('b1'), placement, { policy: rackA, hosts, governed: new Set(['a1']) });
  assert.deepEqual([across?.phase, across?.reason], ['Failed', 'TargetNotGoverned']);
  assert.match(across!.message, /b1 is not governed by ConsolidationPolicy rack-a, which governs va's host/);
  assert.equal(precheck(vmm('a1'), placement, { policy: rackA, hosts, governed: new Set(['a1']) }), undefined, 'within its policy: on to the planner');
});
