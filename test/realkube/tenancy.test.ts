/**
 * Issue 14, tenancy, end to end through kubectl with `tide run --simulate` as a process, on both
 * server tiers (on the real one as the chart's operator ServiceAccount, whose Role lets it read
 * Secrets in tide-system only):
 *
 * 1. a PhysicalHost naming a Secret outside Tide's namespace is refused with a condition that
 *    says so, and Tide leaves the host alone; a ref without a namespace means Tide's own;
 * 2. a VirtualMachinePlacement claiming a domain an older placement in another namespace already
 *    claims reads Conflict=True naming that claim, and nothing moves on its account; once the
 *    older claim goes, it governs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachInstalledTier, NAMESPACE } from './clusters.ts';
import { noRefusals, withLogsOnFailure } from './tide-processes.ts';
import { condition, eventually, leaderStarted, paper, paperCluster, startPaperOperator } from './paper-hosts.ts';

const namespace = (name: string) => JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

forEachInstalledTier((cluster) => {
  test("a host naming a Secret in another namespace is refused (Reachable=False, SecretOutsideNamespace) and left alone; a ref without a namespace means Tide's", async (t) => {
    const c = await cluster();
    const operator = startPaperOperator(c, t);
    await withLogsOnFailure([operator], async () => {
      await leaderStarted(operator);
      await c.kubectlOk(['apply', '-f', '-'], namespace('team-x'));
      await c.kubectlOk(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bmc', namespace: 'team-x' }, stringData: { username: 'admin', password: 'not-for-tide' } }));
      await paperCluster(c);
      await c.kubectlOk(['patch', 'ph', 'node200', '--type=merge', '-p', '{"spec":{"ssh":{"secretRef":{"name":"bmc","namespace":"team-x"}}}}']);
      const refused = await eventually('node200 refused', async () => {
        const h = await c.getJson('ph', 'node200');
        return condition(h, 'Reachable')?.reason === 'SecretOutsideNamespace' && h;
      });
      assert.equal(condition(refused, 'Reachable').status, 'False');
      assert.match(condition(refused, 'Reachable').message, /spec\.ssh\.secretRef names Secret team-x\/bmc, outside Tide's namespace tide-system/);
      assert.equal(refused.status.vmCount, undefined, 'its VMs are unknown: it was not contacted');
      assert.equal(condition(await c.getJson('ph', 'node100'), 'Reachable')?.status, 'True', 'the other host is observed as before');
      assert.doesNotMatch(operator.tail(1e6), /not-for-tide/, 'the Secret never reaches the log');

      // Omitting the namespace names Tide's own: the host is observed again.
      await c.kubectlOk(['patch', 'ph', 'node200', '--type=merge', '-p', '{"spec":{"ssh":{"secretRef":{"name":"tide-ssh","namespace":null}}}}']);
      const fixed = await eventually('node200 observed', async () => {
        const h = await c.getJson('ph', 'node200');
        return condition(h, 'Reachable')?.status === 'True' && h;
      });
      assert.deepEqual(fixed.spec.ssh.secretRef, { name: 'tide-ssh' });
      assert.equal(fixed.status.vmCount, 4);
      noRefusals(operator);
    });
  });

  test('a placement claiming a domain an older one in another namespace holds reads Conflict=True naming it, and moves nothing; when the older goes, it governs', async (t) => {
    const c = await cluster();
    const operator = startPaperOperator(c, t);
    await withLogsOnFailure([operator], async () => {
      await leaderStarted(operator);
      await paperCluster(c);
      await c.kubectlOk(['apply', '-f', '-'], namespace('a-team'));
      // A later claim (one second later: creationTimestamp has seconds) whose namespace sorts
      // first: the age decides, not the name. Were it heeded, node100 could never be emptied.
      await new Promise((r) => setTimeout(r, 1100));
      const grab = { apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachinePlacement', metadata: { name: 'grab', namespace: 'a-team' }, spec: { domain: 'vm-1', pinnedHost: 'node100', doNotMigrate: true } };
      await c.kubectlOk(['apply', '-f', '-'], JSON.stringify(grab));
      const conflicted = await eventually('a-team/grab in conflict', async () => {
        const p = await c.getJson('vmp', 'grab', '-n', 'a-team');
        return condition(p, 'Conflict')?.status === 'True' && p;
      });
      assert.equal(condition(conflicted, 'Conflict').reason, 'DomainClaimed');
      assert.match(condition(conflicted, 'Conflict').message, /domain vm-1 is already claimed by VirtualMachinePlacement paper\/vm-1/);
      assert.equal(condition(conflicted, 'Ready')?.reason, 'Conflict');
      const owner = await eventually('paper/vm-1 sole claim', async () => {
        const p = await c.getJson('vmp', 'vm-1', '-n', 'paper');
        return condition(p, 'Conflict')?.status === 'False' && p;
      });
      assert.equal(condition(owner, 'Ready')?.status, 'True');

      // The paper's consolidation empties node100, vm-1 included, as if the claim did not exist.
      await c.kubectlOk(['apply', ...paper('policy.yaml')]);
      await c.kubectlOk(['wait', '--for=jsonpath={.status.powerState}=Off', 'physicalhost/node100', '--timeout=120s']);
      const vm1 = await c.getJson('vmp', 'vm-1', '-n', 'paper');
      assert.deepEqual([vm1.status.host, vm1.status.migration?.phase], ['node200', 'Succeeded']);
      assert.equal((await c.getJson('vmp', 'grab', '-n', 'a-team')).status?.migration, undefined, 'no migration on the conflicted claim');

      await c.kubectlOk(['delete', 'vmp', 'vm-1', '-n', 'paper']);
      await eventually('a-team/grab governs once the older claim is gone', async () => condition(await c.getJson('vmp', 'grab', '-n', 'a-team'), 'Conflict')?.status === 'False');
      noRefusals(operator);
    });
  });
});
