/**
 * The MongoDB history store (selected by MONGODB_URI), as the paper kept its measurements.
 *
 * - `host_samples`, `vm_samples`: time-series collections (timeField `at`, metaField `meta` =
 *   {host} or {vm, host}, granularity `seconds` since hosts are sampled every few seconds to a
 *   minute), expiring after `sampleRetentionSeconds` (re-applied with collMod on every start, so
 *   changing the setting takes effect).
 * - `decisions`, `actions`: ordinary collections keyed by string ids, indexed on `atMs` for the
 *   report's range queries, with a TTL index on `at` for `historyRetentionSeconds`.
 *
 * Samples go through SampleBatcher (insertMany per batch). When the server is away the driver
 * reconnects by itself; the failed batch stays buffered and is retried on the next flush, and
 * past `maxBufferedSamples` the oldest samples are dropped and counted. Actions and decisions are
 * written at once and the call rejects if they cannot be — they are never silently lost.
 */
import { randomUUID } from 'node:crypto';
import { MongoClient, MongoServerError, type Collection, type Db, type Document } from 'mongodb';
import { SampleBatcher, type TaggedSample } from './sample-batcher.ts';
import {
  defaultStoreOptions,
  type ActionOutcome,
  type ActionRecord,
  type DecisionRecord,
  type HistoryStore,
  type HostSample,
  type StoredAction,
  type StoreOptions,
  type StoreStats,
  type TimeRange,
  type VmSample,
} from './types.ts';

const NAMESPACE_EXISTS = 48;

export interface MongoStoreOptions extends Partial<StoreOptions> {
  /** Database to use when the URI names none (default `tide`). */
  dbName?: string;
  /** Read-only use (`tide report`): no collections created, no writes. */
  readOnly?: boolean;
}

interface SampleDoc extends Document {
  at: Date;
  meta: { host: string; vm?: string };
}

interface ActionDoc extends Document {
  _id: string;
  at: Date;
  atMs: number;
  action: StoredAction;
  decisionId?: string;
  result: ActionRecord['result'];
  finishedAtMs?: number;
  error?: string;
  runningOn?: string | null;
}

interface DecisionDoc extends DecisionRecord, Document {
  _id: string;
  at: Date;
}

export async function openMongoStore(uri: string, opts: MongoStoreOptions = {}): Promise<HistoryStore> {
  const options = { ...defaultStoreOptions, ...opts };
  // ignoreUndefined: optional fields left undefined are omitted, not stored as null.
  const client = new MongoClient(uri, { appName: 'tide', ignoreUndefined: true, serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  try {
    const db = client.db(opts.dbName ?? (client.options.dbName === 'test' ? 'tide' : client.options.dbName));
    if (!opts.readOnly) await ensureCollections(db, options);
    const store = new MongoStore(client, db, options, opts.readOnly ?? false);
    return store;
  } catch (err) {
    await client.close();
    throw err;
  }
}

async function ensureCollections(db: Db, options: StoreOptions): Promise<void> {
  const samples: { name: string; index: Record<string, 1> }[] = [
    { name: 'host_samples', index: { 'meta.host': 1, at: 1 } },
    { name: 'vm_samples', index: { 'meta.vm': 1, at: 1 } },
  ];
  for (const { name, index } of samples) {
    try {
      await db.createCollection(name, {
        timeseries: { timeField: 'at', metaField: 'meta', granularity: 'seconds' },
        expireAfterSeconds: options.sampleRetentionSeconds,
      });
    } catch (err) {
      if (!(err instanceof MongoServerError && err.code === NAMESPACE_EXISTS)) throw err;
      await db.command({ collMod: name, expireAfterSeconds: options.sampleRetentionSeconds });
    }
    await db.collection(name).createIndex(index);
  }
  for (const name of ['actions', 'decisions']) {
    const collection = db.collection(name);
    await collection.createIndex({ atMs: 1 });
    await setTtl(db, name, options.historyRetentionSeconds);
  }
}

/** Creates the TTL index on `at`, or changes its expiry when the setting changed. */
async function setTtl(db: Db, name: string, seconds: number): Promise<void> {
  try {
    await db.collection(name).createIndex({ at: 1 }, { name: 'at_ttl', expireAfterSeconds: seconds });
  } catch (err) {
    if (!(err instanceof MongoServerError)) throw err;
    await db.command({ collMod: name, index: { name: 'at_ttl', expireAfterSeconds: seconds } });
  }
}

class MongoStore implements HistoryStore {
  private readonly batcher: SampleBatcher;
  private readonly hostSamplesColl: Collection<SampleDoc>;
  private readonly vmSamplesColl: Collection<SampleDoc>;
  private readonly actionsColl: Collection<ActionDoc>;
  private readonly decisionsColl: Collection<DecisionDoc>;

  constructor(
    private readonly client: MongoClient,
    db: Db,
    options: StoreOptions,
    private readonly readOnly: boolean,
  ) {
    this.hostSamplesColl = db.collection<SampleDoc>('host_samples');
    this.vmSamplesColl = db.collection<SampleDoc>('vm_samples');
    this.actionsColl = db.collection<ActionDoc>('actions');
    this.decisionsColl = db.collection<DecisionDoc>('decisions');
    this.batcher = new SampleBatcher(options, (batch) => this.writeSamples(batch));
    if (!readOnly) this.batcher.start();
  }

  appendHostSamples(samples: HostSample[]): void {
    this.assertWritable();
    this.batcher.add(samples.map((sample) => ({ kind: 'host' as const, sample })));
  }

  appendVmSamples(samples: VmSample[]): void {
    this.assertWritable();
    this.batcher.add(samples.map((sample) => ({ kind: 'vm' as const, sample })));
  }

  async recordDecision(decision: DecisionRecord): Promise<string> {
    this.assertWritable();
    const id = randomUUID();
    await this.decisionsColl.insertOne({ _id: id, at: new Date(decision.atMs), ...decision });
    return id;
  }

  async recordAction(action: StoredAction, atMs: number, decisionId?: string): Promise<string> {
    this.assertWritable();
    const id = randomUUID();
    await this.actionsColl.insertOne({ _id: id, at: new Date(atMs), atMs, action, decisionId, result: 'pending' });
    return id;
  }

  async recordActionOutcome(id: string, outcome: ActionOutcome): Promise<void> {
    this.assertWritable();
    const { matchedCount } = await this.actionsColl.updateOne({ _id: id }, { $set: { ...outcome } });
    if (matchedCount === 0) throw new Error(`history store (MongoDB): no action with id ${id}`);
  }

  async hostSamples(range: TimeRange, host?: string): Promise<HostSample[]> {
    const docs = await this.findSamples(this.hostSamplesColl, range, host === undefined ? {} : { 'meta.host': host });
    return docs.map(({ at, meta, _id, ...rest }) => ({ host: meta.host, atMs: at.getTime(), ...rest }) as HostSample);
  }

  async vmSamples(range: TimeRange, vm?: string): Promise<VmSample[]> {
    const docs = await this.findSamples(this.vmSamplesColl, range, vm === undefined ? {} : { 'meta.vm': vm });
    return docs.map(({ at, meta, _id, ...rest }) => ({ vm: meta.vm, host: meta.host, atMs: at.getTime(), ...rest }) as VmSample);
  }

  async actions(range: TimeRange): Promise<ActionRecord[]> {
    const docs = await this.actionsColl.find(rangeFilter(range)).sort({ atMs: 1, _id: 1 }).toArray();
    return docs.map(({ _id, at: _at, ...rest }) => ({ id: _id, ...rest }));
  }

  async decisions(range: TimeRange): Promise<(DecisionRecord & { id: string })[]> {
    const docs = await this.decisionsColl.find(rangeFilter(range)).sort({ atMs: 1, _id: 1 }).toArray();
    return docs.map(({ _id, at: _at, ...rest }) => ({ id: _id, ...rest }));
  }

  stats(): StoreStats {
    return this.batcher.stats();
  }

  flush(): Promise<void> {
    return this.readOnly ? Promise.resolve() : this.batcher.flush();
  }

  async close(): Promise<void> {
    this.batcher.stop();
    try {
      if (!this.readOnly) await this.batcher.flush();
    } finally {
      await this.client.close();
    }
  }

  private assertWritable(): void {
    if (this.readOnly) throw new Error('history store (MongoDB) is open read-only');
  }

  private async findSamples(coll: Collection<SampleDoc>, range: TimeRange, meta: Document): Promise<SampleDoc[]> {
    const filter = { ...meta, at: { $gte: new Date(range.fromMs), $lt: new Date(range.toMs) } };
    return coll.find(filter).sort({ at: 1 }).toArray();
  }

  private async writeSamples(batch: TaggedSample[]): Promise<void> {
    const hosts: SampleDoc[] = [];
    const vms: SampleDoc[] = [];
    for (const entry of batch) {
      if (entry.kind === 'host') {
        const { host, atMs, ...rest } = entry.sample;
        hosts.push({ at: new Date(atMs), meta: { host }, ...rest });
      } else {
        const { vm, host, atMs, ...rest } = entry.sample;
        vms.push({ at: new Date(atMs), meta: { vm, host }, ...rest });
      }
    }
    // A retried batch may be written twice if the server took it but the reply was lost; a
    // duplicate sample changes no report (energy is integrated per distinct time).
    if (hosts.length > 0) await this.hostSamplesColl.insertMany(hosts, { ordered: true });
    if (vms.length > 0) await this.vmSamplesColl.insertMany(vms, { ordered: true });
  }
}

function rangeFilter(range: TimeRange): Document {
  return { atMs: { $gte: range.fromMs, $lt: range.toMs } };
}
