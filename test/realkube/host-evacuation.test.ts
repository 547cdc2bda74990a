/**
 * Issue 14, items 1 and 3, end to end through kubectl with `tide run --simulate` as a process, on
 * both server tiers (the real one as the chart's operator ServiceAccount). One operator, one
 * story, to keep it short:
 *
 * 1. `maintenance: true` evacuates node200 the DRS way: every movable VM is live-migrated off, a
 *    pinned and a doNotMigrate VM stay and are named; `kubectl wait --for=condition=Evacuated`
 *    returns; status.evacuation says what is left; Events; the host is not powered off;
 * 2. `powerPolicy: Off` powers it off only once nothing runs there (after the two VMs are freed),
 *    and the API server refuses Off on a host Tide cannot power off;
 * 3. `powerPolicy: AlwaysOn` (maintenance over) wakes it, and the Evacuated condition goes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachInstalledTier, type TideCluster } from './clusters.ts';
import { condition, eventually, events, reasonOnceSent, leaderStarted, paper, paperCluster, startPaperOperator } from './paper-hosts.ts';
import { noRefusals, withLogsOnFailure } from './tide-processes.ts';

const patchHost = (c: TideCluster, name: string, spec: object) => c.kubectlOk(['patch', 'ph', name, '--type=merge', '-p', JSON.stringify({ spec })]);
const patchVm = (c: TideCluster, name: string, spec: object) => c.kubectlOk(['patch', 'vmp', name, '-n', 'paper', '--type=merge', '-p', JSON.stringify({ spec })]);

forEachInstalledTier((cluster) => {
  test('maintenance evacuates a host (kubectl wait --for=condition=Evacuated), powerPolicy Off powers it off once empty, AlwaysOn wakes it', async (t) => {
    const c = await cluster();
    const operator = startPaperOperator(c, t);
    await withLogsOnFailure([operator], async () => {
      await leaderStarted(operator);
      await paperCluster(c);
      await eventually('both hosts observed', async () => (await c.getJson('ph')).items.every((h: any) => h.status?.vmCount === 4) || null);
      assert.equal((await c.getJson('ph', 'node200')).spec.powerPolicy, 'Auto', 'the default: Tide decides');

      // Off needs a way to power the host off: the API server says so.
      const refused = await c.target.kubectl(['patch', 'ph', 'node100', '--type=json', '-p', '[{"op":"remove","path":"/spec/power"},{"op":"add","path":"/spec/powerPolicy","value":"Off"}]']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /powerPolicy Off needs a way to power the host off/);

      await patchVm(c, 'vm-5', { pinnedHost: 'node200' });
      await patchVm(c, 'vm-6', { doNotMigrate: true });
      await patchHost(c, 'node200', { maintenance: true });
      const noPolicy = await eventually('Evacuated=False NoPolicy', async () => {
        const h = await c.getJson('ph', 'node200');
        return condition(h, 'Evacuated')?.reason === 'NoPolicy' && h;
      });
      assert.equal(condition(noPolicy, 'Evacuated').status, 'False');
      assert.match(condition(noPolicy, 'Evacuated').message, /node200 still runs 4 VMs Tide manages \(vm-5, vm-6, vm-7, vm-8\)/);

      await c.kubectlOk(['apply', ...paper('policy.yaml')]);
      await c.kubectlOk(['wait', '--for=condition=Evacuated', 'ph/node200', '--timeout=90s']);
      const evacuated = await c.getJson('ph', 'node200');
      assert.match(condition(evacuated, 'Evacuated').message, /no VM that can move is left; vm-5 \(pinned to node200\), vm-6 \(doNotMigrate\) cannot move/);
      assert.deepEqual(evacuated.status.evacuation, {
        vmsLeft: 2, movable: 0,
        cannotMove: [{ vm: 'vm-5', reason: 'pinned to node200' }, { vm: 'vm-6', reason: 'doNotMigrate' }],
      });
      for (const vm of ['vm-7', 'vm-8']) {
        const p = await c.getJson('vmp', vm, '-n', 'paper');
        assert.deepEqual([p.status.host, p.status.migration.from, p.status.migration.reason, p.status.migration.phase], ['node100', 'node200', 'Evacuate', 'Succeeded']);
      }
      assert.equal(evacuated.status.powerState, 'On', 'maintenance alone powers nothing off');
      const blocked = await reasonOnceSent(c, 'EvacuationBlocked');
      assert.equal(blocked.length, 1);
      assert.equal(blocked[0].type, 'Warning');
      assert.equal((await events(c, 'NoPolicy')).filter((e) => e.involvedObject.name === 'node200').length, 1);

      // 2. Off: kept on while the two VMs stay; freed, they leave and the host goes off.
      await patchHost(c, 'node200', { powerPolicy: 'Off' });
      await patchVm(c, 'vm-5', { pinnedHost: null });
      await patchVm(c, 'vm-6', { doNotMigrate: false });
      await c.kubectlOk(['wait', '--for=jsonpath={.status.powerState}=Off', 'ph/node200', '--timeout=90s']);
      const off = await c.getJson('ph', 'node200');
      assert.deepEqual([off.status.powerAction.type, off.status.powerAction.reason, off.status.powerAction.phase], ['PowerOff', 'PowerPolicyOff', 'Succeeded']);
      for (const vm of ['vm-5', 'vm-6']) assert.equal((await c.getJson('vmp', vm, '-n', 'paper')).status.host, 'node100', `${vm} left node200 before it went off`);
      await c.kubectlOk(['wait', '--for=condition=Evacuated', 'ph/node200', '--timeout=30s']);

      // 3. AlwaysOn, maintenance over: woken at once; Evacuated is gone.
      await patchHost(c, 'node200', { powerPolicy: 'AlwaysOn', maintenance: false });
      await c.kubectlOk(['wait', '--for=jsonpath={.status.powerState}=On', 'ph/node200', '--timeout=90s']);
      const on = await eventually('Evacuated cleared', async () => {
        const h = await c.getJson('ph', 'node200');
        return !condition(h, 'Evacuated') && !h.status.evacuation && h;
      });
      assert.deepEqual([on.status.powerAction.type, on.status.powerAction.reason], ['PowerOn', 'StandbyNotAllowed']);
      assert.equal((await reasonOnceSent(c, 'EvacuationEnded')).length, 1);
      noRefusals(operator);
    });
  });
});
