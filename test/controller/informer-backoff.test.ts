/**
 * Issue 14, item 5: an unreachable API server makes the informers back off. client-node fires
 * 'connect' before every list, so a backoff reset by it stayed at its first step: a request and
 * a warning every 250 ms per informer, for ever. Now only an answer (a list, an object) resets it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { customResourceDefinition, RESOURCES } from '../../src/api/crds.ts';
import { ResourceInformers } from '../../src/controller/informers.ts';
import { startApiServer } from '../../src/kube/apiserver/index.ts';
import type { KubeObject } from '../../src/kube/apiserver/types.ts';
import { eventually } from './harness.ts';

function kubeConfigFor(port: number): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }, { name: 'u' });
  return kc;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Error times per kind, in ms since `since`. */
function recorder() {
  const since = Date.now();
  const errors = new Map<string, number[]>();
  return {
    errors,
    events: {
      onSpecChange() {},
      onError(kind: string) {
        errors.set(kind, [...(errors.get(kind) ?? []), Date.now() - since]);
      },
    },
  };
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

test('against a closed port the informers back off: few warnings a second, a growing delay', async (t) => {
  const { errors, events } = recorder();
  const informers = new ResourceInformers(kubeConfigFor(await closedPort()), events);
  t.after(() => informers.stop());
  await informers.start();
  await new Promise((r) => setTimeout(r, 2_500));
  await informers.stop();

  assert.ok(errors.size >= 3, `every informer reports its failure: ${[...errors.keys()]}`);
  for (const [kind, times] of errors) {
    // Restarts after 250 ms, then 1 s, then 5 s: three failures in 2.5 s (every 250 ms would be ten).
    assert.ok(times.length >= 2 && times.length <= 3, `${kind}: ${times.length} failures in 2.5 s at ${times}`);
    // Each gap is at least its step (a busy machine only adds to it).
    const g = gaps(times);
    [250, 1000].slice(0, g.length).forEach((step, i) => assert.ok(g[i]! >= step - 5, `${kind}: the delay grows, gaps ${g}`));
  }
  const total = [...errors.values()].reduce((n, times) => n + times.length, 0);
  assert.ok(total / 2.5 <= 1.5 * errors.size, `${total} warnings in 2.5 s from ${errors.size} informers`);
});

/** TCP to `port` while up; while down, every connection is cut (open ones too). */
async function switchableProxy(port: number) {
  let up = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (!up) return void client.destroy();
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {}).on('close', () => (sockets.delete(s), client.destroy(), upstream.destroy()));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    setUp(value: boolean) {
      up = value;
      if (!up) for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((resolve) => {
      up = false;
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

test('an answer from the API server resets the delay: the next outage starts again at 250 ms', async (t) => {
  const api = await startApiServer({ objects: RESOURCES.map((d) => customResourceDefinition(d) as KubeObject) });
  t.after(() => api.stop());
  const proxy = await switchableProxy(Number(new URL(api.url).port));
  t.after(() => proxy.close());
  const { errors, events } = recorder();
  const viaProxy = new KubeConfig();
  viaProxy.loadFromString(api.kubeconfig.replace(api.url, `https://127.0.0.1:${proxy.port}`));
  const informers = new ResourceInformers(viaProxy, events);
  t.after(() => informers.stop());

  await informers.start(); // down: each informer fails once, and retries in 250 ms
  const failedBefore = new Map([...errors].map(([kind, times]) => [kind, times.length]));
  assert.ok(failedBefore.size >= 3);
  proxy.setUp(true); // the retry lists successfully: that answer resets the count
  // An informer opens its watch only once its list was answered (and the count reset): wait
  // for every one of them, not a fixed time, which a loaded machine overran.
  await eventually('every informer listed and watching again', async () => api.openWatches() >= failedBefore.size, 10_000);
  proxy.setUp(false); // the watches are cut
  await eventually('two failures of each informer after the cut', async () => [...failedBefore].every(([kind, n]) => (errors.get(kind)?.length ?? 0) >= n + 2), 10_000);
  await informers.stop();
  for (const [kind, n] of failedBefore) {
    const [cut, retry] = errors.get(kind)!.slice(n);
    // Without the reset the second outage would start at the second step (1 s).
    assert.ok(retry! - cut! < 700, `${kind}: retried ${retry! - cut!} ms after the cut (all: ${errors.get(kind)})`);
  }
});
