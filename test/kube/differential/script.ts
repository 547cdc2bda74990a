/**
 * The differential test's script: one sequence of raw requests (create, get, list with
 * selectors, merge and JSON patch, server-side apply, /status, watch, delete, invalid objects),
 * run as is against each server. Every step returns what the server answered (status code, body,
 * warnings, or a watch's events); the test compares the two servers step by step.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { RawClient, RawRequest, RawResponse } from '../raw-client.ts';

export const NS = 'diff';
const GROUP = 'example.tide.dev';
const W = `/apis/${GROUP}/v1/namespaces/${NS}/widgets`;
const APPLY = 'application/apply-patch+yaml';
const MERGE = 'application/merge-patch+json';
const JSON_PATCH = 'application/json-patch+json';

export type Observed = RawResponse | { events: { type: string; object: any }[] };

export interface ScriptContext {
  client: RawClient;
  /** Values a step hands on to later ones (resourceVersions), per server. */
  saved: Record<string, string>;
  /**
   * Makes resourceVersion 1 unwatchable: the embedded server compacts its history; a real one
   * needs nothing (its watch cache of a resource starts when the resource is first served).
   */
  forgetHistory(): void;
}

export interface Step {
  name: string;
  run(c: ScriptContext): Promise<Observed>;
}

const crd = parse(readFileSync(new URL('../fixtures/widgets-crd.yaml', import.meta.url), 'utf8'));

const widget = (name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({
  apiVersion: `${GROUP}/v1`,
  kind: 'Widget',
  metadata: { name, ...metadata },
  spec,
});

const send = (req: RawRequest) => (c: ScriptContext) => c.client.send(req);
const create = (body: unknown, query?: Record<string, string>) => send({ method: 'POST', path: W, body, query });
const patch = (name: string, contentType: string, body: unknown, query?: Record<string, string>, sub = '') =>
  send({ method: 'PATCH', path: `${W}/${name}${sub}`, contentType, body, query });
const apply = (name: string, body: unknown, query: Record<string, string>, sub = '') =>
  send({ method: 'PATCH', path: `${W}/${name}${sub}`, contentType: APPLY, body: JSON.stringify(body), query });

async function poll<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`differential script: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Opens a watch, runs `writes`, and returns the events seen once `done` holds (or the stream ends). */
async function watchDuring(c: ScriptContext, query: Record<string, string>, writes: () => Promise<unknown>, done: (events: { type: string }[]) => boolean): Promise<Observed> {
  const stream = await c.client.watch(W, query);
  try {
    await writes();
    let ended = false;
    void stream.ended.then(() => (ended = true));
    await poll('the watch events', async () => (done(stream.events) || ended ? true : undefined), 20_000);
    return { events: [...stream.events] };
  } finally {
    stream.stop();
  }
}

export const script: Step[] = [
  // Setup: a namespace and the test CRD, created by raw requests too.
  { name: 'create namespace', run: send({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } }) },
  { name: 'create CRD', run: send({ method: 'POST', path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', body: crd }) },
  {
    name: 'CRD once Established',
    run: async (c) => {
      const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`;
      const established = (r: RawResponse) => r.body?.status?.conditions?.some((x: any) => x.type === 'Established' && x.status === 'True');
      const got = await poll('the CRD to be Established', async () => {
        const r = await c.client.send({ method: 'GET', path });
        return established(r) ? r : undefined;
      });
      // Established, then served: the first list may still 404 on a real server for a moment.
      await poll('widgets to be served', async () => ((await c.client.send({ method: 'GET', path: W })).code === 200 ? true : undefined));
      return got;
    },
  },

  // Create and read.
  { name: 'create a', run: create(widget('a', { size: 1 }, { labels: { tier: 'x', app: 'demo' } })) },
  { name: 'create a again', run: create(widget('a', { size: 1 })) },
  { name: 'create b', run: create(widget('b', { size: 2, limits: {} }, { labels: { tier: 'y' } })) },
  { name: 'create with generateName', run: create({ ...widget('', { size: 3 }), metadata: { generateName: 'gen-' } }) },
  { name: 'create without a name', run: create({ ...widget('', { size: 3 }), metadata: {} }) },
  { name: 'create with status (dropped)', run: create({ ...widget('s', { size: 1 }), status: { observedGeneration: 7 } }) },
  { name: 'create dry run', run: create(widget('dry', { size: 1 }), { dryRun: 'All' }) },
  { name: 'get after dry run', run: send({ method: 'GET', path: `${W}/dry` }) },
  { name: 'create in a missing namespace', run: send({ method: 'POST', path: `/apis/${GROUP}/v1/namespaces/nope/widgets`, body: widget('a', { size: 1 }) }) },
  { name: 'get a', run: send({ method: 'GET', path: `${W}/a` }) },
  { name: 'get a missing one', run: send({ method: 'GET', path: `${W}/missing` }) },
  { name: 'get a missing resource', run: send({ method: 'GET', path: `/apis/${GROUP}/v1/namespaces/${NS}/gadgets` }) },

  // Lists and selectors.
  { name: 'list', run: send({ method: 'GET', path: W }) },
  { name: 'list tier in (y,z)', run: send({ method: 'GET', path: W, query: { labelSelector: 'tier in (y,z)' } }) },
  { name: 'list tier=x,app', run: send({ method: 'GET', path: W, query: { labelSelector: 'tier=x,app' } }) },
  { name: 'list !tier', run: send({ method: 'GET', path: W, query: { labelSelector: '!tier' } }) },
  { name: 'list tier notin (x)', run: send({ method: 'GET', path: W, query: { labelSelector: 'tier notin (x)' } }) },
  { name: 'list a bad label selector', run: send({ method: 'GET', path: W, query: { labelSelector: 'tier in y' } }) },
  { name: 'list all namespaces by field', run: send({ method: 'GET', path: `/apis/${GROUP}/v1/widgets`, query: { fieldSelector: `metadata.name=a,metadata.namespace=${NS}` } }) },
  { name: 'list metadata.name!=a', run: send({ method: 'GET', path: W, query: { fieldSelector: 'metadata.name!=a' } }) },
  { name: 'list an unsupported field selector', run: send({ method: 'GET', path: W, query: { fieldSelector: 'spec.size=1' } }) },
  {
    name: 'list limit=2',
    run: async (c) => {
      const r = await c.client.send({ method: 'GET', path: W, query: { limit: '2' } });
      c.saved.continue = r.body.metadata?.continue ?? '';
      return r;
    },
  },
  { name: 'list the next page', run: (c) => c.client.send({ method: 'GET', path: W, query: { limit: '2', continue: c.saved.continue! } }) },
  { name: 'list limit=1 with a label selector', run: send({ method: 'GET', path: W, query: { limit: '1', labelSelector: 'tier' } }) },
  { name: 'list with a bad continue token', run: send({ method: 'GET', path: W, query: { continue: 'bm90IGEgdG9rZW4=' } }) },

  // Patches and updates.
  { name: 'merge patch spec', run: patch('a', MERGE, { spec: { size: 5 } }) },
  { name: 'merge patch that changes nothing', run: patch('a', MERGE, { spec: { size: 5 } }) },
  { name: 'json patch add', run: patch('a', JSON_PATCH, [{ op: 'add', path: '/spec/tags', value: ['t1'] }]) },
  { name: 'json patch failing test op', run: patch('a', JSON_PATCH, [{ op: 'test', path: '/spec/size', value: 4 }]) },
  { name: 'json patch removing a missing path', run: patch('a', JSON_PATCH, [{ op: 'remove', path: '/spec/nope' }]) },
  { name: 'strategic merge patch', run: patch('a', 'application/strategic-merge-patch+json', { spec: { size: 6 } }) },
  { name: 'merge patch to an invalid value', run: patch('a', MERGE, { spec: { size: 500 } }) },
  { name: 'merge patch an unknown field, Strict', run: patch('a', MERGE, { spec: { colour: 'Red' } }, { fieldValidation: 'Strict' }) },
  { name: 'merge patch an unknown field, Warn', run: patch('a', MERGE, { spec: { colour: 'Red' } }, { fieldValidation: 'Warn' }) },
  { name: 'merge patch status through the main resource (ignored)', run: patch('a', MERGE, { status: { observedGeneration: 99 } }) },
  { name: 'merge patch of a missing object', run: patch('missing', MERGE, { spec: { size: 1 } }) },
  // Patches whose result does not decode (found by test/fuzz/apiserver.test.ts: each was a 500).
  { name: 'merge patch removing metadata', run: patch('a', MERGE, { metadata: null }) },
  { name: 'json patch removing metadata', run: patch('a', JSON_PATCH, [{ op: 'remove', path: '/metadata' }]) },
  { name: 'json patch replacing the object with a number', run: patch('a', JSON_PATCH, [{ op: 'replace', path: '', value: 5 }]) },
  { name: 'json patch moving from under a missing parent', run: patch('a', JSON_PATCH, [{ op: 'move', path: '/spec/size', from: '/spec/x/y' }]) },
  {
    name: 'update with the current resourceVersion',
    run: async (c) => {
      const current = (await c.client.send({ method: 'GET', path: `${W}/a` })).body;
      c.saved.staleA = current.metadata.resourceVersion;
      return c.client.send({ method: 'PUT', path: `${W}/a`, body: { ...current, spec: { ...current.spec, size: 7 } } });
    },
  },
  {
    name: 'update with a stale resourceVersion',
    run: async (c) => {
      const current = (await c.client.send({ method: 'GET', path: `${W}/a` })).body;
      return c.client.send({ method: 'PUT', path: `${W}/a`, body: { ...current, metadata: { ...current.metadata, resourceVersion: c.saved.staleA }, spec: { size: 8 } } });
    },
  },
  { name: 'update without a resourceVersion', run: send({ method: 'PUT', path: `${W}/a`, body: widget('a', { size: 8 }) }) },
  { name: 'update with another name', run: send({ method: 'PUT', path: `${W}/a`, body: widget('b', { size: 8 }) }) },
  {
    name: 'update status (spec ignored)',
    run: async (c) => {
      const current = (await c.client.send({ method: 'GET', path: `${W}/a` })).body;
      return c.client.send({ method: 'PUT', path: `${W}/a/status`, body: { ...current, spec: { size: 50 }, status: { observedGeneration: 3 } } });
    },
  },
  { name: 'merge patch status', run: patch('a', MERGE, { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Done', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' }] } }, undefined, '/status') },
  { name: 'merge patch status to an invalid value', run: patch('a', MERGE, { status: { conditions: [{ type: 'Ready', status: 'Maybe' }] } }, undefined, '/status') },
  { name: 'get status', run: send({ method: 'GET', path: `${W}/a/status` }) },
  { name: 'get an unknown subresource', run: send({ method: 'GET', path: `${W}/a/scale` }) },

  // Server-side apply.
  { name: 'apply creates', run: apply('d', widget('d', { size: 3, tags: ['a', 'b'] }, { labels: { app: 'demo' } }), { fieldManager: 'first' }) },
  { name: 'apply again, unchanged', run: apply('d', widget('d', { size: 3, tags: ['a', 'b'] }, { labels: { app: 'demo' } }), { fieldManager: 'first' }) },
  { name: 'apply dropping a field', run: apply('d', widget('d', { size: 3 }, { labels: { app: 'demo' } }), { fieldManager: 'first' }) },
  { name: 'apply by another manager, conflicting', run: apply('d', widget('d', { size: 9 }), { fieldManager: 'second' }) },
  { name: 'apply by another manager, same value', run: apply('d', widget('d', { size: 3, minSize: 1 }), { fieldManager: 'second' }) },
  { name: 'apply by another manager, forced', run: apply('d', widget('d', { size: 9, minSize: 1 }), { fieldManager: 'second', force: 'true' }) },
  { name: 'apply without a fieldManager', run: apply('d', widget('d', { size: 3 }), {}) },
  { name: 'apply with another name', run: apply('d', widget('e', { size: 3 }), { fieldManager: 'first' }) },
  { name: 'apply with another name, forced', run: apply('d', widget('e', { size: 3 }), { fieldManager: 'first', force: 'true' }) },
  { name: 'apply an invalid object', run: apply('d', widget('d', { size: 500 }), { fieldManager: 'first' }) },
  { name: 'apply status', run: apply('d', { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'd' }, status: { observedGeneration: 2 } }, { fieldManager: 'first' }, '/status') },
  { name: 'merge patch of a field another manager applied', run: patch('d', MERGE, { spec: { minSize: 2 } }) },
  { name: 'apply of a field an update set', run: apply('d', widget('d', { size: 9, minSize: 3 }), { fieldManager: 'second' }) },
  { name: 'get after apply', run: send({ method: 'GET', path: `${W}/d` }) },

  // Invalid objects.
  { name: 'invalid: size above maximum', run: create(widget('bad', { size: 500 })) },
  { name: 'invalid: enum', run: create(widget('bad', { size: 1, color: 'Blue' })) },
  { name: 'invalid: required', run: create(widget('bad', { color: 'Red' })) },
  { name: 'invalid: pattern', run: create(widget('bad', { size: 1, customColor: 'red' })) },
  { name: 'invalid: maxItems', run: create(widget('bad', { size: 1, tags: ['a', 'b', 'c', 'd'] })) },
  { name: 'invalid: type', run: create(widget('bad', { size: 'big' })) },
  { name: 'invalid: CEL rule with fieldPath', run: create(widget('bad', { size: 1, color: 'Custom' })) },
  { name: 'invalid: CEL rule on the object', run: create(widget('bad', { size: 2, minSize: 3 })) },
  { name: 'invalid: several fields', run: create(widget('bad', { size: 0, color: 'Custom' })) },
  { name: 'invalid: unknown field, Strict', run: create(widget('bad', { size: 1, colour: 'Red' }), { fieldValidation: 'Strict' }) },
  { name: 'unknown field, Warn', run: create(widget('warned', { size: 1, colour: 'Red' }), { fieldValidation: 'Warn' }) },
  { name: 'unknown field, Ignore', run: create(widget('ignored', { size: 1, colour: 'Red' }), { fieldValidation: 'Ignore' }) },
  { name: 'invalid: label value', run: create(widget('bad', { size: 1 }, { labels: { tier: 'front end' } })) },
  { name: 'invalid: name', run: create(widget('Bad_Name', { size: 1 })) },
  { name: 'invalid: kind does not match', run: create({ ...widget('bad', { size: 1 }), kind: 'Gadget' }) },
  { name: 'invalid: not JSON', run: send({ method: 'POST', path: W, body: '{"apiVersion":' }) },
  // Metadata of the wrong type (found by test/fuzz/apiserver.test.ts: stored as sent, or a 500).
  { name: 'invalid: a number for a name', run: create(widget('x', { size: 1 }, { name: 5 })) },
  { name: 'invalid: labels not a map', run: create(widget('bad', { size: 1 }, { labels: 5 })) },
  { name: 'invalid: metadata not an object', run: create({ ...widget('bad', { size: 1 }), metadata: 'bad' }) },

  // Watches.
  {
    name: 'watch with a label selector through changes',
    run: async (c) => {
      const from = (await c.client.send({ method: 'GET', path: W })).body.metadata.resourceVersion;
      return watchDuring(
        c,
        { resourceVersion: from, labelSelector: 'tier=w' },
        async () => {
          await c.client.send({ method: 'POST', path: W, body: widget('w1', { size: 1 }, { labels: { tier: 'w' } }) });
          await c.client.send({ method: 'POST', path: W, body: widget('w2', { size: 1 }, { labels: { tier: 'v' } }) });
          await c.client.send({ method: 'PATCH', path: `${W}/w1`, contentType: MERGE, body: { spec: { size: 2 } } });
          await c.client.send({ method: 'PATCH', path: `${W}/w1`, contentType: MERGE, body: { metadata: { labels: { tier: 'v' } } } });
          await c.client.send({ method: 'PATCH', path: `${W}/w2`, contentType: MERGE, body: { metadata: { labels: { tier: 'w' } } } });
          await c.client.send({ method: 'DELETE', path: `${W}/w2` });
        },
        (events) => events.length >= 5,
      );
    },
  },
  {
    name: 'watch from the current state with bookmarks, until the server ends it',
    run: async (c) => watchDuring(c, { resourceVersion: '0', allowWatchBookmarks: 'true', timeoutSeconds: '3', fieldSelector: 'metadata.name=a' }, async () => {}, () => false),
  },
  {
    name: 'watch with initial events',
    run: async (c) =>
      watchDuring(
        c,
        { sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan', allowWatchBookmarks: 'true', labelSelector: 'tier in (x,y)' },
        async () => {},
        (events) => events.some((e) => e.type === 'BOOKMARK'),
      ),
  },
  {
    name: 'watch from a resourceVersion too old',
    run: async (c) => {
      c.forgetHistory();
      return watchDuring(c, { resourceVersion: '1' }, async () => {}, (events) => events.length > 0);
    },
  },

  // Deletion.
  { name: 'create with a finalizer', run: create(widget('f', { size: 1 }, { finalizers: ['example.tide.dev/cleanup'] })) },
  { name: 'delete held by a finalizer', run: send({ method: 'DELETE', path: `${W}/f` }) },
  { name: 'delete it again', run: send({ method: 'DELETE', path: `${W}/f` }) },
  { name: 'add a finalizer while deleting', run: patch('f', MERGE, { metadata: { finalizers: ['example.tide.dev/cleanup', 'example.tide.dev/other'] } }) },
  { name: 'remove the finalizer', run: patch('f', JSON_PATCH, [{ op: 'remove', path: '/metadata/finalizers' }]) },
  { name: 'get after the finalizer went', run: send({ method: 'GET', path: `${W}/f` }) },
  { name: 'delete', run: send({ method: 'DELETE', path: `${W}/b` }) },
  { name: 'delete a missing one', run: send({ method: 'DELETE', path: `${W}/b` }) },
  { name: 'delete with a stale resourceVersion precondition', run: send({ method: 'DELETE', path: `${W}/a`, body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: '1' } } }) },
  { name: 'delete with a wrong uid precondition', run: send({ method: 'DELETE', path: `${W}/a`, body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: '00000000-0000-0000-0000-000000000000' } } }) },
  { name: 'delete dry run', run: send({ method: 'DELETE', path: `${W}/a`, query: { dryRun: 'All' } }) },
  { name: 'delete collection by label', run: send({ method: 'DELETE', path: W, query: { labelSelector: 'app=demo' } }) },
  { name: 'list after deleting', run: send({ method: 'GET', path: W }) },

  // Built-in resources next to the CRD.
  { name: 'Secret with stringData', run: send({ method: 'POST', path: `/api/v1/namespaces/${NS}/secrets`, body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ssh' }, stringData: { key: 'value' } } }) },
  { name: 'Secret with bad base64', run: send({ method: 'POST', path: `/api/v1/namespaces/${NS}/secrets`, body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bad' }, data: { key: 'not base64!' } } }) },
  { name: 'ConfigMap', run: send({ method: 'POST', path: `/api/v1/namespaces/${NS}/configmaps`, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: 'b' } } }) },
  { name: 'strategic merge patch deleting the whole ConfigMap', run: send({ method: 'PATCH', path: `/api/v1/namespaces/${NS}/configmaps/cfg`, contentType: 'application/strategic-merge-patch+json', body: { $patch: 'delete' } }) },
  { name: 'strategic merge patch retaining no keys', run: send({ method: 'PATCH', path: `/api/v1/namespaces/${NS}/configmaps/cfg`, contentType: 'application/strategic-merge-patch+json', body: { $retainKeys: [] } }) },
  { name: 'ConfigMap with a number for a label', run: send({ method: 'POST', path: `/api/v1/namespaces/${NS}/configmaps`, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg2', labels: { a: 5 } } } }) },
  {
    name: 'Lease with a millisecond MicroTime',
    run: send({ method: 'POST', path: `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l' }, spec: { holderIdentity: 'a', renewTime: '2026-01-01T00:00:00.123Z' } } }),
  },
  {
    name: 'Lease with a MicroTime',
    run: send({ method: 'POST', path: `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: '2026-01-01T00:00:00.123456Z' } } }),
  },
  { name: 'delete the namespace', run: send({ method: 'DELETE', path: `/api/v1/namespaces/${NS}` }) },
  { name: 'create in a terminating namespace', run: create(widget('late', { size: 1 })) },
];
