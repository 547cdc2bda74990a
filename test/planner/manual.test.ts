/** planManual (VirtualMachineMigration): the planner's filters and invariants on moves a person asked for. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planManual, type ManualRequest } from '../../src/planner/manual.ts';
import { host, policy, snapshot, vm } from './fixtures.ts';

const ask = (vmName: string, to?: string): ManualRequest => ({ uid: `uid-${vmName}`, name: `lab/${vmName}`, vm: vmName, ...(to ? { to } : {}) });
const refusals = (verdicts: ReturnType<typeof planManual>['verdicts']) => verdicts.map((v) => ('refused' in v ? v.refused : 'move'));

test('a named target takes the VM up to 100 % CPU; Tide picks the least loaded host under Th1 otherwise', () => {
  const s = snapshot(
    [host('a'), host('b'), host('c')],
    // b at 60 points, c at 10: vm-1 (2 of 4 cores at 40 % = 20 points) fits on both.
    [vm('vm-1', 'a', 40), vm('b-1', 'b', 100), vm('b-2', 'b', 20), vm('c-1', 'c', 20)],
  );
  const named = planManual(s, policy(), [ask('vm-1', 'b')]);
  assert.deepEqual(named.plan.actions.map((a) => a.type === 'migrate' && [a.vm, a.from, a.to, a.reason, a.requestUid]), [['vm-1', 'a', 'b', 'Manual', 'uid-vm-1']]);
  assert.match(named.plan.actions[0]!.message, /asked for by VirtualMachineMigration lab\/vm-1; b 60 % → 80 %/);
  const picked = planManual(s, policy(), [ask('vm-1')]);
  assert.equal(picked.plan.actions[0]!.type === 'migrate' && picked.plan.actions[0]!.to, 'c');
});

test('what a planned move may not do, a requested one may not either — each with its reason', () => {
  const s = snapshot(
    [host('a'), host('b', { memoryMiB: 1024 }), host('m', { maintenance: true }), host('e', { evacuate: true }), host('off', { powerState: 'off' }), host('g')],
    [
      vm('vm-1', 'a', 10), vm('b-1', 'b', 0), vm('pinned', 'a', 0, { pinnedHost: 'a' }), vm('frozen', 'a', 0, { doNotMigrate: true }),
      vm('x-1', 'a', 0, { antiAffinityGroup: 'x' }), vm('x-2', 'g', 0, { antiAffinityGroup: 'x' }),
    ],
  );
  const { plan, verdicts } = planManual(s, policy(), [
    ask('vm-1', 'b'), ask('vm-1', 'm'), ask('vm-1', 'e'), ask('vm-1', 'off'), ask('vm-1', 'a'), ask('vm-1', 'nowhere'),
    ask('pinned', 'g'), ask('frozen', 'g'), ask('x-1', 'g'), ask('gone', 'g'),
  ]);
  assert.deepEqual(refusals(verdicts), ['NoRoom', 'TargetNotAvailable', 'TargetNotAvailable', 'TargetNotAvailable', 'AlreadyOnTarget', 'TargetNotFound', 'Pinned', 'DoNotMigrate', 'AntiAffinity', 'VMNotRunning']);
  assert.deepEqual(plan.actions, []);
});

test('requests share the room: the second finds the first one\'s VM already there; a cooldown holds back no request', () => {
  const s = snapshot(
    [host('a'), host('b', { memoryMiB: 2048 })],
    [vm('vm-1', 'a', 0, { lastMigratedAtMs: 1_700_000_000_000 - 1000 }), vm('vm-2', 'a', 0), vm('b-1', 'b', 0)],
  );
  const { verdicts } = planManual(s, policy({ migrationCooldownMs: 3_600_000 }), [ask('vm-1', 'b'), ask('vm-2', 'b'), ask('vm-1')]);
  assert.deepEqual(refusals(verdicts), ['move', 'NoRoom', 'AlreadyMoving']);
});
