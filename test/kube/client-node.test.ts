/**
 * The API server held to @kubernetes/client-node 1.4: typed APIs for custom and built-in
 * resources, 409 on stale writes, 422 causes, informers, raw watches with bookmarks and 410,
 * selector transitions, Leases, Secrets, Events, server-side apply. Every test in the first block
 * runs on both tiers (embedded and real kube-apiserver). The second block holds the embedded
 * server's own hooks and options, which a real server does not have: cutting every watch and
 * compacting history on demand (informer recovery, churn), objects given at start, the Event TTL
 * option, the request log and the authorizer function.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADD,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DELETE,
  EventsV1Api,
  PatchStrategy,
  UPDATE,
  V1MicroTime,
  Watch,
  makeInformer,
  setHeaderOptions,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { startApiServer } from '../../src/kube/apiserver/index.ts';
import { readManifests } from '../../src/kube/manifests.ts';
import { eventually, fixture, repoPath, serverTiers, startHarness, type KubeHarness, type KubeTarget, type ServerTier } from './harness.ts';

const group = 'example.tide.dev';
const version = 'v1';
const plural = 'widgets';

const widget = (name: string, size: number, labels: Record<string, string> = {}) => ({
  apiVersion: `${group}/${version}`,
  kind: 'Widget',
  metadata: { name, labels },
  spec: { size },
});

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The HTTP status of a rejected client-node call. */
async function statusOf(call: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await call;
  } catch (err: any) {
    return { code: err.code, body: typeof err.body === 'string' ? JSON.parse(err.body) : err.body };
  }
  assert.fail('the call succeeded');
}

/** What an informer reports, as `add|update|delete <name> <size>` (and `error …`). */
function recordInformer(informer: Informer<KubernetesObject>): string[] {
  const seen: string[] = [];
  const record = (verb: string) => (obj: KubernetesObject) => seen.push(`${verb} ${obj.metadata!.name} ${(obj as any).spec?.size}`);
  informer.on(ADD, record('add'));
  informer.on(UPDATE, record('update'));
  informer.on(DELETE, record('delete'));
  informer.on('error', (err) => seen.push(`error ${err}`));
  return seen;
}

/** One server with the test CRD applied, and fresh namespaces on it. */
function useServer<T extends KubeTarget>(start: () => Promise<T>) {
  const ctx = {} as { h: T; kc: KubeConfig; namespace(name: string): Promise<string> };
  before(async () => {
    ctx.h = await start();
    ctx.kc = ctx.h.kubeConfig();
    // Not through KubernetesObjectApi: its serializer maps a plain object onto the typed CRD model,
    // which drops `default` and `x-kubernetes-validations` (they are `_default`, `xKubernetesValidations` there).
    await ctx.h.applyCrds(fixture('widgets-crd.yaml'));
  });
  after(async () => ctx.h?.close());
  ctx.namespace = async (name) => {
    await ctx.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
    return name;
  };
  return ctx;
}

for (const tier of serverTiers()) describe(tier.name, { skip: tier.skip }, () => suite(tier));

function suite(tier: ServerTier): void {
  const ctx = useServer(() => tier.start());
  let h: KubeTarget;
  let kc: KubeConfig;
  before(() => ({ h, kc } = ctx));
  const namespace = (name: string) => ctx.namespace(name);

  test('CustomObjectsApi: create, get, list with label and field selectors, merge patch, delete', async () => {
    const ns = await namespace('c-crud');
    const api = kc.makeApiClient(CustomObjectsApi);
    const created: any = await api.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: widget('a', 1, { tier: 'x' }) });
    assert.equal(created.spec.color, 'Red', 'defaults applied on create');
    await api.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: widget('b', 2, { tier: 'y' }) });
    const byLabel: any = await api.listNamespacedCustomObject({ group, version, namespace: ns, plural, labelSelector: 'tier in (y,z)' });
    assert.deepEqual(byLabel.items.map((o: any) => o.metadata.name), ['b']);
    const byName: any = await api.listClusterCustomObject({ group, version, plural, fieldSelector: `metadata.name=a,metadata.namespace=${ns}` });
    assert.deepEqual(byName.items.map((o: any) => o.metadata.name), ['a']);
    const patched: any = await api.patchNamespacedCustomObject({ group, version, namespace: ns, plural, name: 'a', body: { spec: { size: 5 } } }, mergePatch);
    assert.equal(patched.spec.size, 5);
    assert.equal(patched.metadata.generation, 2);
    assert.ok(Number(patched.metadata.resourceVersion) > Number(created.metadata.resourceVersion));
    await api.deleteNamespacedCustomObject({ group, version, namespace: ns, plural, name: 'a' });
    assert.equal((await statusOf(api.getNamespacedCustomObject({ group, version, namespace: ns, plural, name: 'a' }))).code, 404);
  });

  test('a replace with a stale resourceVersion gets 409 Conflict; status writes leave the generation alone', async () => {
    const ns = await namespace('c-conflict');
    const api = kc.makeApiClient(CustomObjectsApi);
    const first: any = await api.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: widget('w', 1) });
    await api.replaceNamespacedCustomObject({ group, version, namespace: ns, plural, name: 'w', body: { ...first, spec: { size: 2 } } });
    const stale = await statusOf(api.replaceNamespacedCustomObject({ group, version, namespace: ns, plural, name: 'w', body: { ...first, spec: { size: 3 } } }));
    assert.equal(stale.code, 409);
    assert.equal(stale.body.reason, 'Conflict');

    const current: any = await api.getNamespacedCustomObject({ group, version, namespace: ns, plural, name: 'w' });
    const withStatus: any = await api.replaceNamespacedCustomObjectStatus({ group, version, namespace: ns, plural, name: 'w', body: { ...current, spec: { size: 50 }, status: { observedGeneration: 2 } } });
    assert.equal(withStatus.status.observedGeneration, 2);
    assert.equal(withStatus.spec.size, 2, 'spec ignored by a status write');
    assert.equal(withStatus.metadata.generation, 2);
  });

  test('an invalid custom resource gets 422 with causes naming each field', async () => {
    const ns = await namespace('c-invalid');
    const api = kc.makeApiClient(CustomObjectsApi);
    const r = await statusOf(api.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: { ...widget('w', 0), spec: { size: 0, color: 'Custom' } } }));
    assert.equal(r.code, 422);
    assert.equal(r.body.reason, 'Invalid');
    assert.deepEqual(
      r.body.details.causes.map((c: any) => c.field).sort(),
      ['spec.customColor', 'spec.size'],
    );
    assert.match(r.body.message, /^Widget\.example\.tide\.dev "w" is invalid: \[spec\.size: Invalid value: 0: spec\.size in body should be greater than or equal to 1, spec\.customColor: /);
  });

  test('an informer sees add, update and delete', async () => {
    const ns = await namespace('c-informer');
    const api = kc.makeApiClient(CustomObjectsApi);
    const informer = makeInformer(kc, `/apis/${group}/${version}/namespaces/${ns}/${plural}`, () => api.listNamespacedCustomObject({ group, version, namespace: ns, plural }) as any);
    const seen = recordInformer(informer);
    await api.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: widget('before', 1) });
    await informer.start();
    try {
      await eventually('initial list', () => (seen.includes('add before 1') ? true : undefined));
      await api.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: widget('w', 1) });
      await api.patchNamespacedCustomObject({ group, version, namespace: ns, plural, name: 'w', body: { spec: { size: 2 } } }, mergePatch);
      await api.deleteNamespacedCustomObject({ group, version, namespace: ns, plural, name: 'before' });
      await eventually('add/update/delete', () => (seen.includes('delete before 1') ? true : undefined));
      assert.deepEqual(seen, ['add before 1', 'add w 1', 'update w 2', 'delete before 1']);
    } finally {
      await informer.stop();
    }
  });

  test('a raw watch from the current state gets a bookmark ending its initial events, and ERROR 410 for a resourceVersion older than the server keeps', async () => {
    const ns = await namespace('c-watch');
    const api = kc.makeApiClient(CustomObjectsApi);
    const created: any = await api.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: widget('w', 1) });
    const path = `/apis/${group}/${version}/namespaces/${ns}/${plural}`;
    const events: { type: string; object: any }[] = [];
    const watch = new Watch(kc);
    const req = await watch.watch(path, { resourceVersion: '0', allowWatchBookmarks: true }, (type, object) => events.push({ type, object }), () => {});
    try {
      const bookmark = await eventually('a bookmark', () => events.find((e) => e.type === 'BOOKMARK'));
      assert.deepEqual(events.slice(0, 2).map((e) => e.type), ['ADDED', 'BOOKMARK']);
      assert.equal(events[0]!.object.metadata.name, 'w');
      assert.deepEqual(bookmark.object.metadata.annotations, { 'k8s.io/initial-events-end': 'true' });
      assert.ok(Number(bookmark.object.metadata.resourceVersion) >= Number(created.metadata.resourceVersion));
    } finally {
      req.abort();
    }

    // resourceVersion 1 predates what either server keeps: the embedded one once its history is
    // compacted, a real one always (its watch cache of a resource starts when the resource is served).
    h.embedded?.compactHistory();
    const late: { type: string; object: any }[] = [];
    let lateEnded = false;
    await watch.watch(path, { resourceVersion: '1' }, (type, object) => late.push({ type, object }), () => (lateEnded = true));
    await eventually('the expired watch to end', () => (lateEnded ? true : undefined));
    assert.equal(late.length, 1);
    assert.equal(late[0]!.type, 'ERROR');
    assert.equal(late[0]!.object.code, 410);
    assert.equal(late[0]!.object.reason, 'Expired');
    assert.match(late[0]!.object.message, /^too old resource version: 1 \(\d+\)$/);
  });

  test('Leases: create, renew with the current resourceVersion, 409 for a stale one', async () => {
    const ns = await namespace('c-lease');
    const api = kc.makeApiClient(CoordinationV1Api);
    // A Date has millisecond precision; a real server only parses MicroTime with six digits.
    const millis = await statusOf(api.createNamespacedLease({ namespace: ns, body: { metadata: { name: 'tide-leader' }, spec: { holderIdentity: 'a', renewTime: new Date() } } }));
    assert.equal(millis.code, 400);
    assert.match(millis.body.message, /^Lease in version "v1" cannot be handled as a Lease: parsing time ".*\.\d{3}Z" as "2006-01-02T15:04:05\.000000Z07:00": cannot parse "\.\d{3}Z" as "\.000000"$/);
    const now = new V1MicroTime();
    const lease = await api.createNamespacedLease({ namespace: ns, body: { metadata: { name: 'tide-leader' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: now, renewTime: now } } });
    assert.match(String(lease.spec!.renewTime && JSON.parse(JSON.stringify(lease)).spec.renewTime), /\.\d{6}Z$/);
    const renewed = await api.replaceNamespacedLease({ namespace: ns, name: 'tide-leader', body: { ...lease, spec: { ...lease.spec, renewTime: new V1MicroTime(now.getTime() + 2000) } } });
    assert.notEqual(renewed.metadata!.resourceVersion, lease.metadata!.resourceVersion);
    const stolen = await statusOf(api.replaceNamespacedLease({ namespace: ns, name: 'tide-leader', body: { ...lease, spec: { ...lease.spec, holderIdentity: 'b' } } }));
    assert.equal(stolen.code, 409);
    assert.equal((await api.readNamespacedLease({ namespace: ns, name: 'tide-leader' })).spec!.holderIdentity, 'a');
    assert.match(await h.kubectlOk(['get', 'leases', '-n', ns]), /^tide-leader\s+a\s+\d+s$/m);
  });

  test('Secrets and Events: stringData stored as data; Events readable through both API groups and in describe', async () => {
    const ns = await namespace('c-events');
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'ssh' }, stringData: { known_hosts: 'host key' } } });
    const secret = await core.readNamespacedSecret({ namespace: ns, name: 'ssh' });
    assert.equal(Buffer.from(secret.data!.known_hosts!, 'base64').toString(), 'host key');

    const w: any = await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({ group, version, namespace: ns, plural, body: widget('w', 1) });
    const regarding = { apiVersion: `${group}/${version}`, kind: 'Widget', name: 'w', namespace: ns, uid: w.metadata.uid };
    await core.createNamespacedEvent({ namespace: ns, body: { metadata: { name: 'w.1' }, involvedObject: regarding, reason: 'Migrated', message: 'vm-1 moved', type: 'Normal', source: { component: 'tide' } } });
    const events = kc.makeApiClient(EventsV1Api);
    await events.createNamespacedEvent({ namespace: ns, body: { metadata: { name: 'w.2' }, eventTime: new V1MicroTime(), regarding, reason: 'Blocked', note: 'no host can take vm-2', type: 'Warning', action: 'Migrate', reportingController: 'tide.dev/operator', reportingInstance: 'tide-0' } });
    const asV1 = await events.listNamespacedEvent({ namespace: ns });
    assert.deepEqual(asV1.items.map((e) => [e.metadata!.name, e.note, e.regarding?.name]), [['w.1', 'vm-1 moved', 'w'], ['w.2', 'no host can take vm-2', 'w']]);
    const asCore = await core.listNamespacedEvent({ namespace: ns });
    assert.deepEqual(asCore.items.map((e) => [e.metadata!.name, e.message, e.involvedObject.name]), [['w.1', 'vm-1 moved', 'w'], ['w.2', 'no host can take vm-2', 'w']]);
    const table = await h.kubectlOk(['get', 'events', '-n', ns]);
    assert.match(table, /Warning\s+Blocked\s+widget\/w\s+no host can take vm-2/);
    // kubectl describe finds an object's Events with involvedObject field selectors.
    const described = await h.kubectlOk(['describe', 'widget', 'w', '-n', ns]);
    assert.match(described, /Normal\s+Migrated\s+.*vm-1 moved/);
    assert.match(described, /Warning\s+Blocked\s+.*no host can take vm-2/);
  });

  test('a watch with a label selector sees objects enter and leave the selection as ADDED and DELETED', async () => {
    const ns = await namespace('c-selector');
    const api = kc.makeApiClient(CustomObjectsApi);
    const seen: string[] = [];
    const req = await new Watch(kc).watch(`/apis/${group}/${version}/namespaces/${ns}/${plural}`, { labelSelector: 'tier=a' }, (type, obj) => seen.push(`${type} ${obj.metadata.name}`), () => {});
    try {
      await api.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: widget('in', 1, { tier: 'a' }) });
      await api.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: widget('out', 1, { tier: 'b' }) });
      const relabel = (name: string, tier: string) => api.patchNamespacedCustomObject({ group, version, namespace: ns, plural, name, body: { metadata: { labels: { tier } } } }, mergePatch);
      await relabel('in', 'b');
      await relabel('out', 'a');
      await api.patchNamespacedCustomObject({ group, version, namespace: ns, plural, name: 'out', body: { spec: { size: 2 } } }, mergePatch);
      await eventually('four events', () => (seen.length >= 4 ? true : undefined));
      assert.deepEqual(seen, ['ADDED in', 'DELETED in', 'ADDED out', 'MODIFIED out']);
    } finally {
      req.abort();
    }
  });

  test('client-node server-side apply of a status, as an operator may write it', async () => {
    const ns = await namespace('c-ssa');
    const api = kc.makeApiClient(CustomObjectsApi);
    await api.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: widget('w', 1) });
    const ssa = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
    const body = { apiVersion: `${group}/${version}`, kind: 'Widget', metadata: { name: 'w' }, status: { observedGeneration: 1 } };
    const applied: any = await api.patchNamespacedCustomObjectStatus({ group, version, namespace: ns, plural, name: 'w', body, fieldManager: 'tide-operator', force: true }, ssa);
    assert.equal(applied.status.observedGeneration, 1);
    assert.equal(applied.metadata.generation, 1);
    const missingManager = await statusOf(api.patchNamespacedCustomObjectStatus({ group, version, namespace: ns, plural, name: 'w', body }, ssa));
    assert.equal(missingManager.code, 422);
    assert.match(missingManager.body.message, /fieldManager: Required value: is required for apply patch/);
  });
}

describe('embedded API server: its own hooks and options', () => {
  const ctx = useServer(() => startHarness());
  let h: KubeHarness;
  let kc: KubeConfig;
  before(() => ({ h, kc } = ctx));
  const namespace = (name: string) => ctx.namespace(name);

  test('an informer recovers after the server ends its watch and after 410 Gone', async () => {
    const ns = await namespace('c-informer-recovers');
    const api = kc.makeApiClient(CustomObjectsApi);
    const informer = makeInformer(kc, `/apis/${group}/${version}/namespaces/${ns}/${plural}`, () => api.listNamespacedCustomObject({ group, version, namespace: ns, plural }) as any);
    const seen = recordInformer(informer);
    await api.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: widget('w', 1) });
    await informer.start();
    try {
      await eventually('initial list', () => (seen.includes('add w 1') ? true : undefined));
      // The server ends the watch (as a real one does after its request timeout): the informer re-watches.
      seen.length = 0;
      h.server.closeWatches();
      await api.patchNamespacedCustomObject({ group, version, namespace: ns, plural, name: 'w', body: { spec: { size: 3 } } }, mergePatch);
      await eventually('update after the watch ended', () => (seen.includes('update w 3') ? true : undefined));

      // Changes while the informer is away, then history compacted: its resourceVersion is gone (410),
      // so it lists again and reports what it missed.
      await informer.stop();
      seen.length = 0;
      await api.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: widget('missed', 7) });
      await api.deleteNamespacedCustomObject({ group, version, namespace: ns, plural, name: 'w' });
      h.server.compactHistory();
      await informer.start();
      await eventually('relist after 410', () => (seen.includes('add missed 7') && seen.includes('delete w 3') ? true : undefined));
      assert.deepEqual(informer.list().map((o) => o.metadata!.name), ['missed']);
      assert.ok(!seen.some((s) => s.startsWith('error')), seen.join('; '));
    } finally {
      await informer.stop();
    }
  });

  test('startApiServer({ objects }) serves manifests given at start, with their defaults', async () => {
    const preloaded = await startApiServer({ objects: readManifests(repoPath('manifests/crds'), repoPath('manifests/examples/paper')) });
    try {
      const api = preloaded.kubeConfig().makeApiClient(CustomObjectsApi);
      const hosts: any = await api.listClusterCustomObject({ group: 'tide.dev', version: 'v1alpha1', plural: 'physicalhosts' });
      assert.deepEqual(hosts.items.map((o: any) => o.metadata.name), ['node100', 'node200']);
      const policy: any = await api.getClusterCustomObject({ group: 'tide.dev', version: 'v1alpha1', plural: 'consolidationpolicies', name: 'default' });
      assert.equal(policy.spec.timeZone, 'UTC');
    } finally {
      await preloaded.stop();
    }
    await assert.rejects(startApiServer({ objects: [{ apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: { name: 'x' } }] }), /no resource serves tide\.dev\/v1alpha1, kind PhysicalHost \(PhysicalHost x\); list its CRD first/);
  });

  test('Events expire after the event TTL, as on a real cluster', async () => {
    const short = await startApiServer({ eventTtlMs: 300 });
    try {
      const core = short.kubeConfig().makeApiClient(CoreV1Api);
      const now = new Date();
      await core.createNamespacedEvent({ namespace: 'default', body: { metadata: { name: 'e.1' }, involvedObject: { kind: 'Widget', name: 'w' }, reason: 'R', message: 'm', lastTimestamp: now } });
      assert.equal((await core.listNamespacedEvent({ namespace: 'default' })).items.length, 1);
      await eventually('the event to expire', async () => ((await core.listNamespacedEvent({ namespace: 'default' })).items.length === 0 ? true : undefined), 10_000);
    } finally {
      await short.stop();
    }
  });

  test('requests are recorded as RBAC names them, and an authorizer refuses what it does not allow with 403', async () => {
    const server = await startApiServer({
      authorize: (r) => r.group !== 'coordination.k8s.io' || (r.resource === 'leases' && ['get', 'create'].includes(r.verb)),
    });
    try {
      const leases = server.kubeConfig().makeApiClient(CoordinationV1Api);
      const lease = await leases.createNamespacedLease({ namespace: 'default', body: { metadata: { name: 'l' }, spec: { holderIdentity: 'a' } } });
      await leases.readNamespacedLease({ namespace: 'default', name: 'l' });
      const refused = await statusOf(leases.replaceNamespacedLease({ namespace: 'default', name: 'l', body: lease }));
      assert.equal(refused.code, 403);
      assert.equal(refused.body.message, 'leases.coordination.k8s.io "l" is forbidden: User "tide-dev" cannot update resource "leases" in API group "coordination.k8s.io" in the namespace "default"');
      await kc.makeApiClient(CoreV1Api).listNamespace(); // the harness's own server: not recorded here
      assert.deepEqual(
        server.requests.map((r) => `${r.verb} ${r.group}/${r.resource} ${r.namespace ?? '-'} ${r.name ?? '-'}`),
        ['create coordination.k8s.io/leases default -', 'get coordination.k8s.io/leases default l', 'update coordination.k8s.io/leases default l'],
      );
    } finally {
      await server.stop();
    }
    // A status write is recorded against the subresource, as RBAC names it.
    const ns = await namespace('c-requests');
    const api = kc.makeApiClient(CustomObjectsApi);
    const w: any = await api.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: widget('w', 1) });
    await api.replaceNamespacedCustomObjectStatus({ group, version, namespace: ns, plural, name: 'w', body: { ...w, status: { observedGeneration: 1 } } });
    assert.deepEqual(h.server.requests.filter((r) => r.resource === 'widgets/status').map((r) => `${r.verb} ${r.namespace} ${r.name}`), [`update ${ns} w`]);
  });

  test('kubectl auth can-i answers from the authorizer', async () => {
    const server = await startApiServer({ objects: readManifests(repoPath('manifests/crds')), authorize: (r) => !(r.group === 'tide.dev' && r.verb === 'delete') });
    const path = `${h.dir}/can-i.kubeconfig`;
    server.writeKubeconfig(path);
    try {
      const canI = (...args: string[]) => h.kubectl(['auth', 'can-i', ...args], { kubeconfig: path });
      const create = await canI('create', 'physicalhosts');
      assert.equal(create.stdout.trim(), 'yes');
      const del = await canI('delete', 'physicalhosts');
      assert.equal(del.stdout.trim(), 'no - denied by the development API server authorizer');
      assert.equal(del.code, 1);
    } finally {
      await server.stop();
    }
  });

  test('under churn, with watches cut and history compacted at random, an informer ends with exactly the server\'s objects', async () => {
    const ns = await namespace('c-churn');
    const api = kc.makeApiClient(CustomObjectsApi);
    const informer = makeInformer(kc, `/apis/${group}/${version}/namespaces/${ns}/${plural}`, () => api.listNamespacedCustomObject({ group, version, namespace: ns, plural }) as any);
    const errors: unknown[] = [];
    informer.on('error', (err) => errors.push(err));
    await informer.start();
    // A fixed-seed generator keeps the run reproducible.
    let seed = 42;
    const random = (n: number) => Math.floor((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 65536) % n;
    const live = new Set<string>();
    try {
      for (let step = 0; step < 80; step++) {
        const name = `w${random(8)}`;
        const action = random(10);
        if (action < 1) h.server.closeWatches();
        else if (action < 2) {
          h.server.closeWatches();
          h.server.compactHistory();
        } else if (!live.has(name)) {
          await api.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: widget(name, 1 + random(50)) });
          live.add(name);
        } else if (action < 7) {
          await api.patchNamespacedCustomObject({ group, version, namespace: ns, plural, name, body: { spec: { size: 1 + random(50) } } }, mergePatch);
        } else {
          await api.deleteNamespacedCustomObject({ group, version, namespace: ns, plural, name });
          live.delete(name);
        }
      }
      const truth: any = await api.listNamespacedCustomObject({ group, version, namespace: ns, plural });
      const expected = truth.items.map((o: any) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
      await eventually('the informer to converge', () => {
        const cached = informer.list().map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`).sort();
        return JSON.stringify(cached) === JSON.stringify(expected) ? true : undefined;
      });
      assert.deepEqual(errors, []);
    } finally {
      await informer.stop();
    }
  });
});
