/**
 * Property tests: over thousands of random clusters and policies, every plan keeps the
 * invariants, and re-planning on the plan's result settles within a bounded number of rounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { plan } from '../../src/planner/plan.ts';
import { checkPlan } from '../../src/planner/invariants.ts';
import { applyPlan } from '../../src/planner/apply.ts';
import { clusterArb, policyArb } from './arbitraries.ts';
import type { Plan } from '../../src/planner/types.ts';

const changesWorld = (p: Plan) => p.actions.some((a) => a.type !== 'alert');

test('every plan keeps the invariants on random clusters', () => {
  fc.assert(
    fc.property(clusterArb, policyArb, (snapshot, policy) => {
      const result = plan(snapshot, policy);
      assert.deepEqual(checkPlan(snapshot, policy, result), []);
      assert.ok(result.summary.length > 0, 'a plan always says why it stopped');
      for (const action of result.actions) assert.match(action.message, /\d/, 'every explanation carries its numbers');
    }),
    { numRuns: 10_000 },
  );
});

test('plans are deterministic: same snapshot and policy, same plan', () => {
  fc.assert(
    fc.property(clusterArb, policyArb, (snapshot, policy) => {
      assert.deepEqual(plan(structuredClone(snapshot), policy), plan(snapshot, policy));
    }),
    { numRuns: 500 },
  );
});

test('re-planning on the result converges: no ping-pong', () => {
  fc.assert(
    fc.property(clusterArb, policyArb, (snapshot, policy) => {
      // No cooldowns: convergence must come from the rules themselves, not from waiting.
      const p = { ...policy, migrationCooldownMs: 0, powerCooldownMs: 0 };
      let world = snapshot;
      // Power-ons come one per round; a migration cap spreads the moves over more rounds.
      const maxRounds = 2 * snapshot.hosts.length + 10 + (p.maxMigrationsPerPlan > 0 ? 2 * snapshot.vms.length : 0);
      for (let round = 1; round <= maxRounds; round++) {
        const result = plan(world, p);
        if (!changesWorld(result)) return;
        world = applyPlan(world, result);
      }
      assert.fail(`still changing after ${maxRounds} rounds: ${plan(world, p).actions.map((a) => a.message).join(' | ')}`);
    }),
    { numRuns: 4000 },
  );
});

test('the invariant checker catches broken plans', () => {
  // A checker that never fails would make the properties above vacuous.
  const snapshot = {
    atMs: 0,
    hosts: [
      { name: 'a', cpuCores: 4, memoryMiB: 2048, powerState: 'on' as const, standbyAllowed: true, maintenance: false },
      { name: 'b', cpuCores: 2, memoryMiB: 2048, powerState: 'on' as const, standbyAllowed: true, maintenance: true },
    ],
    vms: [
      { name: 'v1', host: 'a', vcpus: 4, memoryMiB: 1024, cpuLoadPercent: 60, doNotMigrate: false, pinnedHost: 'a' },
      { name: 'v2', host: 'a', vcpus: 4, memoryMiB: 1024, cpuLoadPercent: 60, doNotMigrate: true },
    ],
  };
  const policy = { strategy: 'paper' as const, overloadThresholdPercent: 80, consolidationThresholdPercent: 80,
    balanceThresholdPercent: 10, minHostsOn: 2, maxMigrationsPerPlan: 0, migrationCooldownMs: 0, powerCooldownMs: 0, consolidationAllowed: true };
  const bad: Plan = {
    strategy: 'paper',
    summary: 'broken on purpose',
    actions: [
      { type: 'migrate', vm: 'v1', from: 'a', to: 'b', reason: 'Balance', message: 'x 1' },
      { type: 'migrate', vm: 'v2', from: 'a', to: 'b', reason: 'Balance', message: 'x 2' },
      { type: 'power-off', host: 'a', reason: 'EmptyHost', message: 'x 3' },
      { type: 'migrate', vm: 'v1', from: 'b', to: 'a', reason: 'Balance', message: 'x 4' },
    ],
  };
  const rules = new Set(checkPlan(snapshot, policy, bad).map((v) => v.rule));
  for (const rule of ['pinned', 'do-not-migrate', 'maintenance', 'move-once', 'target-on', 'power-off-empty', 'min-hosts-on', 'cpu-capacity']) {
    assert.ok(rules.has(rule), `expected a ${rule} violation, got ${[...rules].join(', ')}`);
  }
});
