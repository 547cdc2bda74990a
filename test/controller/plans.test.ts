/**
 * ConsolidationPlans, the pure decisions (src/controller/plans.ts): predictions, what a round's
 * proposal becomes, which plan runs, what is superseded and why, what old plans go. Through the
 * operator on both API servers: test/realkube/consolidation-plan.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConsolidationPlan, PlanPhase } from '../../src/api/types.ts';
import { decide, fingerprint, fromPlanned, outcome, planName, planOf, predict, proposedStatus, supersedeAll, toPlanned, toPrune } from '../../src/controller/plans.ts';
import { checkPlan } from '../../src/planner/invariants.ts';
import { plan as runPlanner } from '../../src/planner/plan.ts';
import type { Action, HostSnapshot, Plan, PlannerPolicy, Snapshot } from '../../src/planner/types.ts';

const T0 = Date.parse('2026-11-29T12:00:00Z');
const POLICY: PlannerPolicy = {
  strategy: 'paper', overloadThresholdPercent: 80, consolidationThresholdPercent: 80, balanceThresholdPercent: 10, minHostsOn: 1,
  maxMigrationsPerPlan: 20, migrationCooldownMs: 0, powerCooldownMs: 0, consolidationAllowed: true,
};
const host = (name: string, extra: Partial<HostSnapshot> = {}): HostSnapshot => ({
  name, cpuCores: 4, memoryMiB: 16384, powerState: 'on', standbyAllowed: true, maintenance: false, idleWatts: 100, ...extra,
});
/** Two lightly loaded hosts: the paper strategy consolidates a onto b and powers a off. */
const snapshot = (hosts: Partial<Record<'a' | 'b', Partial<HostSnapshot>>> = {}, vm1Host = 'a'): Snapshot => ({
  atMs: T0,
  hosts: [host('a', { cpuLoadPercent: 10, ...hosts.a }), host('b', { cpuLoadPercent: 20, idleWatts: 120, ...hosts.b })],
  vms: [
    { name: 'vm-1', host: vm1Host, vcpus: 2, memoryMiB: 1024, cpuLoadPercent: 20, doNotMigrate: false },
    { name: 'vm-2', host: 'b', vcpus: 2, memoryMiB: 1024, cpuLoadPercent: 40, doNotMigrate: false },
  ],
});
const check = (s: Snapshot) => (p: Plan) => checkPlan(s, POLICY, p);

function cplan(name: string, phase: PlanPhase, p: Plan, extra: { approved?: boolean; proposedAt?: string } = {}): ConsolidationPlan {
  const status = proposedStatus('default', p, predict(p, snapshot(), 80), extra.proposedAt ?? new Date(T0).toISOString());
  return { apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPlan', metadata: { name, namespace: 'tide-system' }, spec: { approved: extra.approved ?? false }, status: { ...status, phase } };
}

const consolidation = runPlanner(snapshot(), POLICY);

test('the planner consolidates the fixture: a migration and a power-off', () => {
  assert.deepEqual(consolidation.actions.map((a) => a.type), ['migrate', 'power-off'], consolidation.summary);
});

test('predictions: idle watts of hosts powered off less those powered on, over the window; hosts over Th1 after the plan', () => {
  const p = predict(consolidation, snapshot(), 80);
  assert.deepEqual([p.windowSeconds, p.wattsSaved, p.energySavedWh, p.hostsOverThreshold, p.minutesOverloaded], [3600, 100, 100, [], 0]);
  // At Th1 = 25 %, b holds both VMs (30 % on 4 cores) and is over: one host for the whole hour.
  const risky = predict(consolidation, snapshot(), 25);
  assert.deepEqual([risky.hostsOverThreshold, risky.minutesOverloaded], [['b'], 60]);
  const wake: Plan = { strategy: 'paper', summary: '', actions: [{ type: 'power-on', host: 'a', reason: 'Overloaded', message: 'power on a' }] };
  assert.equal(predict(wake, snapshot({ a: { powerState: 'off' } }), 80).wattsSaved, -100, 'a power-on costs its idle watts');
  assert.equal(predict(consolidation, snapshot({ a: { idleWatts: undefined } }), 80).wattsSaved, 0, 'a host without idleWatts counts 0');
});

test('actions survive the round trip through status; a broken one is named', () => {
  const back = consolidation.actions.map(toPlanned).map(fromPlanned);
  assert.deepEqual(back, consolidation.actions);
  assert.throws(() => fromPlanned({ type: 'migrate', reason: 'Consolidate', message: 'x', vm: 'vm-1', to: 'b' }, 3), /status\.actions\[3\] \(migrate\) has no from/);
  assert.deepEqual(planOf(cplan('p', 'Proposed', consolidation)).actions, consolidation.actions);
});

test('fingerprint: the same actions with other figures in their messages are the same plan; other actions are not', () => {
  const reworded = consolidation.actions.map((a) => ({ ...a, message: `${a.message} (loads moved)` })) as Action[];
  assert.equal(fingerprint(reworded), fingerprint(consolidation.actions));
  const elsewhere = consolidation.actions.map((a) => (a.type === 'migrate' ? { ...a, to: 'c' } : a)) as Action[];
  assert.notEqual(fingerprint(elsewhere), fingerprint(consolidation.actions));
  assert.match(planName('default', T0, fingerprint(consolidation.actions)), /^default-20261129-120000-[0-9a-f]{6}$/);
  assert.match(planName(`${'a'.repeat(199)}.b`, T0, 'abcdef'), new RegExp(`^a{199}-20261129-120000-abcdef$`), 'a long name cut where it stays valid');
  const taken = new Set(['default-20261129-120000-abcdef', 'default-20261129-120000-abcdef-2']);
  assert.equal(planName('default', T0, 'abcdef', taken), 'default-20261129-120000-abcdef-3', 'a name the server has is not reused');
  assert.equal(planName('default', T0, 'abcdef', taken), planName('default', T0, 'abcdef', taken), 'the same inputs, the same name');
});

test('a round proposes once; an identical proposal later creates nothing; a different one supersedes the open plan', () => {
  const s = snapshot();
  assert.equal(decide([], consolidation, check(s)).propose, consolidation);
  const open = cplan('p1', 'Proposed', consolidation);
  assert.deepEqual(decide([open], consolidation, check(s)), { transitions: [] });
  const balance: Plan = { strategy: 'paper', summary: 'balance', actions: [{ type: 'migrate', vm: 'vm-2', from: 'b', to: 'a', reason: 'Balance', message: 'balance' }] };
  const steps = decide([open], balance, check(s));
  assert.deepEqual(steps.transitions.map((t) => [t.name, t.phase, t.reason]), [['p1', 'Superseded', 'NewProposal']]);
  assert.equal(steps.propose, balance);
  const quiet: Plan = { strategy: 'paper', summary: 'balanced', actions: [] };
  const none = decide([open], quiet, check(s));
  assert.deepEqual([none.transitions.map((t) => t.reason), none.propose], [['NoLongerProposed'], undefined]);
  const alerts: Plan = { strategy: 'paper', summary: 'over', actions: [{ type: 'alert', reason: 'OverloadedNoStandby', message: 'over Th1' }] };
  assert.equal(decide([], alerts, check(s)).propose, undefined, 'alerts alone wait for no one');
});

test('an approved plan runs only while it holds: a VM gone from its source, a target off or in maintenance supersede it', () => {
  const approved = cplan('p1', 'Proposed', consolidation, { approved: true });
  assert.equal(decide([approved], consolidation, check(snapshot())).execute, approved);
  for (const [what, s, why] of [
    ['the VM moved', snapshot({}, 'b'), /vm-1 is on b, not a/],
    ['the target in maintenance', snapshot({ b: { maintenance: true } }), /b is in maintenance/],
    ['the target off', snapshot({ b: { powerState: 'off' } }), /b is off/],
  ] as const) {
    const steps = decide([approved], { strategy: 'paper', summary: '', actions: [] }, check(s));
    assert.equal(steps.execute, undefined, what);
    assert.deepEqual(steps.transitions.map((t) => [t.phase, t.reason]), [['Superseded', 'Invalidated']], what);
    assert.match(steps.transitions[0]!.message, why, what);
  }
  const gone = { ...snapshot(), hosts: [host('a', { cpuLoadPercent: 10 })] };
  assert.match(decide([approved], consolidation, check(gone)).transitions[0]!.message, /unknown VM or host/);
  const unreadable = { ...approved, status: { ...approved.status, actions: [{ type: 'migrate' as const, reason: 'Balance', message: 'x' }] } };
  assert.match(decide([unreadable], consolidation, check(snapshot())).transitions[0]!.message, /has no vm/);
});

test('not Tide\'s, finished or interrupted plans: never run; Executing at a round\'s start failed', () => {
  const forged: ConsolidationPlan = { ...cplan('forged', 'Proposed', consolidation, { approved: true }), status: undefined };
  const done = cplan('done', 'Succeeded', consolidation, { approved: true });
  const steps = decide([forged, done, cplan('mid', 'Executing', consolidation, { approved: true })], consolidation, check(snapshot()));
  assert.equal(steps.execute, undefined);
  assert.deepEqual(steps.transitions.map((t) => [t.name, t.phase, t.reason]), [['mid', 'Failed', 'Interrupted']]);
  assert.equal(steps.propose, consolidation);
  // Two open ones (another replica's): the newest is the open plan, the older is superseded.
  const older = cplan('old', 'Proposed', consolidation, { proposedAt: new Date(T0 - 60_000).toISOString(), approved: true });
  const newer = cplan('new', 'Proposed', consolidation);
  const two = decide([older, newer], consolidation, check(snapshot()));
  assert.deepEqual([two.transitions.map((t) => [t.name, t.reason]), two.execute, two.propose], [[['old', 'NewProposal']], undefined, undefined]);
});

test('Automatic supersedes every open plan; history keeps the newest finished ones', () => {
  const plans = (['Proposed', 'Approved', 'Succeeded', 'Superseded'] as const).map((phase, i) => cplan(`p${i}`, phase, consolidation));
  assert.deepEqual(supersedeAll(plans).map((t) => [t.name, t.phase, t.reason]), [['p0', 'Superseded', 'ApprovalAutomatic'], ['p1', 'Superseded', 'ApprovalAutomatic']]);
  const finished = [0, 1, 2, 3, 4].map((m) => cplan(`f${m}`, m % 2 ? 'Failed' : 'Superseded', consolidation, { proposedAt: new Date(T0 + m * 60_000).toISOString() }));
  assert.deepEqual(toPrune([...finished, cplan('open', 'Proposed', consolidation)], 2), ['f0', 'f1', 'f2']);
  assert.deepEqual(toPrune(finished, 10), []);
});

test('outcome: Succeeded only when every action was carried out', () => {
  const [m, off] = consolidation.actions as [Action, Action];
  assert.equal(outcome([{ action: m, result: 'succeeded' }, { action: off, result: 'succeeded' }]).phase, 'Succeeded');
  const failed = outcome([{ action: m, result: 'succeeded' }, { action: off, result: 'skipped', detail: 'a VM runs there' }]);
  assert.deepEqual([failed.phase, failed.reason], ['Failed', 'ActionsFailed']);
  assert.match(failed.message, /1 of 2 action\(s\) not carried out: .*skipped: a VM runs there/);
});
