/**
 * Issue 15 item 1 end to end, by kubectl alone, with `tide run --simulate` as a process (on the
 * real kube-apiserver as the chart's operator ServiceAccount: the real authorizer holds it to
 * permissions.ts), on both server tiers: a policy with `approval: Manual` proposes the paper's
 * consolidation as a ConsolidationPlan (actions, reasons, predictions) and moves nothing; a
 * later round with the same proposal creates no second plan; a change that invalidates the plan
 * supersedes it, and approving it then runs nothing; an approval applied as a GitOps tool would
 * (server-side apply of `approved: true`) runs the plan through the executor to Succeeded. The
 * policy's status.pendingPlan names the plan waiting, and is gone once none waits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachInstalledTier, NAMESPACE, type TideCluster } from './clusters.ts';
import { noRefusals, withLogsOnFailure } from './tide-processes.ts';
import { eventually, leaderStarted, paper, paperCluster, startPaperOperator } from './paper-hosts.ts';

const IDLE_WATTS = 50;

const plans = async (c: TideCluster) => (await c.getJson('cplan', '-n', NAMESPACE)).items as any[];
const vmHosts = async (c: TideCluster) => Object.fromEntries((await c.getJson('vmp', '-n', 'paper')).items.map((p: any) => [p.metadata.name, p.status?.host]));

forEachInstalledTier((cluster) => {
  test('approval Manual: the round proposes a cplan and moves nothing; an invalidated plan is superseded and never runs; an approved one runs to Succeeded', async (t) => {
    const c = await cluster();
    const operator = startPaperOperator(c, t);
    await withLogsOnFailure([operator], async () => {
      await leaderStarted(operator);
      await paperCluster(c, { idleWatts: IDLE_WATTS });
      await eventually('both hosts observed', async () => (await c.getJson('ph')).items.every((h: any) => h.status?.vmCount === 4) || null);
      const before = await vmHosts(c);
      await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: { name: 'default' }, spec: { strategy: 'paper', approval: 'Manual' } }));

      // Proposed: every action with its reason, the predictions; nothing moved.
      const first = await eventually('a Proposed plan', async () => (await plans(c)).find((p) => p.status?.phase === 'Proposed'));
      assert.equal(first.metadata.labels['tide.dev/policy'], 'default');
      const policyUid = (await c.getJson('consolidationpolicy', 'default')).metadata.uid;
      assert.deepEqual(first.metadata.ownerReferences.map((o: any) => [o.kind, o.name, o.uid]), [['ConsolidationPolicy', 'default', policyUid]]);
      assert.equal(first.spec.approved, undefined, 'not approved');
      const actions = first.status.actions.map((a: any) => [a.type, a.reason, a.vm ?? a.host, a.to ?? '']);
      assert.deepEqual(actions.filter((a: string[]) => a[0] === 'power-off'), [['power-off', 'EmptyHost', 'node100', '']]);
      const moves = actions.filter((a: string[]) => a[0] === 'migrate');
      assert.deepEqual(moves.map((a: string[]) => a[2]).sort(), ['vm-1', 'vm-2', 'vm-3', 'vm-4']);
      assert.ok(moves.every((a: string[]) => a[1] === 'Consolidate' && a[3] === 'node200'), JSON.stringify(moves));
      assert.ok(first.status.actions.every((a: any) => a.message.length > 10), 'each action says why');
      assert.deepEqual(first.status.prediction, { windowSeconds: 3600, wattsSaved: IDLE_WATTS, energySavedWh: IDLE_WATTS, hostsOverThreshold: [], minutesOverloaded: 0 });
      assert.deepEqual(await vmHosts(c), before, 'no VM moved while the plan waits');
      assert.equal((await c.getJson('ph', 'node100')).status.powerState, 'On');

      // Another round with the same proposal: still one plan, still waiting.
      const evaluated = (await c.getJson('consolidationpolicy', 'default')).status?.lastEvaluationTime;
      await c.kubectlOk(['patch', 'consolidationpolicy', 'default', '--type=merge', '-p', '{"spec":{"balanceThresholdPercent":11}}']);
      await eventually('another plan round', async () => (await c.getJson('consolidationpolicy', 'default')).status?.lastEvaluationTime !== evaluated);
      assert.deepEqual((await plans(c)).map((p) => [p.metadata.name, p.status.phase]), [[first.metadata.name, 'Proposed']]);
      assert.equal((await c.getJson('consolidationpolicy', 'default')).status.pendingPlan, first.metadata.name, 'the policy names the plan to approve');

      // Its target goes into maintenance: the plan no longer holds, is superseded, and approving it runs nothing.
      await c.kubectlOk(['patch', 'ph', 'node200', '--type=merge', '-p', '{"spec":{"maintenance":true}}']);
      const superseded = await eventually('the plan Superseded', async () => {
        const p = (await plans(c)).find((x) => x.metadata.name === first.metadata.name);
        return p?.status.phase === 'Superseded' && p;
      });
      assert.equal(superseded.status.reason, 'Invalidated');
      assert.match(superseded.status.message, /node200 is in maintenance/);
      const refused = await c.target.kubectl(['patch', 'cplan', first.metadata.name, '-n', NAMESPACE, '--type=merge', '-p', '{"spec":{"approved":true}}']);
      assert.equal(refused.code, 0, 'the API accepts the approval; Tide ignores it');
      await c.kubectlOk(['patch', 'ph', 'node200', '--type=merge', '-p', '{"spec":{"maintenance":false}}']);
      // (While node200 was in maintenance the round proposed evacuating it: that plan is superseded now.)
      const consolidates = (p: any) => p.status?.phase === 'Proposed' && p.status.actions.some((a: any) => a.type === 'power-off' && a.host === 'node100');
      const second = await eventually('a new Proposed consolidation', async () => (await plans(c)).find((p) => consolidates(p) && p.metadata.name !== first.metadata.name));
      assert.equal((await plans(c)).find((p) => p.metadata.name === first.metadata.name).status.phase, 'Superseded', 'an approved, superseded plan stays superseded');
      assert.deepEqual(await vmHosts(c), before, 'nothing ran');

      // Approved as a GitOps tool would: server-side apply of approved: true.
      const approval = { apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPlan', metadata: { name: second.metadata.name, namespace: NAMESPACE }, spec: { approved: true } };
      await c.kubectlOk(['apply', '--server-side', '--field-manager=gitops', '-f', '-'], JSON.stringify(approval));
      const done = await eventually('the plan Succeeded', async () => {
        const p = (await plans(c)).find((x) => x.metadata.name === second.metadata.name);
        if (p?.status.phase === 'Failed') throw new Error(`plan failed: ${p.status.message}`);
        return p?.status.phase === 'Succeeded' && p;
      }, 120_000);
      assert.deepEqual(done.status.results.map((r: any) => r.result), done.status.actions.map(() => 'succeeded'));
      assert.ok(done.status.approvedAt && done.status.completedAt);
      assert.deepEqual(Object.values(await vmHosts(c)).filter((h) => h === 'node100'), [], 'every VM left node100');
      for (const vm of ['vm-1', 'vm-2', 'vm-3', 'vm-4']) assert.equal((await c.getJson('vmp', vm, '-n', 'paper')).status.migration.reason, 'Consolidate', vm);
      await c.kubectlOk(['wait', '--for=jsonpath={.status.powerState}=Off', 'physicalhost/node100', '--timeout=60s']);
      await eventually('no plan waiting on the policy', async () => !('pendingPlan' in (await c.getJson('consolidationpolicy', 'default')).status));
      const reasons = (await c.getJson('events', '-n', NAMESPACE)).items.filter((e: any) => e.involvedObject.kind === 'ConsolidationPlan').map((e: any) => `${e.involvedObject.name === first.metadata.name ? 'first' : 'second'}:${e.reason}`);
      for (const r of ['first:PlanProposed', 'first:PlanSuperseded', 'second:PlanProposed', 'second:PlanSucceeded']) assert.ok(reasons.includes(r), `${r} in ${reasons.join(', ')}`);
      assert.match(await c.kubectlOk(['get', 'cplan', '-n', NAMESPACE]), /^NAME\s+POLICY\s+PHASE\s+APPROVED\s+WATTS SAVED\s+OVERLOAD MIN\s+REASON\s+AGE/);
      noRefusals(operator);
    });
  });
});
