/**
 * Property tests for lr-mmt and tide over core's random clusters (test/planner/arbitraries.ts),
 * with load histories added so that the regression, not only its fallback, decides: every plan
 * keeps the planner's invariants and explains itself, plans are deterministic, and re-planning
 * on a plan's result settles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { plan } from '../../src/planner/plan.ts';
import { checkPlan } from '../../src/planner/invariants.ts';
import { applyPlan } from '../../src/planner/apply.ts';
import { clusterArb, policyArb } from '../planner/arbitraries.ts';
import type { PlannerPolicy, Snapshot } from '../../src/planner/types.ts';

const STRATEGIES = ['lr-mmt', 'tide'] as const;

/** Each VM gets 10 past samples on a line ending at its load now (slopes from −8 to +8 points). */
const withHistory: fc.Arbitrary<Snapshot> = fc.tuple(clusterArb, fc.array(fc.integer({ min: -8, max: 8 }), { minLength: 64, maxLength: 64 })).map(([snapshot, slopes]) => ({
  ...snapshot,
  vms: snapshot.vms.map((vm, i) => ({
    ...vm,
    cpuHistory: Array.from({ length: 10 }, (_, j) => Math.min(100, Math.max(0, vm.cpuLoadPercent + slopes[i % slopes.length] * (j - 9)))),
  })),
}));

const policyFor = (strategy: (typeof STRATEGIES)[number]): fc.Arbitrary<PlannerPolicy> => policyArb.map((p) => ({ ...p, strategy }));

for (const strategy of STRATEGIES) {
  test(`${strategy}: every plan keeps the invariants on random clusters and explains each action`, () => {
    fc.assert(
      fc.property(withHistory, policyFor(strategy), (snapshot, policy) => {
        const result = plan(snapshot, policy);
        assert.deepEqual(checkPlan(snapshot, policy, result), []);
        assert.ok(result.summary.length > 0);
        for (const action of result.actions) {
          assert.match(action.message, /\d/, 'every explanation carries its numbers');
          assert.ok(!action.message.includes('\n'), 'one line');
        }
      }),
      { numRuns: 1500 },
    );
  });

  test(`${strategy}: same snapshot and policy, same plan`, () => {
    fc.assert(
      fc.property(withHistory, policyFor(strategy), (snapshot, policy) => {
        assert.deepEqual(plan(structuredClone(snapshot), policy), plan(snapshot, policy));
      }),
      { numRuns: 200 },
    );
  });

  test(`${strategy}: re-planning on the result settles`, () => {
    fc.assert(
      fc.property(withHistory, policyFor(strategy), (snapshot, policy) => {
        const p = { ...policy, migrationCooldownMs: 0, powerCooldownMs: 0 };
        let world = snapshot;
        const maxRounds = 2 * snapshot.hosts.length + 10 + (p.maxMigrationsPerPlan > 0 ? 2 * snapshot.vms.length : 0);
        for (let round = 1; round <= maxRounds; round++) {
          const result = plan(world, p);
          if (!result.actions.some((a) => a.type !== 'alert')) return;
          world = applyPlan(world, result);
        }
        assert.fail(`still changing after ${maxRounds} rounds: ${plan(world, p).actions.map((a) => a.message).join(' | ')}`);
      }),
      { numRuns: 800 },
    );
  });
}
