/**
 * PlanApprovals over an in-memory store and writer (src/controller/plan-approval.ts): what is
 * written in which order, that nothing runs unless Executing was recorded first, that a plan
 * not written by Tide never runs, and that Automatic supersedes open plans without a request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConsolidationPlan, ConsolidationPolicy, ConsolidationPolicyStatus } from '../../src/api/types.ts';
import { PlanApprovals, type PlanStore } from '../../src/controller/plan-approval.ts';
import { silentLogger } from '../../src/controller/log.ts';
import { plan as runPlanner } from '../../src/planner/plan.ts';
import type { Plan, PlannerPolicy, Snapshot } from '../../src/planner/types.ts';

const T0 = Date.parse('2026-11-29T12:00:00Z');
const POLICY: PlannerPolicy = {
  strategy: 'paper', overloadThresholdPercent: 80, consolidationThresholdPercent: 80, balanceThresholdPercent: 10, minHostsOn: 1,
  maxMigrationsPerPlan: 20, migrationCooldownMs: 0, powerCooldownMs: 0, consolidationAllowed: true,
};
const snapshot: Snapshot = {
  atMs: T0,
  hosts: ['a', 'b'].map((name, i) => ({ name, cpuCores: 4, memoryMiB: 16384, powerState: 'on' as const, standbyAllowed: true, maintenance: false, cpuLoadPercent: 10 * (i + 1), idleWatts: 100 })),
  vms: [
    { name: 'vm-1', host: 'a', vcpus: 2, memoryMiB: 1024, cpuLoadPercent: 20, doNotMigrate: false },
    { name: 'vm-2', host: 'b', vcpus: 2, memoryMiB: 1024, cpuLoadPercent: 40, doNotMigrate: false },
  ],
};
const proposal = runPlanner(snapshot, POLICY);
const policy = (approval: 'Automatic' | 'Manual'): ConsolidationPolicy => ({
  apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: { name: 'default' },
  spec: {
    strategy: 'paper', overloadThresholdPercent: 80, consolidationThresholdPercent: 80, balanceThresholdPercent: 10, evaluationInterval: '10m',
    evaluateOnOverload: true, minHostsOn: 1, maxConcurrentMigrations: 2, maxMigrationsPerRound: 20, migrationTimeout: '10m',
    migrationCooldown: '30m', powerCooldown: '30m', timeZone: 'UTC', dryRun: false, approval, planHistoryLimit: 1,
  },
});

function world(options: { failStatusOf?: (phase: string | undefined) => boolean } = {}) {
  const plans = new Map<string, ConsolidationPlan>();
  const log: string[] = [];
  const store: PlanStore = {
    async list() { log.push('list'); return [...plans.values()].map((p) => structuredClone(p)); },
    async create(namespace, name, owner) {
      // As the API server: a name taken is refused (409 AlreadyExists), not overwritten.
      if (plans.has(name)) throw Object.assign(new Error(`consolidationplans.tide.dev "${name}" already exists`), { code: 409 });
      log.push(`create ${name}`);
      const p: ConsolidationPlan = { apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPlan', metadata: { name, namespace, labels: { 'tide.dev/policy': owner.metadata.name } }, spec: {} };
      plans.set(name, p);
      return structuredClone(p);
    },
    async delete(_ns, name) { log.push(`delete ${name}`); plans.delete(name); },
  };
  // The policy as the API server has it: each round is given it as the informer would.
  const policyObject: { status: ConsolidationPolicyStatus } = { status: {} };
  const writer = {
    async updateStatus(ref: any, mutate: any) {
      if (ref.def.kind === 'ConsolidationPolicy') {
        policyObject.status = mutate(structuredClone(policyObject.status), policyObject);
        log.push(`policy pendingPlan ${policyObject.status.pendingPlan ?? '-'}`);
        return;
      }
      const p = plans.get(ref.name)!;
      const next = mutate(structuredClone(p.status ?? {}), p);
      if (options.failStatusOf?.(next.phase)) throw new Error('409 for ever');
      log.push(`status ${ref.name} ${next.phase}`);
      p.status = next;
    },
    async recordEvent(ref: any, _type: string, reason: string) { log.push(`event ${ref.name} ${reason}`); },
    async readSecret() { return {}; },
    async read() { return undefined; },
  };
  const ran: Plan[] = [];
  const execute = async (p: Plan) => {
    ran.push(p);
    log.push('execute');
    return p.actions.map((action) => ({ id: 'x', action, result: 'succeeded' as const, detail: '', startedAtMs: T0, durationMs: 1 }));
  };
  const clock = { ms: T0, now() { return this.ms; } };
  const approvals = new PlanApprovals({ clock: clock as never, writer, log: silentLogger, store, namespace: 'tide-system', cached: () => [...plans.values()] });
  const round = (approval: 'Automatic' | 'Manual' = 'Manual') =>
    approvals.round({ policy: { ...policy(approval), status: structuredClone(policyObject.status) }, proposal, snapshot, plannerPolicy: POLICY, execute });
  return { plans, log, ran, round, clock, policyObject };
}

test('Manual: proposed once, nothing runs; approved: Approved, Executing, then the executor, then Succeeded; history pruned to the limit', async () => {
  const w = world();
  assert.deepEqual(await w.round(), []);
  const [name] = [...w.plans.keys()];
  assert.deepEqual(w.log, ['list', `create ${name}`, `status ${name} Proposed`, `event ${name} PlanProposed`, `policy pendingPlan ${name}`]);
  assert.equal(w.policyObject.status.pendingPlan, name, 'the policy names the plan to approve');
  w.log.length = 0;
  assert.deepEqual(await w.round(), [], 'the same proposal: nothing new');
  assert.deepEqual(w.log, ['list'], 'nothing written: the plan and the pendingPlan are as they were');
  assert.equal(w.plans.size, 1);
  w.plans.get(name!)!.spec.approved = true;
  w.log.length = 0;
  const results = await w.round();
  assert.equal(results?.length, proposal.actions.length);
  assert.deepEqual(w.log, ['list', `status ${name} Approved`, `status ${name} Executing`, 'execute', `status ${name} Succeeded`, `event ${name} PlanSucceeded`, 'policy pendingPlan -']);
  assert.ok(!('pendingPlan' in w.policyObject.status), 'carried out: no plan waits');
  assert.deepEqual(w.plans.get(name!)!.status!.results!.map((r) => r.result), proposal.actions.map(() => 'succeeded'));
  // A later proposal is a new plan; with planHistoryLimit 1 the finished one stays until a second finishes.
  w.clock.ms += 60_000;
  await w.round();
  assert.equal(w.plans.size, 2);
  const second = [...w.plans.keys()].find((n) => n !== name)!;
  assert.equal(w.policyObject.status.pendingPlan, second);
  w.plans.get(second)!.spec.approved = true;
  w.clock.ms += 60_000;
  await w.round();
  assert.deepEqual([...w.plans.keys()], [second], 'the oldest finished plan deleted');
  assert.ok(w.log.includes(`delete ${name}`));
});

test('the same proposal again in the second its plan finished is a new plan at once, not AlreadyExists', async () => {
  const w = world();
  await w.round();
  const [first] = [...w.plans.keys()];
  w.plans.get(first!)!.spec.approved = true;
  await w.round();
  assert.equal(w.plans.get(first!)!.status!.phase, 'Succeeded');
  // The clock has not moved: the round proposes the very same actions in the very same second.
  await w.round();
  const open = [...w.plans.values()].filter((p) => p.status?.phase === 'Proposed');
  assert.equal(open.length, 1, 'the proposal was created this round');
  assert.notEqual(open[0]!.metadata.name, first);
  assert.equal(open[0]!.metadata.name, `${first}-2`);
});

test('nothing runs unless Executing was recorded first', async () => {
  const w = world({ failStatusOf: (phase) => phase === 'Executing' });
  await w.round();
  const [plan] = [...w.plans.values()];
  plan!.spec.approved = true;
  assert.deepEqual(await w.round(), []);
  assert.deepEqual(w.ran, []);
  assert.equal(plan!.status!.phase, 'Approved');
});

test('a plan Tide did not write is never run, however approved', async () => {
  const w = world();
  w.plans.set('forged', { apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPlan', metadata: { name: 'forged', namespace: 'tide-system', labels: { 'tide.dev/policy': 'default' } }, spec: { approved: true } });
  await w.round();
  assert.deepEqual(w.ran, []);
  assert.equal(w.plans.get('forged')!.status, undefined, 'left alone');
});

test('Automatic: open plans superseded from the cache, no list; the caller executes as before', async () => {
  const w = world();
  await w.round('Manual');
  w.log.length = 0;
  assert.equal(await w.round('Automatic'), undefined);
  const [name] = [...w.plans.keys()];
  assert.deepEqual(w.log, [`status ${name} Superseded`, `event ${name} PlanSuperseded`, 'policy pendingPlan -']);
  assert.equal(w.plans.get(name!)!.status!.reason, 'ApprovalAutomatic');
  w.log.length = 0;
  await w.round('Automatic');
  assert.deepEqual(w.log, [], 'nothing open: nothing written, nothing read');
});
