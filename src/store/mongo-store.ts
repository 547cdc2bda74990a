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
 * Servers without time-series collections or TTL indexes (a MongoDB older than 5.0, FerretDB and
 * other wire-compatible services) are detected at start by trying them: the store then makes plain
 * collections with an index on `at` (samples) and deletes expired records itself, at start and
 * then every `retentionIntervalMs` (hourly), as the embedded store does. It logs this once per start.
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
  type MeasuredSaving,
  type StoredAction,
  type StoreOptions,
  type StoreStats,
  type TimeRange,
  type VmSample,
} from './types.ts';

const NAMESPACE_EXISTS = 48;

/**
 * Error codes with which a server says it lacks a feature, as opposed to refusing a request it
 * understood: NotImplemented (FerretDB), CommandNotSupported, IDLUnknownField (a MongoDB before
 * 5.0 does not know `create.timeseries`), InvalidOptions (older servers' "not a valid collection
 * option"). Tide's own options are always valid, so on a server that has the feature none of
 * these comes back.
 */
const FEATURE_MISSING = new Set([238, 115, 40415, 72]);

function featureMissing(err: unknown): err is MongoServerError {
  return err instanceof MongoServerError && typeof err.code === 'number' && FEATURE_MISSING.has(err.code);
}

function serverSaid(err: MongoServerError): string {
  return `server: ${err.codeName ?? `code ${String(err.code)}`}`;
}

const DEFAULT_EXPIRY_INTERVAL_MS = 3_600_000;

/** Where the store says what it could not use (structurally a subset of the operator's Logger). */
export interface StoreLog {
  warn(message: string, fields?: Record<string, unknown>): void;
}

const stderrLog: StoreLog = {
  warn: (message, fields) => process.stderr.write(`${message}${fields ? `  ${JSON.stringify(fields)}` : ''}\n`),
};

export interface MongoStoreOptions extends Partial<StoreOptions> {
  /** Database to use when the URI names none (default `tide`). */
  dbName?: string;
  /** Read-only use (`tide report`): no collections created, no writes. */
  readOnly?: boolean;
  /** Told once per start when a server feature is missing and the store falls back (default: stderr). */
  log?: StoreLog;
  /** Epoch ms now, for the store's own expiry on servers without TTL; tests pass their own. */
  now?: () => number;
  /** How often the store's own expiry runs, where the server cannot expire records (default 1 h). */
  retentionIntervalMs?: number;
}

/** A collection whose expired records the store deletes itself (the server has no TTL for it). */
export interface OwnExpiry {
  collection: string;
  /** `at` (a Date) for samples, `atMs` (indexed) for actions and decisions. */
  field: 'at' | 'atMs';
  seconds: number;
}

/** A collection made without a feature the store prefers, and why. */
export interface Fallback {
  collection: string;
  feature: 'time-series collections' | 'TTL indexes';
  /** The server's error code name (e.g. `NotImplemented`), or what was found instead. */
  reason: string;
}

/** What `prepareCollections` made of the server. */
export interface MongoLayout {
  ownExpiry: OwnExpiry[];
  /** Empty on a server with time-series collections and TTL indexes (MongoDB 5.0 or later). */
  fallbacks: Fallback[];
}

/** One line that says what the store does without the features the server lacks. */
export function describeFallbacks(fallbacks: Fallback[], intervalMs: number): string {
  const byFeature = new Map<string, Fallback[]>();
  for (const f of fallbacks) byFeature.set(f.feature, [...(byFeature.get(f.feature) ?? []), f]);
  const parts = [...byFeature].map(([feature, list]) => {
    const reasons = [...new Set(list.map((f) => f.reason))].join(', ');
    return `no ${feature} (${reasons}) for ${list.map((f) => f.collection).join(', ')}`;
  });
  return (
    `history store (MongoDB): ${parts.join('; ')}: using plain collections with indexes, and Tide deletes ` +
    `expired records there itself (at start, then every ${Math.round(intervalMs / 60_000)} min)`
  );
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
    if (opts.readOnly) return new MongoStore(client, db, options, true, [], opts);
    const layout = await prepareCollections(db, options);
    if (layout.fallbacks.length > 0) {
      (opts.log ?? stderrLog).warn(describeFallbacks(layout.fallbacks, opts.retentionIntervalMs ?? DEFAULT_EXPIRY_INTERVAL_MS));
    }
    const store = new MongoStore(client, db, options, false, layout.ownExpiry, opts);
    await store.expireOwn().catch((err: unknown) => store.expiryFailed(err));
    store.startExpiry();
    return store;
  } catch (err) {
    await client.close();
    throw err;
  }
}

/**
 * Creates the collections and indexes, or brings existing ones to the current retention settings.
 * Each feature is tried as such (time-series collections, TTL indexes): where the server says it
 * has no such thing, the collection is made plain and its expiry falls to the store.
 */
export async function prepareCollections(db: Db, options: StoreOptions): Promise<MongoLayout> {
  const layout: MongoLayout = { ownExpiry: [], fallbacks: [] };
  const samples: { name: string; index: Record<string, 1> }[] = [
    { name: 'host_samples', index: { 'meta.host': 1, at: 1 } },
    { name: 'vm_samples', index: { 'meta.vm': 1, at: 1 } },
  ];
  for (const { name, index } of samples) {
    const reason = await ensureSampleCollection(db, name, options.sampleRetentionSeconds);
    if (reason !== undefined) {
      await db.collection(name).createIndex({ at: 1 });
      layout.ownExpiry.push({ collection: name, field: 'at', seconds: options.sampleRetentionSeconds });
      layout.fallbacks.push({ collection: name, feature: 'time-series collections', reason });
    }
    await db.collection(name).createIndex(index);
  }
  for (const name of ['actions', 'decisions']) {
    const collection = db.collection(name);
    await collection.createIndex({ atMs: 1 });
    const reason = await setTtl(db, name, options.historyRetentionSeconds);
    if (reason !== undefined) {
      layout.ownExpiry.push({ collection: name, field: 'atMs', seconds: options.historyRetentionSeconds });
      layout.fallbacks.push({ collection: name, feature: 'TTL indexes', reason });
    }
  }
  return layout;
}

/**
 * A time-series collection with `expireAfterSeconds` (re-applied with collMod when it exists).
 * Resolves to why it is a plain collection instead, if it is.
 */
async function ensureSampleCollection(db: Db, name: string, seconds: number): Promise<string | undefined> {
  try {
    await db.createCollection(name, {
      timeseries: { timeField: 'at', metaField: 'meta', granularity: 'seconds' },
      expireAfterSeconds: seconds,
    });
    return undefined;
  } catch (err) {
    if (err instanceof MongoServerError && err.code === NAMESPACE_EXISTS) {
      const [existing] = await db.listCollections({ name }, { nameOnly: false }).toArray();
      if (existing?.type === 'timeseries') {
        await db.command({ collMod: name, expireAfterSeconds: seconds });
        return undefined;
      }
      // Made plain by an earlier start on a server without time-series collections.
      if (existing !== undefined) return 'made plain at an earlier start';
      throw err;
    }
    if (!featureMissing(err)) throw err;
    try {
      await db.createCollection(name);
    } catch (createErr) {
      if (!(createErr instanceof MongoServerError && createErr.code === NAMESPACE_EXISTS)) throw createErr;
    }
    return serverSaid(err);
  }
}

/**
 * Creates the TTL index on `at`, or changes its expiry when the setting changed. Resolves to why
 * there is no TTL index, if the server has none.
 */
async function setTtl(db: Db, name: string, seconds: number): Promise<string | undefined> {
  try {
    await db.collection(name).createIndex({ at: 1 }, { name: 'at_ttl', expireAfterSeconds: seconds });
  } catch (err) {
    if (!(err instanceof MongoServerError)) throw err;
    if (featureMissing(err)) return serverSaid(err);
    await db.command({ collMod: name, index: { name: 'at_ttl', expireAfterSeconds: seconds } });
  }
  return undefined;
}

class MongoStore implements HistoryStore {
  private readonly batcher: SampleBatcher;
  private readonly hostSamplesColl: Collection<SampleDoc>;
  private readonly vmSamplesColl: Collection<SampleDoc>;
  private readonly actionsColl: Collection<ActionDoc>;
  private readonly decisionsColl: Collection<DecisionDoc>;
  private readonly db: Db;
  private readonly now: () => number;
  private readonly retentionIntervalMs: number;
  private readonly log: StoreLog;
  private expiryTimer: NodeJS.Timeout | undefined;
  private expiring: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: MongoClient,
    db: Db,
    options: StoreOptions,
    private readonly readOnly: boolean,
    private readonly ownExpiry: OwnExpiry[],
    opts: MongoStoreOptions,
  ) {
    this.db = db;
    this.now = opts.now ?? Date.now;
    this.retentionIntervalMs = opts.retentionIntervalMs ?? DEFAULT_EXPIRY_INTERVAL_MS;
    this.log = opts.log ?? stderrLog;
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

  async recordMeasuredSaving(id: string, measuredSaving: MeasuredSaving): Promise<void> {
    this.assertWritable();
    const { matchedCount } = await this.actionsColl.updateOne({ _id: id }, { $set: { measuredSaving } });
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

  /** Deletes expired records from the collections the server cannot expire itself (one run at a time). */
  expireOwn(): Promise<void> {
    const run = this.expiring.then(async () => {
      for (const { collection, field, seconds } of this.ownExpiry) {
        const cutoff = this.now() - seconds * 1000;
        await this.db.collection(collection).deleteMany({ [field]: { $lt: field === 'at' ? new Date(cutoff) : cutoff } });
      }
    });
    this.expiring = run.catch(() => {});
    return run;
  }

  expiryFailed(err: unknown): void {
    this.log.warn('history store (MongoDB): deleting expired records failed; trying again at the next interval', { error: String(err) });
  }

  startExpiry(): void {
    if (this.ownExpiry.length === 0 || this.readOnly) return;
    this.expiryTimer = setInterval(() => {
      this.expireOwn().catch((err: unknown) => this.expiryFailed(err));
    }, this.retentionIntervalMs);
    this.expiryTimer.unref();
  }

  async close(): Promise<void> {
    this.batcher.stop();
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    await this.expiring;
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
    // A bound past the latest Date (an open-ended query's MAX_SAFE_INTEGER) is an invalid Date, which matches nothing.
    const date = (ms: number) => new Date(Math.min(Math.max(ms, -LAST_DATE_MS), LAST_DATE_MS));
    const filter = { ...meta, at: { $gte: date(range.fromMs), $lt: date(range.toMs) } };
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

/** The latest time a JavaScript Date holds. */
const LAST_DATE_MS = 8.64e15;

function rangeFilter(range: TimeRange): Document {
  return { atMs: { $gte: range.fromMs, $lt: range.toMs } };
}
