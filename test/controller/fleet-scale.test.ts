/**
 * The pieces that keep the operator's API traffic flat at fleet size (bench/operator.bench.ts
 * measures the whole): the client's token bucket and verb counting, the status bands that keep
 * a quiet fleet from writing, the per-round domain index, and Secrets read from one namespaced
 * informer instead of a GET per host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import type { ObservedHost } from '../../src/api/drivers.ts';
import type { PhysicalHost, VirtualMachinePlacement } from '../../src/api/types.ts';
import { ResourceInformers } from '../../src/controller/informers.ts';
import { kubeVerb, TokenBucket, tunedKubeConfig } from '../../src/controller/kube-client.ts';
import { hostStatus, placementStatus, statusChanged } from '../../src/controller/status.ts';
import { REQUESTS_IN_FLIGHT, runBounded } from '../../src/controller/bounded.ts';
import { HostLifecycle } from '../../src/controller/host-lifecycle.ts';
import { HOST_FINALIZER } from '../../src/controller/removal.ts';
import { silentLogger } from '../../src/controller/log.ts';
import { startApiServer } from '../../src/kube/apiserver/index.ts';

test('the token bucket lets a burst through at once, then paces requests at qps', async () => {
  let now = 0;
  const bucket = new TokenBucket(10, 3, () => now);
  const granted: number[] = [];
  const all = Array.from({ length: 5 }, (_, i) => bucket.take().then(() => granted.push(i)));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(granted, [0, 1, 2], 'the burst of 3 at once, in order');
  now += 100; // one token per 100 ms at 10 qps
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(granted, [0, 1, 2, 3]);
  now += 100;
  await Promise.all(all);
  assert.deepEqual(granted, [0, 1, 2, 3, 4]);
  assert.throws(() => new TokenBucket(0, 1), /qps must be a positive number/);
  assert.throws(() => new TokenBucket(5, 0), /burst must be an integer ≥ 1/);
});

test('runBounded runs every task, never more than the limit at once, taking them lazily', async () => {
  let running = 0;
  let most = 0;
  const done: number[] = [];
  let made = 0;
  function* tasks() {
    for (let i = 0; i < 20; i++) {
      made++;
      yield async () => {
        running++;
        most = Math.max(most, running);
        assert.ok(made <= i + 4, 'a task is made only when a worker is free');
        await new Promise((r) => setTimeout(r, (i * 7) % 5));
        running--;
        done.push(i);
      };
    }
  }
  await runBounded(tasks(), 3);
  assert.equal(most, 3);
  assert.deepEqual([...done].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
  await assert.rejects(runBounded([], 0), /limit must be an integer ≥ 1, got 0/);
});

test('the finalizer goes on every host that lacks it, REQUESTS_IN_FLIGHT at a time', async () => {
  // After an install every host needs it: all at once, 10,000 requests each held a connection
  // and left the operator's malloc arenas over 1 GiB (docs/operator.md, "Where the memory went").
  let running = 0;
  let most = 0;
  const written = new Map<string, string[]>();
  const host = (i: number, extra: Partial<PhysicalHost['metadata']> = {}) =>
    ({ metadata: { name: `h${i}`, generation: 1, ...extra }, spec: { capacity: { cpuCores: 8, memoryMiB: 1024 } } }) as PhysicalHost;
  const hosts = Array.from({ length: 300 }, (_, i) => host(i));
  hosts.push(host(300, { finalizers: [HOST_FINALIZER] }), host(301, { deletionTimestamp: '2026-01-01T00:00:00Z' }));
  const lifecycle = new HostLifecycle({
    clock: { now: () => 0 } as never,
    writer: {} as never,
    log: silentLogger,
    finalizers: {
      async updateFinalizers(name, mutate) {
        running++;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, 1));
        written.set(name, mutate([], hosts.find((h) => h.metadata.name === name)!));
        running--;
      },
    },
  });
  await lifecycle.protect(hosts);
  assert.equal(most, REQUESTS_IN_FLIGHT);
  assert.equal(written.size, 300, 'every host without it, none that has it or is being deleted');
  assert.ok([...written.values()].every((f) => f.length === 1 && f[0] === HOST_FINALIZER));
});

test('requests are counted by the verb the API server sees', () => {
  const base = 'https://k:6443';
  assert.equal(kubeVerb('GET', `${base}/apis/tide.dev/v1alpha1/physicalhosts`), 'list');
  assert.equal(kubeVerb('GET', `${base}/apis/tide.dev/v1alpha1/physicalhosts/h1`), 'get');
  assert.equal(kubeVerb('GET', `${base}/apis/tide.dev/v1alpha1/namespaces/a/virtualmachineplacements`), 'list');
  assert.equal(kubeVerb('GET', `${base}/apis/tide.dev/v1alpha1/namespaces/a/virtualmachineplacements/v/status`), 'get');
  assert.equal(kubeVerb('GET', `${base}/api/v1/namespaces/tide-system/secrets?watch=true&resourceVersion=5`), 'watch');
  assert.equal(kubeVerb('GET', `${base}/api/v1/namespaces/tide-system`), 'get');
  assert.equal(kubeVerb('PUT', `${base}/apis/tide.dev/v1alpha1/physicalhosts/h1/status`), 'update');
  assert.equal(kubeVerb('POST', `${base}/api/v1/namespaces/default/events`), 'create');
  assert.equal(kubeVerb('WATCH', ''), 'watch');
});

const host = (status?: PhysicalHost['status']): PhysicalHost =>
  ({ metadata: { name: 'h1', generation: 1 }, spec: { address: 'h1', capacity: { cpuCores: 8, memoryMiB: 16_384 }, standbyAllowed: true, maintenance: false }, ...(status ? { status } : {}) }) as unknown as PhysicalHost;
const seen = (load: number, memoryUsedMiB = 4096, watts = 150, atMs = 0): ObservedHost => ({
  name: 'h1', reachable: true, powerState: 'on', cpuLoadPercent: load, memoryUsedMiB, watts, observedAtMs: atMs,
  domains: [{ name: 'vm-1', state: 'running', vcpus: 2, memoryMiB: 1024, cpuLoadPercent: load * 4 }],
});
const T = '2026-01-01T00:00:00.000Z';

test('a host status is rewritten only when a figure leaves its band or the load crosses Th1', () => {
  const first = hostStatus(host(), seen(40), 80, T);
  assert.equal(first.cpuLoadPercent, 40);
  const later = (o: ObservedHost) => hostStatus(host(first), o, 80, '2026-01-01T00:05:00.000Z');
  // Within the bands (load ±5 points, memory ±5 % of capacity, watts ±1 W), a new timestamp alone: no write.
  const quiet = later(seen(44.9, 4096 + 800, 150.9, 300_000));
  assert.equal(statusChanged(first, quiet), false);
  assert.equal(quiet.cpuLoadPercent, 40, 'the written load is kept');
  // Each figure out of its band is a change, and shows the new value.
  assert.equal(later(seen(45)).cpuLoadPercent, 45);
  assert.equal(statusChanged(first, later(seen(35))), true);
  assert.equal(statusChanged(first, later(seen(40, 4096 + 820))), true);
  assert.equal(statusChanged(first, later(seen(40, 4096, 151))), true);
  // Near Th1, crossing it is a change even within the band, and the Overloaded message says the new load.
  const near = hostStatus(host(), seen(78), 80, T);
  const over = hostStatus(host(near), seen(81), 80, T);
  assert.equal(over.cpuLoadPercent, 81);
  const overloaded = over.conditions!.find((c) => c.type === 'Overloaded')!;
  assert.equal(overloaded.status, 'True');
  assert.match(overloaded.message, /CPU load 81 %/);
});

test('statusChanged compares as JSON would, leaving out lastObservedTime at any depth', () => {
  const status = { state: 'Running', host: 'h1', conditions: [{ type: 'Ready', status: 'True', lastObservedTime: T }], lastObservedTime: T };
  assert.equal(statusChanged(status, { lastObservedTime: 'later', host: 'h1', state: 'Running', conditions: [{ status: 'True', type: 'Ready', lastObservedTime: 'later' }] }), false, 'field order and timestamps');
  assert.equal(statusChanged(status, { ...status, migration: undefined }), false, 'a field set to undefined is no field');
  assert.equal(statusChanged(undefined, {}), false);
  assert.equal(statusChanged(status, { ...status, host: 'h2' }), true);
  assert.equal(statusChanged(status, { ...status, conditions: [...status.conditions, { type: 'Conflict', status: 'False', lastObservedTime: T }] }), true, 'an added condition');
  assert.equal(statusChanged(status, { ...status, conditions: [{ ...status.conditions[0], status: 'False' }] }), true, 'a nested change');
  assert.equal(statusChanged({ a: [1, 2] }, { a: { 0: 1, 1: 2 } }), true, 'an array is not an object');
  assert.equal(statusChanged({ a: null }, { a: 0 }), true);
});

test('a placement finds its domain through the round index; its load has a band on the same host', () => {
  const placement = (status?: VirtualMachinePlacement['status']): VirtualMachinePlacement =>
    ({ metadata: { name: 'vm-1', namespace: 'default', generation: 1 }, spec: { domain: 'vm-1' }, ...(status ? { status } : {}) }) as unknown as VirtualMachinePlacement;
  const observed = new Map<string, ObservedHost>([
    ['h0', { name: 'h0', reachable: true, powerState: 'on', cpuLoadPercent: 1, observedAtMs: 0, domains: [{ name: 'other', state: 'running', vcpus: 1, memoryMiB: 512, cpuLoadPercent: 1 }] }],
    ['h1', seen(10)],
  ]);
  const first = placementStatus(placement(), observed, T);
  assert.equal(first.host, 'h1');
  assert.equal(first.cpuLoadPercent, 40);
  const again = new Map(observed).set('h1', seen(11, 4096, 150, 30_000)); // the VM at 44 %
  assert.equal(statusChanged(first, placementStatus(placement(first), again, T)), false);
  const moved = new Map(observed).set('h1', seen(12)); // 48 %: out of the band
  assert.equal(placementStatus(placement(first), moved, T).cpuLoadPercent, 48);
  // A host that cannot be observed: the domain may run there, so it is Unknown, not NotFound.
  const blind = new Map<string, ObservedHost>([['h2', { name: 'h2', reachable: false, powerState: 'unknown', domains: [], error: 'down', observedAtMs: 0 }]]);
  assert.equal(placementStatus(placement(), blind, T).state, 'Unknown');
});

test('Secrets come from one informer on Tide\'s namespace; none from elsewhere', async (t) => {
  const api = await startApiServer();
  t.after(() => api.stop());
  const kc = tunedKubeConfig(api.kubeConfig());
  t.after(() => kc.destroy());
  const core = kc.makeApiClient(CoreV1Api);
  for (const namespace of ['tide-system', 'other']) {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'ssh' }, stringData: { 'ssh-privatekey': `key-in-${namespace}` } } });
  }
  const informers = new ResourceInformers(kc, { onSpecChange: () => {}, onError: () => {} }, { secretNamespace: 'tide-system' });
  await informers.start();
  t.after(() => informers.stop());
  assert.deepEqual(informers.getSecret('tide-system', 'ssh'), { 'ssh-privatekey': 'key-in-tide-system' });
  assert.equal(informers.getSecret('other', 'ssh'), undefined);
  assert.equal(informers.getSecret('tide-system', 'missing'), undefined);
  const before = api.requests.length;
  for (let i = 0; i < 10; i++) informers.getSecret('tide-system', 'ssh');
  assert.equal(api.requests.length, before, 'reading a cached Secret sends no request');
  // A changed Secret reaches the cache through the watch.
  await core.replaceNamespacedSecret({ namespace: 'tide-system', name: 'ssh', body: { metadata: { name: 'ssh' }, stringData: { 'ssh-privatekey': 'rotated' } } });
  for (let i = 0; i < 100 && informers.getSecret('tide-system', 'ssh')?.['ssh-privatekey'] !== 'rotated'; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(informers.getSecret('tide-system', 'ssh')?.['ssh-privatekey'], 'rotated');
});
