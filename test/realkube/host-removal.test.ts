/**
 * Issue 19 end to end, driven by kubectl alone, with `tide run --simulate` as a process (on the
 * real kube-apiserver as the chart's operator ServiceAccount, where the real authorizer holds it
 * to permissions.ts): on both server tiers,
 *
 * 1. `kubectl delete ph` of a host running VMs Tide manages evacuates it first; a host whose last
 *    VM cannot move (pinned) stays, with a condition naming it and one Event per change; the
 *    force-remove annotation lets it go at once; a host that is off goes at once;
 * 2. a placement whose VM was left on the removed host reads Unknown / HostUnmanaged, never
 *    NotFound;
 * 3. a ConsolidationPolicy the hosts cannot satisfy says so (Satisfiable=False with the numbers)
 *    with one Warning Event per change, not per round;
 * 4. the uninstall steps of docs/install.md take the finalizer off hosts whose operator is gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './envtest.ts';
import { forEachInstalledTier } from './clusters.ts';
import { anotherPlanRound, condition, eventually, events, reasonOnceSent, FINALIZER, leaderStarted, paper, paperCluster, startPaperOperator } from './paper-hosts.ts';
import { noRefusals, withLogsOnFailure } from './tide-processes.ts';

forEachInstalledTier((cluster) => {
  const operatorFor = startPaperOperator;

  test('kubectl delete ph evacuates the host first; a pinned VM holds it, named in its conditions; force-remove lets it go; the VM left there reads HostUnmanaged', async (t) => {
    const c = await cluster();
    const operator = operatorFor(c, t);
    await withLogsOnFailure([operator], async () => {
      await leaderStarted(operator);
      await paperCluster(c);
      await eventually('the finalizer on both hosts', async () => (await c.getJson('ph')).items.every((h: any) => h.metadata.finalizers?.includes(FINALIZER)) || null);
      await eventually('both hosts observed', async () => (await c.getJson('ph')).items.every((h: any) => h.status?.vmCount === 4) || null);
      await c.kubectlOk(['patch', 'vmp', 'vm-5', '-n', 'paper', '--type=merge', '-p', '{"spec":{"pinnedHost":"node200"}}']);

      // No policy yet: Tide may not move anything, so the host waits and says why.
      await c.kubectlOk(['delete', 'ph', 'node200', '--wait=false']);
      const waiting = await eventually('node200 waiting for a policy', async () => {
        const h = await c.getJson('ph', 'node200');
        return condition(h, 'Removing')?.reason === 'NoPolicy' && h;
      });
      assert.ok(waiting.metadata.deletionTimestamp, 'node200 is being deleted, held by the finalizer');
      assert.match(condition(waiting, 'Removing').message, /4 VMs Tide manages \(vm-5, vm-6, vm-7, vm-8\)/);

      await c.kubectlOk(['apply', ...paper('policy.yaml')]);
      for (const vm of ['vm-6', 'vm-7', 'vm-8']) {
        const p = await eventually(`${vm} evacuated to node100`, async () => {
          const x = await c.getJson('vmp', vm, '-n', 'paper');
          return x.status?.host === 'node100' && x.status?.migration?.phase === 'Succeeded' && x;
        });
        assert.deepEqual([p.status.migration.from, p.status.migration.reason], ['node200', 'Evacuate']);
      }
      const blocked = await eventually('node200 blocked by vm-5', async () => {
        const h = await c.getJson('ph', 'node200');
        return condition(h, 'Removing')?.reason === 'EvacuationBlocked' && h;
      });
      assert.match(condition(blocked, 'Removing').message, /vm-5 \(pinned to node200\)/);
      assert.equal(condition(blocked, 'Evacuated')?.status, 'True', 'no VM that can move is left');
      assert.match(condition(blocked, 'Evacuated').message, /vm-5 \(pinned to node200\) cannot move/);
      assert.equal(condition(blocked, 'Removing').status, 'True');
      // Rounds go on; the Event does not repeat while what it says stays the same.
      await anotherPlanRound(c, 11);
      await anotherPlanRound(c, 12);
      const blockedEvents = await events(c, 'EvacuationBlocked');
      assert.equal(blockedEvents.length, 1, `one EvacuationBlocked Event: ${blockedEvents.map((e) => e.message).join(' | ')}`);
      assert.equal(blockedEvents[0].type, 'Warning');
      assert.equal((await events(c, 'NoPolicy')).length, 1);
      assert.equal((await c.getJson('ph', 'node100')).status?.powerState, 'On', 'removal powers nothing off');

      await c.kubectlOk(['annotate', 'ph', 'node200', 'tide.dev/force-remove=true']);
      await c.kubectlOk(['wait', '--for=delete', 'ph/node200', '--timeout=60s']);
      const forced = (await reasonOnceSent(c, 'ForceRemoved'))[0];
      assert.equal(forced.type, 'Warning');
      assert.match(forced.message, /vm-5/);

      // The VM still runs on node200, where Tide no longer looks: unknown, not gone.
      const unmanaged = async () => {
        const vm5 = await c.getJson('vmp', 'vm-5', '-n', 'paper');
        return vm5.status?.state === 'Unknown' && condition(vm5, 'Ready')?.reason === 'HostUnmanaged' && vm5;
      };
      const vm5 = await eventually('vm-5 to read HostUnmanaged', unmanaged);
      assert.equal(vm5.status.host, 'node200');
      assert.match(condition(vm5, 'Ready').message, /not a PhysicalHost Tide governs/);
      await anotherPlanRound(c, 13);
      assert.ok(await unmanaged(), 'still HostUnmanaged, never NotFound, after further rounds');
      noRefusals(operator);
    });
  });

  test('a host that is off goes at once', async (t) => {
    const c = await cluster();
    const operator = operatorFor(c, t);
    await withLogsOnFailure([operator], async () => {
      await leaderStarted(operator);
      await paperCluster(c);
      await c.kubectlOk(['apply', ...paper('policy.yaml')]);
      await c.kubectlOk(['wait', '--for=jsonpath={.status.powerState}=Off', 'physicalhost/node100', '--timeout=120s']);
      const began = Date.now();
      await c.kubectlOk(['delete', 'ph', 'node100', '--timeout=60s']);
      const removed = (await reasonOnceSent(c, 'Removed'))[0];
      assert.match(removed.message, /node100 removed: it is off/);
      t.diagnostic(`node100 (off) gone ${((Date.now() - began) / 1000).toFixed(1)} s after kubectl delete`);
      noRefusals(operator);
    });
  });

  test('a policy the hosts cannot satisfy says so, with the numbers, and one Warning Event per change', async (t) => {
    const c = await cluster();
    const operator = operatorFor(c, t);
    await withLogsOnFailure([operator], async () => {
      await leaderStarted(operator);
      await paperCluster(c);
      const policy = { apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: { name: 'default' }, spec: { minHostsOn: 5, dryRun: true } };
      await c.kubectlOk(['apply', '-f', '-'], JSON.stringify(policy));
      const satisfiable = (reason: string) => eventually(`Satisfiable ${reason}`, async () => {
        const cond = condition(await c.getJson('conspol', 'default'), 'Satisfiable');
        return cond?.reason === reason && cond;
      });
      const unreachable = await satisfiable('MinHostsOnUnreachable');
      assert.equal(unreachable.status, 'False');
      assert.match(unreachable.message, /minHostsOn 5 > 2 governed hosts not in maintenance \(2 governed, 0 in maintenance\)/);
      await anotherPlanRound(c, 11);
      await anotherPlanRound(c, 12);
      assert.equal((await events(c, 'MinHostsOnUnreachable')).length, 1, 'once per change, not per round');

      await c.kubectlOk(['patch', 'conspol', 'default', '--type=merge', '-p', '{"spec":{"hostSelector":{"matchLabels":{"rack":"r9"}}}}']);
      assert.match((await satisfiable('NoHostsSelected')).message, /hostSelector rack=r9 selects none of the 2 PhysicalHosts/);

      // Hosts into maintenance first (the policy still selects none of them), then select them all.
      for (const h of ['node100', 'node200']) await c.kubectlOk(['patch', 'ph', h, '--type=merge', '-p', '{"spec":{"maintenance":true}}']);
      await c.kubectlOk(['patch', 'conspol', 'default', '--type=json', '-p', '[{"op":"remove","path":"/spec/hostSelector"},{"op":"replace","path":"/spec/minHostsOn","value":1}]']);
      assert.match((await satisfiable('AllHostsInMaintenance')).message, /all 2 governed hosts are in maintenance/);

      await c.kubectlOk(['patch', 'ph', 'node100', '--type=merge', '-p', '{"spec":{"maintenance":false}}']);
      const ok = await satisfiable('Satisfiable');
      assert.equal(ok.status, 'True');
      const warnings = (await c.getJson('events', '-A')).items.filter((e: any) => e.type === 'Warning' && e.involvedObject.kind === 'ConsolidationPolicy').map((e: any) => e.reason);
      assert.deepEqual(warnings.sort(), ['AllHostsInMaintenance', 'MinHostsOnUnreachable', 'NoHostsSelected']);
      assert.equal((await reasonOnceSent(c, 'Satisfiable')).length, 1, 'a Normal Event when it can be met again');
      noRefusals(operator);
    });
  });

  test('uninstall: with the operator gone its finalizer holds a deleted host, and the step of docs/install.md lets it go', async (t) => {
    const docs = readFileSync(join(ROOT, 'docs/install.md'), 'utf8');
    const patch = /^kubectl get ph -o name \| xargs -I\{\} kubectl patch \{\} --type=merge -p '(\{"metadata":[^']+)'$/m.exec(docs)?.[1];
    assert.ok(patch, 'docs/install.md shows the finalizer patch');
    const c = await cluster();
    const operator = operatorFor(c, t);
    await withLogsOnFailure([operator], async () => {
      await leaderStarted(operator);
      await paperCluster(c);
      await eventually('the finalizer on both hosts', async () => (await c.getJson('ph')).items.every((h: any) => h.metadata.finalizers?.includes(FINALIZER)) || null);
    });
    await operator.stop(); // helm uninstall: the operator is gone, its finalizer is not

    await c.kubectlOk(['delete', 'ph', '--all', '--wait=false']);
    const stuck = await c.target.kubectl(['wait', '--for=delete', 'ph', '--all', '--timeout=3s']);
    assert.notEqual(stuck.code, 0, 'without the operator, the hosts are held');
    assert.equal((await c.getJson('ph')).items.length, 2);

    for (const name of (await c.kubectlOk(['get', 'ph', '-o', 'name'])).trim().split('\n')) await c.kubectlOk(['patch', name, '--type=merge', '-p', patch!]);
    await c.kubectlOk(['wait', '--for=delete', 'ph', '--all', '--timeout=30s']);
    assert.equal((await c.getJson('ph')).items.length, 0);
  });
});
