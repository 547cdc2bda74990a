/**
 * The embedded history store: files under one data directory, nothing else to install.
 *
 *   <dir>/samples/host/<YYYYMMDDHH>.jsonl   host samples, one segment per UTC hour of sample time
 *   <dir>/samples/vm/<YYYYMMDDHH>.jsonl     VM samples, likewise
 *   <dir>/history/actions.jsonl             action records, then outcome lines (fsync'd each)
 *   <dir>/history/decisions.jsonl           planning rounds (fsync'd each)
 *   <dir>/LOCK                              pid of the one process writing here
 *
 * Why JSON Lines rather than an embedded database: samples are append-only time series, so
 * hourly segments give range queries (open only the hours asked for) and retention (delete whole
 * segments) for free; the files survive a crash except for a torn last line, which readers skip;
 * they can be read with jq; and there is no native addon to build (better-sqlite3 needs a
 * compiler on every fresh machine here, and its current major crashes on Node 20). Actions and
 * decisions are few (a handful per reconcile round), so they are held in memory and the log is
 * compacted (outcomes folded in, expired records dropped) when the store opens.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { appendJsonLines, listFiles, readJsonLines, removeFile, rewriteJsonLines } from './jsonl-files.ts';
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

const HOUR_MS = 3_600_000;
/** Data directories this process holds open for writing (the LOCK file alone cannot tell). */
const openHere = new Set<string>();

type ActionLine =
  | ({ k: 'action' } & ActionRecord)
  | ({ k: 'outcome'; id: string } & ActionOutcome)
  | { k: 'measured'; id: string; measuredSaving: MeasuredSaving };
type StoredDecision = DecisionRecord & { id: string };

/** Another process (or this one) writes to the data directory: one writer per store. */
export class StoreInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreInUseError';
  }
}

export interface EmbeddedStoreOptions extends Partial<StoreOptions> {
  /** Open for reading only (e.g. `tide report` beside a running operator): no lock, no writes. */
  readOnly?: boolean;
  /** Epoch ms now, for retention; tests pass their own. */
  now?: () => number;
  /** How often expired segments and records are removed while the store is open (default 1 h). */
  retentionIntervalMs?: number;
}

/** `2026112510` for a time in the 10:00 UTC hour of 25 Nov 2026. */
export function segmentName(atMs: number): string {
  return new Date(Math.floor(atMs / HOUR_MS) * HOUR_MS).toISOString().slice(0, 13).replace(/[-T]/g, '');
}

function segmentStartMs(file: string): number {
  const s = basename(file, '.jsonl');
  return Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10));
}

export async function openEmbeddedStore(dir: string, opts: EmbeddedStoreOptions = {}): Promise<HistoryStore> {
  const store = new EmbeddedStore(dir, { ...defaultStoreOptions, ...opts }, opts.readOnly ?? false, opts.now ?? Date.now, opts.retentionIntervalMs ?? 3_600_000);
  await store.open();
  return store;
}

class EmbeddedStore implements HistoryStore {
  private readonly batcher: SampleBatcher;
  private readonly actionsById = new Map<string, ActionRecord>();
  private decisionList: StoredDecision[] = [];
  /** History appends are chained so lines land in the order the calls were made. */
  private historyWrites: Promise<unknown> = Promise.resolve();
  private readonly actionsFile: string;
  private readonly decisionsFile: string;
  private readonly lockFile: string;
  private retentionTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dir: string,
    private readonly options: StoreOptions,
    private readonly readOnly: boolean,
    private readonly now: () => number,
    private readonly retentionIntervalMs: number,
  ) {
    this.batcher = new SampleBatcher(options, (batch) => this.writeSamples(batch));
    this.actionsFile = join(dir, 'history', 'actions.jsonl');
    this.decisionsFile = join(dir, 'history', 'decisions.jsonl');
    this.lockFile = join(dir, 'LOCK');
  }

  async open(): Promise<void> {
    if (!this.readOnly) {
      await mkdir(join(this.dir, 'history'), { recursive: true });
      await this.takeLock();
    }
    await this.loadHistory();
    if (!this.readOnly) {
      await this.applyRetention();
      this.batcher.start();
      this.retentionTimer = setInterval(() => {
        // Chained with history appends so the logs are never rewritten under a write.
        this.historyWrites = this.historyWrites.catch(() => {}).then(() => this.applyRetention()).catch(() => {});
      }, this.retentionIntervalMs);
      this.retentionTimer.unref();
    }
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
    const record: StoredDecision = { id: randomUUID(), ...decision };
    await this.appendHistory(this.decisionsFile, [record]);
    this.decisionList.push(record);
    return record.id;
  }

  async recordAction(action: StoredAction, atMs: number, decisionId?: string): Promise<string> {
    this.assertWritable();
    const record: ActionRecord = { id: randomUUID(), atMs, action, decisionId, result: 'pending' };
    await this.appendHistory(this.actionsFile, [{ k: 'action', ...record }]);
    this.actionsById.set(record.id, record);
    return record.id;
  }

  async recordActionOutcome(id: string, outcome: ActionOutcome): Promise<void> {
    this.assertWritable();
    const record = this.actionsById.get(id);
    if (!record) throw new Error(`history store ${this.dir}: no action with id ${id}`);
    await this.appendHistory(this.actionsFile, [{ k: 'outcome', id, ...outcome }]);
    Object.assign(record, outcome);
  }

  async recordMeasuredSaving(id: string, measuredSaving: MeasuredSaving): Promise<void> {
    this.assertWritable();
    const record = this.actionsById.get(id);
    if (!record) throw new Error(`history store ${this.dir}: no action with id ${id}`);
    await this.appendHistory(this.actionsFile, [{ k: 'measured', id, measuredSaving }]);
    record.measuredSaving = measuredSaving;
  }

  async hostSamples(range: TimeRange, host?: string): Promise<HostSample[]> {
    const all = await this.readSamples<HostSample>('host', range);
    return host === undefined ? all : all.filter((s) => s.host === host);
  }

  async vmSamples(range: TimeRange, vm?: string): Promise<VmSample[]> {
    const all = await this.readSamples<VmSample>('vm', range);
    return vm === undefined ? all : all.filter((s) => s.vm === vm);
  }

  async actions(range: TimeRange): Promise<ActionRecord[]> {
    return sortByTime([...this.actionsById.values()].filter((a) => inRange(a.atMs, range))).map((a) => ({ ...a }));
  }

  async decisions(range: TimeRange): Promise<StoredDecision[]> {
    return sortByTime(this.decisionList.filter((d) => inRange(d.atMs, range)));
  }

  stats(): StoreStats {
    return this.batcher.stats();
  }

  flush(): Promise<void> {
    return this.readOnly ? Promise.resolve() : this.batcher.flush();
  }

  async close(): Promise<void> {
    if (this.readOnly) return;
    this.batcher.stop();
    clearInterval(this.retentionTimer);
    try {
      await this.batcher.flush();
      await this.historyWrites;
    } finally {
      await removeFile(this.lockFile);
      openHere.delete(resolve(this.dir));
    }
  }

  private assertWritable(): void {
    if (this.readOnly) throw new Error(`history store ${this.dir} is open read-only`);
  }

  private async takeLock(): Promise<void> {
    if (openHere.has(resolve(this.dir))) throw new StoreInUseError(`history store ${this.dir} is in use by process ${process.pid} (this one)`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(this.lockFile, 'wx');
        await handle.writeFile(String(process.pid));
        await handle.close();
        openHere.add(resolve(this.dir));
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const pid = Number((await readFile(this.lockFile, 'utf8').catch(() => '')).trim());
        // Our own pid in the file is stale too: a container restart can give us the old pid (1).
        if (pid > 0 && pid !== process.pid && isAlive(pid)) {
          throw new StoreInUseError(`history store ${this.dir} is in use by process ${pid} (${this.lockFile}); stop it, or give another --data-dir`);
        }
        await removeFile(this.lockFile); // stale: its writer is gone
      }
    }
    throw new Error(`history store ${this.dir}: could not take ${this.lockFile}`);
  }

  private async loadHistory(): Promise<void> {
    const actions = await readJsonLines<ActionLine>(this.actionsFile);
    for (const line of actions.values) {
      if (line.k === 'action') {
        const { k: _k, ...record } = line;
        this.actionsById.set(record.id, record);
      } else {
        // Outcome and measured-saving lines fold their fields into the record they name.
        const { k: _k, id, ...fields } = line;
        const record = this.actionsById.get(id);
        if (record) Object.assign(record, fields);
      }
    }
    this.decisionList = (await readJsonLines<StoredDecision>(this.decisionsFile)).values;
  }

  /** Drops expired segments and history records, and compacts the history logs (at open, then hourly). */
  private async applyRetention(): Promise<void> {
    const now = this.now();
    const sampleCutoff = now - this.options.sampleRetentionSeconds * 1000;
    for (const kind of ['host', 'vm']) {
      for (const file of await listFiles(join(this.dir, 'samples', kind), '.jsonl')) {
        if (segmentStartMs(file) + HOUR_MS <= sampleCutoff) await removeFile(file);
      }
    }
    const historyCutoff = now - this.options.historyRetentionSeconds * 1000;
    for (const [id, record] of this.actionsById) if (record.atMs < historyCutoff) this.actionsById.delete(id);
    this.decisionList = this.decisionList.filter((d) => d.atMs >= historyCutoff);
    await rewriteJsonLines(this.actionsFile, [...this.actionsById.values()].map((r) => ({ k: 'action', ...r })));
    await rewriteJsonLines(this.decisionsFile, this.decisionList);
  }

  private appendHistory(file: string, lines: unknown[]): Promise<void> {
    const write = this.historyWrites.catch(() => {}).then(() => appendJsonLines(file, lines, true));
    this.historyWrites = write;
    return write;
  }

  private async writeSamples(batch: TaggedSample[]): Promise<void> {
    const bySegment = new Map<string, unknown[]>();
    for (const { kind, sample } of batch) {
      const file = join(this.dir, 'samples', kind, `${segmentName(sample.atMs)}.jsonl`);
      const lines = bySegment.get(file) ?? [];
      lines.push(sample);
      bySegment.set(file, lines);
    }
    await mkdir(join(this.dir, 'samples', 'host'), { recursive: true });
    await mkdir(join(this.dir, 'samples', 'vm'), { recursive: true });
    for (const [file, lines] of bySegment) await appendJsonLines(file, lines, false);
  }

  private async readSamples<T extends { atMs: number }>(kind: 'host' | 'vm', range: TimeRange): Promise<T[]> {
    const files = (await listFiles(join(this.dir, 'samples', kind), '.jsonl')).filter((file) => {
      const start = segmentStartMs(file);
      return start < range.toMs && start + HOUR_MS > range.fromMs;
    });
    const samples: T[] = [];
    for (const file of files) {
      for (const s of (await readJsonLines<T>(file)).values) if (inRange(s.atMs, range)) samples.push(s);
    }
    return sortByTime(samples);
  }
}

function inRange(atMs: number, range: TimeRange): boolean {
  return atMs >= range.fromMs && atMs < range.toMs;
}

/** Stable: equal times keep the order they were written in. */
function sortByTime<T extends { atMs: number }>(items: T[]): T[] {
  return items.sort((a, b) => a.atMs - b.atMs);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
