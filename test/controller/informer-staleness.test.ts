/**
 * Issue 20, finding 5: a watch whose connection dies silently (the peer neither answers nor
 * closes, as behind a NAT that forgot it) must not leave the informer cache stale for ever.
 * A TCP proxy in front of the embedded API server freezes every connection open at a moment;
 * a change made after that must still reach the cache, through a restarted watch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { customResourceDefinition, GROUP, PHYSICAL_HOST, RESOURCES, VERSION } from '../../src/api/crds.ts';
import { ResourceInformers } from '../../src/controller/informers.ts';
import { startApiServer } from '../../src/kube/apiserver/index.ts';
import type { KubeObject } from '../../src/kube/apiserver/types.ts';
import { eventually } from './harness.ts';

/** Forwards TCP to `port`; freeze() stops forwarding on every connection open now, without closing it. */
async function freezingProxy(port: number) {
  const open = new Set<[Socket, Socket]>();
  const all = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    all.add(client).add(upstream);
    open.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => (open.delete(pair), client.destroy(), upstream.destroy());
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    freeze() {
      for (const [client, upstream] of open) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
      open.clear();
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of all) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

const host = (name: string, cores: number) => ({
  apiVersion: `${GROUP}/${VERSION}`, kind: 'PhysicalHost', metadata: { name },
  spec: { address: '127.0.0.1', capacity: { cpuCores: cores, memoryMiB: 4096 } },
});

test('a silently dead watch is replaced: a change made after the freeze reaches the cache', async (t) => {
  const api = await startApiServer({ objects: RESOURCES.map((d) => customResourceDefinition(d) as KubeObject) });
  t.after(() => api.stop());
  const proxy = await freezingProxy(Number(new URL(api.url).port));
  t.after(() => proxy.close());
  const direct = api.kubeConfig();
  const viaProxy = new KubeConfig();
  viaProxy.loadFromString(api.kubeconfig.replace(api.url, `https://127.0.0.1:${proxy.port}`));

  const objects = direct.makeApiClient(CustomObjectsApi);
  await objects.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PHYSICAL_HOST.plural, body: host('node100', 4) });
  const informers = new ResourceInformers(viaProxy, { onSpecChange: () => {}, onError: () => {} }, { watchRestartMs: 500 });
  t.after(() => informers.stop());
  await informers.start();
  await eventually('the cache holds node100', async () => informers.listHosts().length === 1, 10_000);

  proxy.freeze();
  await objects.patchClusterCustomObject({ group: GROUP, version: VERSION, plural: PHYSICAL_HOST.plural, name: 'node100', body: [{ op: 'replace', path: '/spec/capacity/cpuCores', value: 8 }] });
  const cores = await eventually('the cache sees the new spec', async () => {
    const c = informers.listHosts()[0]?.spec.capacity.cpuCores;
    return c === 8 ? c : undefined;
  }, 10_000);
  assert.equal(cores, 8);
});
