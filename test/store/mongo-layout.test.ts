/**
 * What the MongoDB store asks of the server at start, against a scripted stand-in for the driver's
 * Db (no server needed): the exact commands on a server with time-series collections and TTL
 * indexes (MongoDB 5.0 or later, which no test here can reach), and the fallback decided by
 * trying each feature — never by the server's name — on servers without them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MongoServerError, type Db } from 'mongodb';
import { describeFallbacks, prepareCollections } from '../../src/store/mongo-store.ts';
import { defaultStoreOptions } from '../../src/store/types.ts';

type Call = [string, ...unknown[]];

interface Server {
  /** Answers `create` with a time-series option; undefined means it succeeds. */
  createTimeSeries?: (name: string) => MongoServerError | undefined;
  /** Answers `createIndexes` with expireAfterSeconds. */
  createTtlIndex?: (name: string) => MongoServerError | undefined;
  /** Collections that already exist, and their type. */
  existing?: Record<string, 'timeseries' | 'collection'>;
}

const serverError = (code: number, codeName: string, errmsg: string) => new MongoServerError({ ok: 0, code, codeName, errmsg });
const notImplemented = () => serverError(238, 'NotImplemented', 'not implemented yet');

/** A Db that records every call and answers as `server` says. */
function fakeDb(server: Server): { db: Db; calls: Call[] } {
  const calls: Call[] = [];
  const existing = { ...server.existing };
  const db = {
    async createCollection(name: string, options?: Record<string, unknown>) {
      calls.push(options === undefined ? ['createCollection', name] : ['createCollection', name, options]);
      if (options?.timeseries) {
        const err = server.createTimeSeries?.(name);
        if (err) throw err;
      }
      if (existing[name]) throw serverError(48, 'NamespaceExists', `Collection ${name} already exists.`);
      existing[name] = options?.timeseries ? 'timeseries' : 'collection';
    },
    async command(cmd: Record<string, unknown>) {
      calls.push(['command', cmd]);
      return { ok: 1 };
    },
    listCollections(filter: { name: string }) {
      calls.push(['listCollections', filter]);
      const type = existing[filter.name];
      return { toArray: async () => (type ? [{ name: filter.name, type }] : []) };
    },
    collection(name: string) {
      return {
        async createIndex(keys: Record<string, 1>, options?: Record<string, unknown>) {
          calls.push(options === undefined ? ['createIndex', name, keys] : ['createIndex', name, keys, options]);
          if (options?.expireAfterSeconds !== undefined) {
            const err = server.createTtlIndex?.(name);
            if (err) throw err;
          }
          return 'ok';
        },
      };
    },
  } as unknown as Db;
  return { db, calls };
}

const options = { ...defaultStoreOptions, sampleRetentionSeconds: 86_400, historyRetentionSeconds: 7 * 86_400 };
const timeseries = { timeseries: { timeField: 'at', metaField: 'meta', granularity: 'seconds' }, expireAfterSeconds: 86_400 };
const ttl = { name: 'at_ttl', expireAfterSeconds: 7 * 86_400 };

test('on a server with time-series collections and TTL indexes: the same commands as before the fallback existed, and no fallback', async () => {
  const { db, calls } = fakeDb({});
  const layout = await prepareCollections(db, options);
  assert.deepEqual(layout, { ownExpiry: [], fallbacks: [] });
  assert.deepEqual(calls, [
    ['createCollection', 'host_samples', timeseries],
    ['createIndex', 'host_samples', { 'meta.host': 1, at: 1 }],
    ['createCollection', 'vm_samples', timeseries],
    ['createIndex', 'vm_samples', { 'meta.vm': 1, at: 1 }],
    ['createIndex', 'actions', { atMs: 1 }],
    ['createIndex', 'actions', { at: 1 }, ttl],
    ['createIndex', 'decisions', { atMs: 1 }],
    ['createIndex', 'decisions', { at: 1 }, ttl],
  ]);
});

test('on such a server at a later start: retention re-applied with collMod, on the collections and the TTL indexes', async () => {
  const { db, calls } = fakeDb({
    existing: { host_samples: 'timeseries', vm_samples: 'timeseries', actions: 'collection', decisions: 'collection' },
    createTtlIndex: () => serverError(85, 'IndexOptionsConflict', 'An equivalent index already exists with a different expireAfterSeconds'),
  });
  const layout = await prepareCollections(db, options);
  assert.deepEqual(layout, { ownExpiry: [], fallbacks: [] });
  const commands = calls.filter(([kind]) => kind === 'command').map(([, cmd]) => cmd);
  assert.deepEqual(commands, [
    { collMod: 'host_samples', expireAfterSeconds: 86_400 },
    { collMod: 'vm_samples', expireAfterSeconds: 86_400 },
    { collMod: 'actions', index: { name: 'at_ttl', expireAfterSeconds: 7 * 86_400 } },
    { collMod: 'decisions', index: { name: 'at_ttl', expireAfterSeconds: 7 * 86_400 } },
  ]);
});

test('a server without time-series collections or TTL indexes (FerretDB: NotImplemented): plain collections indexed on `at`, expiry by the store', async () => {
  const { db, calls } = fakeDb({ createTimeSeries: notImplemented, createTtlIndex: notImplemented });
  const layout = await prepareCollections(db, options);
  assert.deepEqual(layout.ownExpiry, [
    { collection: 'host_samples', field: 'at', seconds: 86_400 },
    { collection: 'vm_samples', field: 'at', seconds: 86_400 },
    { collection: 'actions', field: 'atMs', seconds: 7 * 86_400 },
    { collection: 'decisions', field: 'atMs', seconds: 7 * 86_400 },
  ]);
  assert.deepEqual(calls.slice(0, 5), [
    ['createCollection', 'host_samples', timeseries],
    ['createCollection', 'host_samples'],
    ['createIndex', 'host_samples', { at: 1 }],
    ['createIndex', 'host_samples', { 'meta.host': 1, at: 1 }],
    ['createCollection', 'vm_samples', timeseries],
  ]);
  assert.ok(!calls.some(([kind]) => kind === 'command'), 'no collMod: the server has none of what it would change');
  assert.equal(
    describeFallbacks(layout.fallbacks, 3_600_000),
    'history store (MongoDB): no time-series collections (server: NotImplemented) for host_samples, vm_samples; ' +
      'no TTL indexes (server: NotImplemented) for actions, decisions: using plain collections with indexes, ' +
      'and Tide deletes expired records there itself (at start, then every 60 min)',
  );
});

test('a MongoDB before 5.0 (create.timeseries unknown) keeps its TTL indexes and falls back for samples only', async () => {
  const { db } = fakeDb({ createTimeSeries: () => serverError(40415, 'Location40415', "BSON field 'create.timeseries' is an unknown field.") });
  const layout = await prepareCollections(db, options);
  assert.deepEqual(layout.ownExpiry.map((e) => e.collection), ['host_samples', 'vm_samples']);
  assert.deepEqual(layout.fallbacks.map((f) => f.feature), ['time-series collections', 'time-series collections']);
});

test('sample collections made plain at an earlier start stay plain on a server that now has time-series collections', async () => {
  const { db, calls } = fakeDb({ existing: { host_samples: 'collection', vm_samples: 'collection' } });
  const layout = await prepareCollections(db, options);
  assert.deepEqual(layout.fallbacks.map((f) => [f.collection, f.reason]), [
    ['host_samples', 'made plain at an earlier start'],
    ['vm_samples', 'made plain at an earlier start'],
  ]);
  assert.ok(!calls.some(([kind, cmd]) => kind === 'command' && (cmd as { collMod?: string }).collMod?.endsWith('_samples')));
});

test('any other refusal is an error, not a fallback', async () => {
  const { db } = fakeDb({ createTimeSeries: () => serverError(13, 'Unauthorized', 'not authorized on tide to execute command { create: … }') });
  await assert.rejects(prepareCollections(db, options), /not authorized/);
});
