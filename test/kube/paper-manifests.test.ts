/**
 * Tide's own CRDs (manifests/crds/) and the paper's example cluster (manifests/examples/paper/)
 * applied with the real kubectl, as the README tells users to; invalid variants rejected with the
 * field named in kubectl's message. On both tiers: the embedded server and a real kube-apiserver.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { repoPath, serverTiers, type KubeTarget, type ServerTier } from './harness.ts';

for (const tier of serverTiers()) describe(tier.name, { skip: tier.skip }, () => suite(tier));

function suite(tier: ServerTier): void {
  let h: KubeTarget;

  before(async () => {
    h = await tier.start();
    await h.applyCrds(repoPath('manifests/crds/'));
    await h.kubectlOk(['apply', '-f', repoPath('manifests/examples/paper/')]);
  });
  after(async () => h?.close());

  const applyJson = (obj: unknown) => h.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });

  const host = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: { name }, spec });
  const policy = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: { name }, spec });

  test('the paper cluster is served with its printer columns, short names and category', async () => {
    const hosts = await h.kubectlOk(['get', 'physicalhosts']);
    const [header, ...rows] = hosts.trim().split('\n');
    assert.match(header!, /^NAME\s+POWER\s+LOAD %\s+WATTS\s+VMS\s+READY\s+AGE$/);
    assert.deepEqual(rows.map((r) => r.split(/\s+/)[0]), ['node100', 'node200']);
    assert.match(await h.kubectlOk(['get', 'physicalhosts', '-o', 'wide']), /^NAME\s+POWER\s+LOAD %\s+WATTS\s+VMS\s+READY\s+MAINTENANCE\s+ADDRESS\s+AGE$/m);
    const vms = await h.kubectlOk(['get', 'virtualmachineplacements', '-n', 'paper', '--no-headers']);
    assert.equal(vms.trim().split('\n').length, 8);
    const everything = await h.kubectlOk(['get', 'tide', '-A', '--no-headers']);
    assert.equal(everything.trim().split('\n').length, 2 + 8 + 1);
  });

  test('the paper policy carries the paper\'s thresholds and the schema\'s defaults', async () => {
    const p = JSON.parse(await h.kubectlOk(['get', 'consolidationpolicy', 'default', '-o', 'json']));
    assert.equal(p.spec.overloadThresholdPercent, 80);
    assert.equal(p.spec.consolidationThresholdPercent, 80);
    assert.equal(p.spec.balanceThresholdPercent, 10);
    assert.equal(p.spec.evaluationInterval, '10m');
    assert.equal(p.spec.timeZone, 'UTC', 'default applied by the server');
    assert.equal(p.metadata.generation, 1);
  });

  test('status written by the operator shows in the columns and leaves the generation alone', async () => {
    const status = { status: { powerState: 'On', cpuLoadPercent: 42, watts: 87.5, vmCount: 4 } };
    await h.kubectlOk(['patch', 'physicalhost', 'node100', '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    const row = (await h.kubectlOk(['get', 'physicalhost', 'node100', '--no-headers'])).trim();
    assert.match(row, /^node100\s+On\s+42\s+87\.5\s+4\s+/);
    assert.equal(JSON.parse(await h.kubectlOk(['get', 'physicalhost', 'node100', '-o', 'json'])).metadata.generation, 1);
  });

  test('a threshold out of range is rejected naming the field', async () => {
    const r = await applyJson(policy('too-high', { overloadThresholdPercent: 150 }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.overloadThresholdPercent: Invalid value: 150: spec\.overloadThresholdPercent in body should be less than or equal to 100/);
  });

  test('a consolidation threshold above the overload threshold breaks the CEL rule', async () => {
    const r = await applyJson(policy('inverted', { overloadThresholdPercent: 70, consolidationThresholdPercent: 90 }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.consolidationThresholdPercent: Invalid value: consolidationThresholdPercent must not exceed overloadThresholdPercent/);
  });

  test('a host without its required capacity is rejected naming the field', async () => {
    const r = await applyJson(host('no-capacity', { address: '10.0.0.9', capacity: { memoryMiB: 1024 } }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.capacity\.cpuCores: Required value/);
  });

  test('Wake-on-LAN without a MAC address is rejected naming the field', async () => {
    const r = await applyJson(host('no-mac', { address: '10.0.0.9', capacity: { cpuCores: 4, memoryMiB: 1024 }, power: { onMethod: 'WakeOnLAN' } }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /spec\.power\.wakeOnLAN: Required value: wakeOnLAN\.macAddress is required when onMethod is WakeOnLAN/);
    const ok = await applyJson(host('with-mac', { address: '10.0.0.9', capacity: { cpuCores: 4, memoryMiB: 1024 }, power: { onMethod: 'WakeOnLAN', wakeOnLAN: { macAddress: '52:54:00:00:09:00' } } }));
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('re-applying the example changes nothing, and kubectl delete -f removes all of it', async () => {
    const again = await h.kubectlOk(['apply', '-f', repoPath('manifests/examples/paper/')]);
    const lines = again.trim().split('\n');
    assert.ok(lines.length >= 12, again);
    for (const line of lines) assert.match(line, / unchanged$/, `re-apply changed something: ${line}`);
    // The Namespace is deleted first (files in order), and the namespace controller may empty it
    // before kubectl reaches the placements in it: that NotFound is the race, not a failure.
    await h.kubectlOk(['delete', '-f', repoPath('manifests/examples/paper/'), '--ignore-not-found', '--timeout=30s']);
    const left = await h.kubectlOk(['get', 'physicalhosts,consolidationpolicies,vmp', '-A', '-o', 'name']);
    // Only the host the Wake-on-LAN test above added is left.
    assert.deepEqual(left.trim().split('\n'), ['physicalhost.tide.dev/with-mac']);
  });
}
