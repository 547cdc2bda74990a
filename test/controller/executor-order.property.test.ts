/**
 * Issue 20, finding 3: dependent moves. checkPlan proves a plan's end state fits every host;
 * the executor must also keep every state on the way within capacity, in any order it lets
 * migrations end and whichever of them fail. A live migration holds the VM's memory on both
 * hosts until it ends, and the model hypervisor counts it so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Executor } from '../../src/controller/executor.ts';
import { plan } from '../../src/planner/plan.ts';
import { scheduleMigrations } from '../../src/planner/schedule.ts';
import type { MigrateAction, Plan, PlannerPolicy } from '../../src/planner/types.ts';
import { clusterArb, policyArb } from '../planner/arbitraries.ts';
import { host, snapshot, vm } from '../planner/fixtures.ts';
import { executionOf, MemoryWriter, ModelHypervisor, policyObject, quietLog, RecordingPower, testClock } from './executor-world.ts';

/** A plan of migrations written by hand: [vm, from, to] each. */
function byHand(...moves: [string, string, string][]): Plan {
  return { strategy: 'paper', summary: 'by hand', actions: moves.map(([vm, from, to]): MigrateAction => ({ type: 'migrate', vm, from, to, reason: 'Balance', message: `${vm} ${from}→${to}` })) };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Runs the plan through the real Executor, ending in-flight migrations in the order `choices` says. */
async function runInOrder(s: Parameters<typeof plan>[0], p: Plan, choices: { pick: number; ok: boolean }[], maxConcurrent: number) {
  const hv = new ModelHypervisor(s);
  const writer = new MemoryWriter();
  const executor = new Executor({ clock: testClock, hypervisor: hv, power: new RecordingPower(), writer, log: quietLog() });
  let finished = false;
  const done = executor.execute(executionOf(s, p, writer, policyObject({ maxConcurrentMigrations: maxConcurrent }))).then((r) => ((finished = true), r));
  for (let step = 0; !finished; step++) {
    for (let i = 0; i < 5 && hv.inFlight.length === 0 && !finished; i++) await flush();
    if (finished) break;
    assert.ok(hv.inFlight.length > 0, 'the executor neither finished nor has a migration running');
    const choice = choices[step % choices.length]!;
    hv.inFlight[choice.pick % hv.inFlight.length]!.end(choice.ok);
  }
  return { hv, results: await done };
}

test('no host holds more memory than it has at any moment of execution, in any order and with any failures', async () => {
  let withMoves = 0;
  await fc.assert(
    fc.asyncProperty(
      clusterArb,
      policyArb,
      fc.constantFrom<PlannerPolicy['strategy']>('paper', 'npa', 'tide', 'lr-mmt'),
      fc.array(fc.record({ pick: fc.nat(), ok: fc.integer({ min: 0, max: 4 }).map((n) => n !== 0) }), { minLength: 1, maxLength: 30 }),
      fc.integer({ min: 1, max: 4 }),
      async (s, pol, strategy, choices, maxConcurrent) => {
        const p = plan(s, { ...pol, strategy });
        if (p.actions.filter((a) => a.type === 'migrate').length < 2) return;
        withMoves++;
        const { hv } = await runInOrder(s, p, choices, maxConcurrent);
        assert.deepEqual(hv.overcommits, [], `plan: ${p.actions.map((a) => (a.type === 'migrate' ? `${a.vm} ${a.from}→${a.to}` : a.type)).join(', ')}`);
        assert.ok(hv.maxConcurrent <= maxConcurrent, `${hv.maxConcurrent} migrations at once > ${maxConcurrent}`);
      },
    ),
    { numRuns: 1500, seed: 20_2026 },
  );
  assert.ok(withMoves > 100, `only ${withMoves} plans with two or more migrations were exercised`);
});

test('the issue\'s case: v8 h2→h1 and v3 h0→h2 on a nearly full h2 — v3 waits for v8, and is cancelled when v8 fails', async () => {
  const s = snapshot(
    [host('h0', { memoryMiB: 16384 }), host('h1', { memoryMiB: 16384 }), host('h2', { memoryMiB: 16384 })],
    [vm('v3', 'h0', 10, { memoryMiB: 2048 }), vm('v8', 'h2', 10, { memoryMiB: 1024 }), vm('big', 'h2', 0, { memoryMiB: 14336, doNotMigrate: true })],
  );
  const p = byHand(['v8', 'h2', 'h1'], ['v3', 'h0', 'h2']);
  assert.deepEqual(scheduleMigrations(s, p).waitsFor.get(1), [0], 'v3 waits for v8');

  const ok = await runInOrder(s, p, [{ pick: 0, ok: true }], 2);
  assert.deepEqual(ok.hv.overcommits, []);
  assert.deepEqual(ok.results.map((r) => r.result), ['succeeded', 'succeeded']);

  const failed = await runInOrder(s, p, [{ pick: 0, ok: false }], 2);
  assert.deepEqual(failed.hv.overcommits, []);
  const v3 = failed.results.find((r) => r.action.type === 'migrate' && r.action.vm === 'v3')!;
  assert.equal(v3.result, 'skipped');
  assert.match(v3.detail, /room on h2 did not appear: migrate v8 h2→h1 failed/);
  assert.equal(failed.hv.started, 1, 'v3 was never started');
});

test('two full hosts swapping VMs have no safe order: neither move runs, and each says why', async () => {
  const s = snapshot(
    [host('a', { memoryMiB: 4096 }), host('b', { memoryMiB: 4096 })],
    [vm('x', 'a', 10, { memoryMiB: 4096 }), vm('y', 'b', 10, { memoryMiB: 4096 })],
  );
  const p = byHand(['x', 'a', 'b'], ['y', 'b', 'a']);
  const { hv, results } = await runInOrder(s, p, [{ pick: 0, ok: true }], 2);
  assert.equal(hv.started, 0);
  assert.deepEqual(results.map((r) => r.result), ['skipped', 'skipped']);
  for (const r of results) assert.match(r.detail, /cannot run safely/);

});
