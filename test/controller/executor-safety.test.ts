/**
 * Issue 20 through the real Executor: each test failed on the executor before the fix.
 * Findings 1 (a failed observation is not an empty host), 2 (fence and stop), 5 (irreversible
 * steps on a stale policy or spec), 6 (a failed status write leaves no orphan work).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONSOLIDATION_POLICY, PHYSICAL_HOST } from '../../src/api/crds.ts';
import type { PhysicalHost } from '../../src/api/types.ts';
import { Executor, type ExecutorDeps } from '../../src/controller/executor.ts';
import type { Action, Plan } from '../../src/planner/types.ts';
import { host, snapshot, vm } from '../planner/fixtures.ts';
import { executionOf, MemoryWriter, ModelHypervisor, policyObject, quietLog, RecordingPower, testClock } from './executor-world.ts';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const move = (name: string, from: string, to: string): Action => ({ type: 'migrate', vm: name, from, to, reason: 'EmptyHost', message: `migrate ${name} ${from}→${to}` });
const off = (name: string): Action => ({ type: 'power-off', host: name, reason: 'EmptyHost', message: `power off ${name}` });
const on = (name: string): Action => ({ type: 'power-on', host: name, reason: 'Overloaded', message: `power on ${name}` });
const planOf = (...actions: Action[]): Plan => ({ strategy: 'paper', summary: 'test', actions });

function world(hostNames = ['a', 'b', 'c'], vms = [vm('v1', 'a', 0), vm('v2', 'a', 0), vm('v3', 'a', 0), vm('v4', 'a', 0)]) {
  const s = snapshot(hostNames.map((n) => host(n)), vms);
  const hv = new ModelHypervisor(s);
  const power = new RecordingPower();
  const writer = new MemoryWriter();
  const log = quietLog();
  const make = (extra: Partial<ExecutorDeps> = {}) => new Executor({ clock: testClock, hypervisor: hv, power, writer, log, ...extra });
  return { s, hv, power, writer, log, make };
}

async function untilInFlight(hv: ModelHypervisor, n = 1): Promise<void> {
  for (let i = 0; i < 50 && hv.inFlight.length < n; i++) await flush();
  assert.ok(hv.inFlight.length >= n, `expected ${n} migration(s) in flight, have ${hv.inFlight.length}`);
}

test('finding 1: a host whose virsh failed (reachable, no domains, an error) is never powered off', async () => {
  const w = world(['a', 'b'], []);
  w.hv.observe = (t) => ({ name: t.name, reachable: true, powerState: 'on', domains: [], error: 'virsh: failed to connect to the hypervisor', errorReason: 'CommandFailed', observedAtMs: 0 });
  const results = await w.make().execute(executionOf(w.s, planOf(off('a')), w.writer));
  assert.deepEqual(w.power.calls, []);
  assert.equal(results[0]!.result, 'skipped');
  assert.match(results[0]!.detail, /cannot be observed \(virsh: failed to connect/);
});

for (const [what, change, why] of [
  ['dryRun set on the policy', (w: MemoryWriter) => w.patchSpec(CONSOLIDATION_POLICY, 'default', { dryRun: true }), /dryRun was set/],
  ['standbyAllowed: false on the host', (w: MemoryWriter) => w.patchSpec(PHYSICAL_HOST, 'a', { standbyAllowed: false }), /standbyAllowed was set to false on a/],
  ['maintenance: true on the host', (w: MemoryWriter) => w.patchSpec(PHYSICAL_HOST, 'a', { maintenance: true }), /a was put in maintenance/],
  ['the policy deleted', (w: MemoryWriter) => w.objects.delete('consolidationpolicies//default'), /ConsolidationPolicy was deleted/],
] as const) {
  test(`finding 5: ${what} while the migrations run — the power-off after them does not happen`, async () => {
    const w = world(['a', 'b'], [vm('v1', 'a', 0)]);
    const running = w.make().execute(executionOf(w.s, planOf(move('v1', 'a', 'b'), off('a')), w.writer));
    await untilInFlight(w.hv);
    change(w.writer);
    w.hv.inFlight[0]!.end(true);
    const results = await running;
    assert.deepEqual(w.power.calls, []);
    const offResult = results.find((r) => r.action.type === 'power-off')!;
    assert.equal(offResult.result, 'skipped');
    assert.match(offResult.detail, why);
  });
}

test('finding 5: a VM pinned elsewhere or marked doNotMigrate after the plan is not moved', async () => {
  const w = world(['a', 'b'], [vm('v1', 'a', 0), vm('v2', 'a', 0)]);
  const input = executionOf(w.s, planOf(move('v1', 'a', 'b'), move('v2', 'a', 'b')), w.writer);
  w.writer.patchSpec({ plural: 'virtualmachineplacements', kind: 'VirtualMachinePlacement' } as never, 'v1', { doNotMigrate: true }, 'prod');
  w.writer.patchSpec({ plural: 'virtualmachineplacements', kind: 'VirtualMachinePlacement' } as never, 'v2', { pinnedHost: 'a' }, 'prod');
  const results = await w.make().execute(input);
  assert.equal(w.hv.started, 0);
  assert.match(results[0]!.detail, /v1 was marked doNotMigrate/);
  assert.match(results[1]!.detail, /v2 was pinned to a/);
});

test('finding 6: an intent write that fails (API 500) stops only its own action; execute() resolves after every migration it started, never above the limit, and the next round cannot overlap it', async () => {
  const w = world();
  let intents = 0;
  w.writer.fault = (op, ref) => (op === 'updateStatus' && ref.def.kind === 'VirtualMachinePlacement' && intents++ === 1 ? Object.assign(new Error('Internal Server Error'), { code: 500 }) : undefined);
  const p = planOf(move('v1', 'a', 'b'), move('v2', 'a', 'c'), move('v3', 'a', 'b'), move('v4', 'a', 'c'));
  w.hv.autoEnd = () => true;
  let inFlightWhenDone = -1;
  const first = w.make().execute(executionOf(w.s, p, w.writer)).then(
    (r) => ((inFlightWhenDone = w.hv.inFlight.length), r),
    (err) => ((inFlightWhenDone = w.hv.inFlight.length), Promise.reject(err)),
  );
  const results = await first;
  // What the work queue does next: another round right away, on the same (now stale) plan.
  await w.make().execute(executionOf(w.s, p, w.writer)).catch(() => []);
  assert.equal(inFlightWhenDone, 0, 'no migration of the round was still running when execute() returned');
  assert.ok(w.hv.maxConcurrent <= 2, `${w.hv.maxConcurrent} migrations ran at once against a maximum of 2`);
  const v2 = results.find((r) => r.action.type === 'migrate' && r.action.vm === 'v2')!;
  assert.equal(v2.result, 'skipped');
  assert.match(v2.detail, /intent could not be recorded \(Internal Server Error\)/);
  assert.equal(results.filter((r) => r.result === 'succeeded').length, 3);
});

test('finding 6: a power-on whose intent write fails is a failed action, not an unhandled rejection', async () => {
  const w = world(['a', 'b', 'c'], [vm('v1', 'a', 0)]);
  w.writer.fault = (op, ref) => (op === 'updateStatus' && ref.def.kind === 'PhysicalHost' ? new Error('etcdserver: request timed out') : undefined);
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  try {
    const running = w.make().execute(executionOf(w.s, planOf(on('c'), move('v1', 'a', 'b')), w.writer));
    await untilInFlight(w.hv);
    await flush();
    w.hv.inFlight[0]!.end(true);
    const results = await running;
    await flush();
    assert.deepEqual(unhandled, []);
    const powerOn = results.find((r) => r.action.type === 'power-on')!;
    assert.equal(powerOn.result, 'skipped');
    assert.match(powerOn.detail, /intent could not be recorded \(etcdserver: request timed out\), so nothing was sent/);
    assert.deepEqual(w.power.calls, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('finding 6: a placement deleted mid-migration (404 on the outcome write) does not fail the round; the power-off still waits for and trusts the migration', async () => {
  const w = world(['a', 'b'], [vm('v1', 'a', 0)]);
  const running = w.make().execute(executionOf(w.s, planOf(move('v1', 'a', 'b'), off('a')), w.writer));
  await untilInFlight(w.hv);
  w.writer.objects.delete('virtualmachineplacements/prod/v1');
  w.hv.inFlight[0]!.end(true);
  const results = await running;
  assert.deepEqual(results.map((r) => r.result), ['succeeded', 'succeeded']);
  assert.deepEqual(w.power.calls, ['off a']);
  assert.ok(w.log.lines.some((l) => /outcome of migrating v1 not recorded/.test(l)));
});

test('finding 2: a fence that refuses stops every command — the intent is closed as not sent, and nothing after it starts', async () => {
  const w = world(['a', 'b'], [vm('v1', 'a', 0), vm('v2', 'a', 0)]);
  let fenced = 0;
  const results = await w.make({ fence: async () => { fenced++; throw new Error('lease tide-operator is held by replica-b'); } })
    .execute(executionOf(w.s, planOf(move('v1', 'a', 'b'), move('v2', 'a', 'b'), off('a')), w.writer, policyObject({ maxConcurrentMigrations: 1 })));
  assert.equal(w.hv.started, 0);
  assert.deepEqual(w.power.calls, []);
  assert.equal(fenced, 1, 'after the first refusal nothing else even asks');
  assert.deepEqual(results.map((r) => r.result), ['skipped', 'skipped', 'skipped']);
  assert.match(results[0]!.detail, /not the leader any more: lease tide-operator is held by replica-b/);
  const record = (w.writer.get<{ status: { migration: { phase: string; error: string } } }>({ plural: 'virtualmachineplacements' } as never, 'v1', 'prod'))!.status.migration;
  assert.equal(record.phase, 'Failed');
  assert.match(record.error, /not started/);
});

test('finding 2: once the replica stops acting, the running migration is aborted and nothing new starts', async () => {
  const w = world(['a', 'b'], [vm('v1', 'a', 0), vm('v2', 'a', 0)]);
  const acting = new AbortController();
  const running = w.make().execute(executionOf(w.s, planOf(move('v1', 'a', 'b'), move('v2', 'a', 'b'), off('a')), w.writer, policyObject({ maxConcurrentMigrations: 1 }), { signal: acting.signal }));
  await untilInFlight(w.hv);
  acting.abort();
  const results = await running;
  assert.equal(w.hv.started, 1);
  assert.deepEqual(w.power.calls, []);
  assert.deepEqual(results.map((r) => r.result), ['failed', 'skipped', 'skipped']);
  assert.match(results[1]!.detail, /stopped acting/);
});

test('the fresh host spec decides where a power command goes', async () => {
  const w = world(['a', 'b'], []);
  const sent: string[] = [];
  const results = await w.make({ power: { powerOn: async () => {}, powerOff: async (t) => void sent.push(String((t.spec as PhysicalHost['spec']).address)) } })
    .execute((() => {
      const input = executionOf(w.s, planOf(off('a')), w.writer);
      w.writer.patchSpec(PHYSICAL_HOST, 'a', { address: '127.0.0.9' });
      return input;
    })());
  assert.equal(results[0]!.result, 'succeeded');
  assert.deepEqual(sent, ['127.0.0.9']);
});
