/**
 * Issue 20, findings 2 and 7: records left by a process that died or was deposed, and what
 * counts as a host that is on. Each test failed before its fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PHYSICAL_HOST } from '../../src/api/crds.ts';
import type { ObservedHost } from '../../src/api/drivers.ts';
import type { PhysicalHost, PowerActionRecord } from '../../src/api/types.ts';
import { settlePowerAction } from '../../src/controller/intents.ts';
import { Reconciler } from '../../src/controller/reconciler.ts';
import { plan } from '../../src/planner/plan.ts';
import { host, policy, snapshot, vm } from '../planner/fixtures.ts';
import { hostObject, MemoryWriter, ModelHypervisor, quietLog, RecordingPower, T0, testClock } from './executor-world.ts';

const up = (name: string, domains: ObservedHost['domains'] = []): ObservedHost => ({ name, reachable: true, powerState: 'on', domains, cpuLoadPercent: 0, observedAtMs: T0 });

test('finding 7: a host still booting does not count toward minHostsOn — no other host is powered off on its promise', () => {
  // b was recorded as powering on by a process that died before sending the Wake-on-LAN.
  const s = snapshot(
    [host('a', { idleWatts: 60 }), host('b', { powerState: 'booting' }), host('c', { idleWatts: 60 })],
    [vm('v1', 'c', 10)],
  );
  for (const strategy of ['paper', 'npa', 'tide', 'lr-mmt'] as const) {
    const p = plan(s, policy({ strategy, minHostsOn: 2, consolidationAllowed: true }));
    assert.deepEqual(p.actions.filter((a) => a.type === 'power-off'), [], `${strategy}: ${p.summary}`);
  }
});

test('finding 2: a power-off another replica began moments ago is not settled as interrupted while the host still answers', () => {
  const record: PowerActionRecord = { id: 'p1', type: 'PowerOff', phase: 'Running', reason: 'EmptyHost', message: '', startedAt: new Date(T0 - 3_000).toISOString() };
  const verdict = settlePowerAction(record, up('a'), T0, 300_000);
  assert.equal(verdict.settle, false, 'settling it would offer a host that is going down as a migration target');
  // Past its shutdown timeout, a host that still answers did not go down: settled as failed.
  const later = settlePowerAction(record, up('a'), T0 + 301_000, 300_000);
  assert.deepEqual([later.settle, later.settle && later.phase], [true, 'Failed']);
});

test('finding 1 in recovery: a power-off record is never settled as done on an observation that failed', () => {
  const record: PowerActionRecord = { id: 'p1', type: 'PowerOff', phase: 'Running', reason: 'EmptyHost', message: '', startedAt: new Date(T0 - 400_000).toISOString() };
  const failed: ObservedHost = { ...up('a'), domains: [], error: 'virsh: cannot connect', errorReason: 'CommandFailed' };
  assert.equal(settlePowerAction(record, failed, T0, 300_000).settle, false);
});

test('finding 7: a settle whose status write fails is retried on the next round, not forgotten', async () => {
  const record: PowerActionRecord = { id: 'p-stuck', type: 'PowerOn', phase: 'Running', reason: 'Overload', message: '', startedAt: new Date(T0 - 10_000).toISOString() };
  const h: PhysicalHost = { ...hostObject(host('a')), status: { powerAction: record } };
  const writer = new MemoryWriter();
  writer.put(PHYSICAL_HOST, h);
  let failures = 1;
  writer.fault = (op) => (op === 'updateStatus' && failures-- > 0 ? new Error('Service Unavailable') : undefined);
  const reconciler = new Reconciler({
    clock: testClock, writer, hypervisor: new ModelHypervisor(snapshot([], [])), power: new RecordingPower(), log: quietLog(), planner: plan,
    cache: { listHosts: () => [writer.get<PhysicalHost>(PHYSICAL_HOST, 'a')!], listPlacements: () => [], listPolicies: () => [] },
  });
  const observed = new Map([['a', up('a')]]);
  assert.equal(await reconciler.settleUnfinished(observed, undefined), 0, 'the write failed');
  assert.equal(await reconciler.settleUnfinished(observed, undefined), 1, 'and is tried again');
  assert.equal(writer.get<PhysicalHost>(PHYSICAL_HOST, 'a')!.status!.powerAction!.phase, 'Succeeded');
});

test('a settle never overwrites a newer record another replica wrote meanwhile', async () => {
  const old: PowerActionRecord = { id: 'p-old', type: 'PowerOn', phase: 'Running', reason: 'Overload', message: '', startedAt: new Date(T0 - 10_000).toISOString() };
  const writer = new MemoryWriter();
  writer.put(PHYSICAL_HOST, { ...hostObject(host('a')), status: { powerAction: { ...old, id: 'p-new', type: 'PowerOff' } } });
  const cached: PhysicalHost = { ...hostObject(host('a')), status: { powerAction: old } };
  const reconciler = new Reconciler({
    clock: testClock, writer, hypervisor: new ModelHypervisor(snapshot([], [])), power: new RecordingPower(), log: quietLog(), planner: plan,
    cache: { listHosts: () => [cached], listPlacements: () => [], listPolicies: () => [] },
  });
  await reconciler.settleUnfinished(new Map([['a', up('a')]]), undefined);
  const now = writer.get<PhysicalHost>(PHYSICAL_HOST, 'a')!.status!.powerAction!;
  assert.deepEqual([now.id, now.phase], ['p-new', 'Running']);
});
