/**
 * The informer caches keep no metadata.managedFields (informers.ts, withoutManagedFields): at
 * fleet size they were the bulk of every cached object. A status written from the cached copy
 * (cluster.ts tries it first) leaves the server's managedFields as they were, plus the writer's
 * own entry, on both servers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, PHYSICAL_HOST, specWithDefaults, VERSION } from '../../src/api/crds.ts';
import type { PhysicalHost } from '../../src/api/types.ts';
import { KubeClusterWriter } from '../../src/controller/cluster.ts';
import { ResourceInformers } from '../../src/controller/informers.ts';
import { tunedKubeConfig } from '../../src/controller/kube-client.ts';
import { eventually, repoPath, serverTiers, type KubeTarget } from '../kube/harness.ts';

type Managed = { manager?: string; operation?: string; subresource?: string };

for (const tier of serverTiers()) {
  describe(tier.name, { skip: tier.skip }, () => {
    let target: KubeTarget;
    before(async () => {
      target = await tier.start();
      await target.applyCrds(join(repoPath('manifests/crds'), '/'));
    });
    after(() => target?.close());

    test('cached objects hold no managedFields; a status write from the cache keeps the server\'s', async (t) => {
      const kc = tunedKubeConfig(target.kubeConfig());
      t.after(() => kc.destroy());
      const custom = kc.makeApiClient(CustomObjectsApi);
      const base = { group: GROUP, version: VERSION, plural: PHYSICAL_HOST.plural };
      const spec = { address: '127.0.0.1', capacity: { cpuCores: 8, memoryMiB: 4096 } };
      await custom.createClusterCustomObject({
        ...base,
        fieldManager: 'creator',
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'PhysicalHost', metadata: { name: 'h1' }, spec },
      });
      const informers = new ResourceInformers(kc, { onSpecChange: () => {}, onError: () => {} });
      await informers.start();
      t.after(() => informers.stop());

      const cached = informers.listHosts().find((h) => h.metadata.name === 'h1');
      assert.ok(cached, 'listed');
      assert.equal('managedFields' in cached.metadata, false, 'no managedFields from the list');
      assert.deepEqual(cached.spec, specWithDefaults(PHYSICAL_HOST, spec), 'spec defaults still filled in');

      await new KubeClusterWriter(kc, 'test').updateStatus<NonNullable<PhysicalHost['status']>>({ def: PHYSICAL_HOST, name: 'h1', cached }, (s) => ({ ...s, cpuLoadPercent: 12 }));
      const live = (await custom.getClusterCustomObject({ ...base, name: 'h1' })) as PhysicalHost & { metadata: { managedFields?: Managed[] } };
      assert.equal(live.status?.cpuLoadPercent, 12);
      const managers = (live.metadata.managedFields ?? []).map((m) => `${m.manager}/${m.subresource ?? ''}`);
      assert.ok(managers.includes('creator/'), `the creator's entry is kept: ${managers.join(', ')}`);
      assert.ok(managers.some((m) => m.endsWith('/status')), `the status write has its own entry: ${managers.join(', ')}`);

      // The write comes back through the watch, also without managedFields.
      const updated = await eventually('the written status in the cache', () => informers.listHosts().find((h) => h.status?.cpuLoadPercent === 12));
      assert.equal('managedFields' in updated.metadata, false, 'no managedFields from the watch');
    });
  });
}
