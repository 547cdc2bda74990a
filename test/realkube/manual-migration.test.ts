/**
 * Issue 14 item 2 end to end, by kubectl alone, with `tide run --simulate` as a process (on the
 * real kube-apiserver as the chart's operator ServiceAccount: the real authorizer holds it to
 * permissions.ts), on both server tiers: a VirtualMachineMigration (vmm) waits for a policy,
 * then moves its VM to the named host or to one Tide picks, through the executor (the
 * placement's migration record names it); the planner leaves the VM there (cooldown); a
 * finished vmm is history; a vmm Tide cannot carry out fails at once with the reason; its spec
 * cannot change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachInstalledTier, NAMESPACE, type TideCluster } from './clusters.ts';
import { noRefusals, withLogsOnFailure } from './tide-processes.ts';
import { condition, eventually, leaderStarted, paper, paperCluster, startPaperOperator } from './paper-hosts.ts';
import { eventsOnceSent } from '../kube/events.ts';


const vmm = (name: string, placement: string, targetHost?: string) =>
  JSON.stringify({ apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachineMigration', metadata: { name, namespace: 'paper' }, spec: { placement, ...(targetHost ? { targetHost } : {}) } });

const phase = (c: TideCluster, name: string, wanted: string) =>
  eventually(`vmm ${name} ${wanted}`, async () => {
    const m = await c.getJson('vmm', name, '-n', 'paper');
    return m.status?.phase === wanted && m;
  });

forEachInstalledTier((cluster) => {
  test('kubectl apply of a vmm: waits for a policy, moves the VM to the named host or the one Tide picks, and the planner leaves it there', async (t) => {
    const c = await cluster();
    const operator = startPaperOperator(c, t);
    await withLogsOnFailure([operator], async () => {
      await leaderStarted(operator);
      await paperCluster(c);
      await eventually('both hosts observed', async () => (await c.getJson('ph')).items.every((h: any) => h.status?.vmCount === 4) || null);
      await c.kubectlOk(['patch', 'vmp', 'vm-5', '-n', 'paper', '--type=merge', '-p', '{"spec":{"pinnedHost":"node200"}}']);

      for (const [name, placement, target] of [['to-200', 'vm-1', 'node200'], ['anywhere', 'vm-2'], ['ghost', 'vm-99'], ['pinned', 'vm-5', 'node100']] as const) {
        await c.kubectlOk(['apply', '-f', '-'], vmm(name, placement, target));
      }
      // Refused for good at once, policy or not, with the reason.
      const ghost = await phase(c, 'ghost', 'Failed');
      assert.equal(ghost.status.reason, 'PlacementNotFound');
      assert.match(ghost.status.message, /VirtualMachinePlacement paper\/vm-99 does not exist/);
      assert.deepEqual([condition(ghost, 'Succeeded')?.status, condition(ghost, 'Succeeded')?.reason], ['False', 'PlacementNotFound']);
      assert.equal((await phase(c, 'pinned', 'Failed')).status.reason, 'Pinned');
      // No policy: Tide only observes, so the others wait, and say why.
      const waiting = await phase(c, 'to-200', 'Pending');
      assert.equal(waiting.status.reason, 'NoPolicy');
      assert.equal(condition(waiting, 'Succeeded')?.status, 'Unknown');

      await c.kubectlOk(['apply', ...paper('policy.yaml')]);
      await c.kubectlOk(['wait', '--for=condition=Succeeded', 'vmm/to-200', 'vmm/anywhere', '-n', 'paper', '--timeout=90s']);
      for (const [name, vm] of [['to-200', 'vm-1'], ['anywhere', 'vm-2']]) {
        const m = await c.getJson('vmm', name, '-n', 'paper');
        assert.deepEqual([m.status.phase, m.status.reason, m.status.sourceHost, m.status.targetHost], ['Succeeded', 'Migrated', 'node100', 'node200'], name);
        const p = await c.getJson('vmp', vm, '-n', 'paper');
        assert.deepEqual([p.status.host, p.status.migration.requestedBy, p.status.migration.reason, p.status.migration.id], ['node200', m.metadata.uid, 'Manual', m.status.migrationId], vm);
      }
      const events = await eventsOnceSent(c.getJson, 'the Migrated Events of to-200 and anywhere', (e) => e.involvedObject.kind === 'VirtualMachineMigration' && e.involvedObject.namespace === 'paper',
        (sent) => ['to-200', 'anywhere'].every((name) => sent.some((e) => e.reason === 'Migrated' && e.involvedObject.name === name)));
      const reasonsOf = (name: string) => events.filter((e: any) => e.involvedObject.name === name).map((e: any) => e.reason);
      assert.deepEqual(reasonsOf('to-200'), ['NoPolicy', 'Migrating', 'Migrated']);
      assert.deepEqual(reasonsOf('ghost'), ['PlacementNotFound']);

      // Later rounds plan around them (cooldown) and never run a finished vmm again.
      const before = (await c.getJson('consolidationpolicy', 'default')).status?.lastEvaluationTime;
      await c.kubectlOk(['patch', 'consolidationpolicy', 'default', '--type=merge', '-p', '{"spec":{"balanceThresholdPercent":11}}']);
      await eventually('another plan round', async () => (await c.getJson('consolidationpolicy', 'default')).status?.lastEvaluationTime !== before);
      for (const vm of ['vm-1', 'vm-2']) {
        const p = await c.getJson('vmp', vm, '-n', 'paper');
        assert.deepEqual([p.status.host, p.status.migrationCount, p.status.migration.reason], ['node200', 1, 'Manual'], `${vm} stays where it was put`);
      }
      assert.equal((await c.getJson('vmm', 'to-200', '-n', 'paper')).status.phase, 'Succeeded');

      // The spec cannot change: a new request is a new object.
      const patched = await c.target.kubectl(['patch', 'vmm', 'to-200', '-n', 'paper', '--type=merge', '-p', '{"spec":{"targetHost":"node100"}}']);
      assert.notEqual(patched.code, 0);
      assert.match(patched.stderr, /spec is immutable/);
      const table = await c.kubectlOk(['get', 'vmm', '-n', 'paper']);
      assert.match(table, /^NAME\s+PLACEMENT\s+PHASE\s+SOURCE\s+TARGET\s+REASON\s+AGE/);
      noRefusals(operator);
    });
  });
});
