/**
 * The store contract over the MongoDB wire protocol, with the official `mongodb` driver, against
 * the server test/store/mongo-server.ts picks: MONGODB_URI when set (a real MongoDB), otherwise a
 * FerretDB (SQLite backend) built and started here — required in CI, TIDE_FERRETDB=0 skips it
 * locally. Each test uses a database of its own and drops it afterwards.
 *
 * Also here: the store's fallback where the server lacks time-series collections and TTL indexes
 * (FerretDB has neither), and the collections it makes on a server that has them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { openMongoStore, type MongoStoreOptions } from '../../src/store/mongo-store.ts';
import type { HistoryStore } from '../../src/store/types.ts';
import { readHistory } from '../../src/sim/whatif/load.ts';
import { whatIf } from '../../src/sim/whatif/whatif.ts';
import { storeContract } from './contract.ts';
import { FERRETDB_VERSION, mongoTier, startFerretDB, type RunningServer } from './mongo-server.ts';

const tier = mongoTier();
const HOUR = 3_600_000;

if (tier.kind === 'skip') {
  test(`MongoDB store tier (${tier.name}): skipped because ${tier.reason}`, { skip: `skipped because ${tier.reason}` }, () => {});
} else {
  let uri = tier.kind === 'uri' ? tier.uri : '';
  let server: RunningServer | undefined;
  before(async () => {
    if (tier.kind === 'ferretdb') {
      server = await startFerretDB();
      uri = server.uri;
    }
  });
  after(() => server?.stop());

  const newDbName = () => `tide_test_${randomUUID().replaceAll('-', '')}`.slice(0, 38);
  async function dropDatabase(dbName: string): Promise<void> {
    const client = await MongoClient.connect(uri);
    try {
      await client.db(dbName).dropDatabase();
    } finally {
      await client.close();
    }
  }

  test(`MongoDB store tier: runs on ${tier.name} (${tier.reason})`, async () => {
    const client = await MongoClient.connect(uri);
    try {
      const info = await client.db('admin').command({ buildInfo: 1 });
      // FerretDB reports the MongoDB version it answers as (7.0.x), and its own as ferretdbVersion.
      if (tier.kind === 'ferretdb') assert.equal(info.ferretdbVersion, FERRETDB_VERSION);
    } finally {
      await client.close();
    }
  });

  storeContract(tier.name, async () => {
    const dbName = newDbName();
    return {
      open: (options) => openMongoStore(uri, { ...options, dbName, log: { warn() {} } }),
      cleanup: () => dropDatabase(dbName),
    };
  });

  async function withDb(fn: (dbName: string) => Promise<void>): Promise<void> {
    const dbName = newDbName();
    try {
      await fn(dbName);
    } finally {
      await dropDatabase(dbName);
    }
  }

  /** Opens a store and keeps what it logs. */
  async function open(dbName: string, options: MongoStoreOptions = {}): Promise<{ store: HistoryStore; warnings: string[] }> {
    const warnings: string[] = [];
    const store = await openMongoStore(uri, { ...options, dbName, log: { warn: (m) => warnings.push(m) } });
    return { store, warnings };
  }

  async function layoutOf(dbName: string): Promise<{ types: Record<string, string>; ttl: Record<string, number | undefined> }> {
    const client = await MongoClient.connect(uri);
    try {
      const db = client.db(dbName);
      const types = Object.fromEntries((await db.listCollections().toArray()).map((c) => [c.name, c.type ?? 'collection']));
      const ttl: Record<string, number | undefined> = {};
      for (const name of ['actions', 'decisions']) {
        if (types[name]) ttl[name] = (await db.collection(name).indexes()).find((i) => i.name === 'at_ttl')?.expireAfterSeconds;
      }
      return { types, ttl };
    } finally {
      await client.close();
    }
  }

  test('the store uses time-series collections and TTL indexes where the server has them, and says once where it falls back', () =>
    withDb(async (dbName) => {
      const { store, warnings } = await open(dbName);
      await store.close();
      const { types, ttl } = await layoutOf(dbName);
      if (warnings.length === 0) {
        // A server with both features: the layout docs/store.md describes.
        assert.deepEqual([types.host_samples, types.vm_samples], ['timeseries', 'timeseries']);
        assert.deepEqual(ttl, { actions: 365 * 24 * 3600, decisions: 365 * 24 * 3600 });
      } else {
        assert.equal(warnings.length, 1, 'one line per start');
        assert.deepEqual([types.host_samples, types.vm_samples], ['collection', 'collection']);
      }
      if (tier.kind === 'ferretdb') {
        // FerretDB v1 has neither feature; the store must notice by trying, and say so.
        assert.equal(warnings.length, 1);
        assert.match(warnings[0]!, /no time-series collections \(server: NotImplemented\) for host_samples, vm_samples/);
        assert.match(warnings[0]!, /no TTL indexes \(server: NotImplemented\) for actions, decisions/);
        assert.deepEqual(ttl, { actions: undefined, decisions: undefined });
      }
      // A second start over the existing collections works, with the same verdict.
      const again = await open(dbName);
      await again.store.close();
      assert.equal(again.warnings.length, warnings.length);
    }));

  test('a what-if replays a MongoDB history store (--mongodb URI, the database named in its path)', () =>
    withDb(async (dbName) => {
      const { store } = await open(dbName);
      const t0 = Date.now() - 2 * HOUR;
      try {
        // Two half-idle 4-core hosts, one VM each, observed every minute for 30 minutes.
        for (let k = 0; k < 30; k++) {
          const atMs = t0 + k * 60_000;
          for (const [host, load] of [['a', 10], ['b', 30]] as const) {
            store.appendHostSamples([{ host, atMs, powerState: 'on', watts: 60 + load, cpuLoadPercent: load / 2 + (k % 2) * 10, cpuCores: 4, memoryCapacityMiB: 8192 }]);
            store.appendVmSamples([{ vm: `vm-${host}`, host, atMs, cpuLoadPercent: load, vcpus: 2, memoryMiB: 1024 }]);
          }
        }
      } finally {
        await store.close();
      }
      const url = new URL(uri);
      url.pathname = `/${dbName}`;
      const range = { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER };
      const history = await readHistory({ mongodbUri: url.toString() }, range);
      const r = whatIf(history, { strategy: 'paper', range, source: 'MongoDB' });
      assert.deepEqual([r.window.hosts, r.window.vms, r.window.intervalSeconds], [2, 2, 60]);
      assert.equal(r.migrations, 1);
      assert.equal(r.actual.energyWh, 80); // 70 W + 90 W for 30 minutes
    }));

  test('a read-only store (tide report) creates nothing, reads beside the writer and refuses writes', () =>
    withDb(async (dbName) => {
      const all = { fromMs: 0, toMs: Date.now() + HOUR };
      const early = await openMongoStore(uri, { dbName, readOnly: true });
      assert.deepEqual(await early.hostSamples(all), []);
      await early.close();
      assert.deepEqual((await layoutOf(dbName)).types, {}, 'no collection made by a reader');
      const { store: writer } = await open(dbName);
      try {
        writer.appendHostSamples([{ host: 'a', atMs: Date.now(), powerState: 'on', watts: 7 }]);
        await writer.flush();
        const reader = await openMongoStore(uri, { dbName, readOnly: true });
        try {
          assert.deepEqual((await reader.hostSamples(all)).map((s) => s.watts), [7]);
          assert.throws(() => reader.appendHostSamples([]), /read-only/);
          await assert.rejects(reader.recordAction({ type: 'alert', reason: 'Blocked', message: 'x' }, 0), /read-only/);
        } finally {
          await reader.close();
        }
      } finally {
        await writer.close();
      }
    }));

  test('without TTL on the server, the store deletes expired samples, actions and decisions itself: at start and on its interval', async (t) => {
    await withDb(async (dbName) => {
      const probe = await open(dbName);
      await probe.store.close();
      if (probe.warnings.length === 0) {
        t.skip('this server expires records itself (time-series expireAfterSeconds and TTL indexes)');
        return;
      }
      const t0 = Math.floor(Date.now() / HOUR) * HOUR;
      const retention = { sampleRetentionSeconds: 3600, historyRetentionSeconds: 2 * 3600 };
      let now = t0;
      const writer = await open(dbName, { ...retention, now: () => now });
      writer.store.appendHostSamples([
        { host: 'a', atMs: t0 - 3 * HOUR, powerState: 'on', watts: 1 },
        { host: 'a', atMs: t0 - HOUR / 2, powerState: 'on', watts: 2 },
      ]);
      writer.store.appendVmSamples([{ vm: 'v', host: 'a', atMs: t0 - 3 * HOUR, cpuLoadPercent: 5 }]);
      await writer.store.recordAction({ type: 'alert', reason: 'Blocked', message: 'old' }, t0 - 3 * HOUR);
      await writer.store.recordAction({ type: 'alert', reason: 'Blocked', message: 'new' }, t0 - HOUR);
      await writer.store.recordDecision({ atMs: t0 - 3 * HOUR, strategy: 'paper', summary: 'old', actions: [] });
      await writer.store.recordDecision({ atMs: t0 - HOUR, strategy: 'paper', summary: 'new', actions: [] });
      await writer.store.close();

      // At start: what is past retention at t0 is gone, the rest stays.
      const all = { fromMs: 0, toMs: t0 + 10 * HOUR };
      const store = (await open(dbName, { ...retention, now: () => now, retentionIntervalMs: 50 })).store;
      try {
        assert.deepEqual((await store.hostSamples(all)).map((s) => s.watts), [2]);
        assert.deepEqual(await store.vmSamples(all), []);
        assert.deepEqual((await store.actions(all)).map((a) => a.action.message), ['new']);
        assert.deepEqual((await store.decisions(all)).map((d) => d.summary), ['new']);
        // While it stays open: two hours later the rest has expired too.
        now = t0 + 2 * HOUR;
        const deadline = Date.now() + 20_000;
        const left = async () =>
          (await store.hostSamples(all)).length + (await store.actions(all)).length + (await store.decisions(all)).length;
        while (Date.now() < deadline && (await left()) > 0) await new Promise((r) => setTimeout(r, 50));
        assert.equal(await left(), 0);
      } finally {
        await store.close();
      }
    });
  });
}
