/**
 * The history store: every measurement, decision and action the operator makes, kept so that
 * `tide report` (and people) can answer "how much energy did we save, what moved and why".
 *
 * Two implementations sit behind `HistoryStore`: an embedded one (files under a data
 * directory, the default) and MongoDB (selected by MONGODB_URI). Units follow src/api/drivers.ts:
 * epoch milliseconds, watts, CPU load in percent.
 */

export type SamplePowerState = 'on' | 'off' | 'booting' | 'shutting-down' | 'unknown';

/** One observation of a physical host. */
export interface HostSample {
  host: string;
  atMs: number;
  powerState: SamplePowerState;
  /** Measured (or modelled) power draw, when known. */
  watts?: number;
  /** Percentage of all the host's cores. */
  cpuLoadPercent?: number;
  memoryUsedMiB?: number;
  vmCount?: number;
  /** The host's capacity (spec.capacity), so `tide simulate --from-store` can rebuild it. */
  cpuCores?: number;
  memoryCapacityMiB?: number;
}

/** One observation of a VM on the host it ran on. */
export interface VmSample {
  vm: string;
  host: string;
  atMs: number;
  /** Percentage of the VM's own vCPUs. */
  cpuLoadPercent: number;
  memoryMiB?: number;
  vcpus?: number;
}

/**
 * The action as the planner phrased it. Structurally the planner's `Action`
 * (src/planner/types.ts), restated here so the store depends on nothing but data.
 */
export interface StoredAction {
  type: 'migrate' | 'power-on' | 'power-off' | 'alert';
  reason: string;
  message: string;
  vm?: string;
  from?: string;
  to?: string;
  host?: string;
  /** Power-offs: what the decision expected powering the host off to save (src/savings). */
  predictedSaving?: PredictedSaving;
}

/** A saving as predicted when the host was powered off: its idle watts over the next window. */
export interface PredictedSaving {
  /** Watts the host draws on and idle (its spec's idleWatts), no longer drawn while off. */
  watts: number;
  /** The window the prediction covers, from the power-off. */
  windowMs: number;
  /** watts × window, in watt-hours. */
  energyWh: number;
}

/** A saving as the hosts' meters showed it afterwards (src/savings/measure.ts). */
export interface MeasuredSaving {
  /** The span measured: from the power-off to the host's return or the window's end. */
  fromMs: number;
  toMs: number;
  /** Time in that span the host was off with a meter reading (the only time counted). */
  offMs: number;
  /** The watts the host drew on and idle, from its own readings before the power-off. */
  idleWatts: number;
  /** Where idleWatts came from: fitted / lowest on reading (meter), or the spec when no reading. */
  idleWattsSource: 'fitted' | 'lowest-on-reading' | 'spec';
  /** Average watts read while off (standby draw). */
  offWatts: number;
  /** (idleWatts − off reading) integrated over offMs, in watt-hours. */
  energyWh: number;
  /** Why the span ended: the host came back on, or the window ran out. */
  ended: 'host-on' | 'window-end';
}

/** One planning round: what the planner was asked and what it answered. */
export interface DecisionRecord {
  atMs: number;
  strategy: string;
  /** The plan's summary ("balanced: d = 4 < 10" …), always set. */
  summary: string;
  actions: StoredAction[];
  dryRun?: boolean;
  /** The sum of the plan's power-offs' predicted savings, when it powers hosts off. */
  predictedSaving?: PredictedSaving;
}

export type ActionResult = 'pending' | 'succeeded' | 'failed' | 'skipped';

export interface ActionOutcome {
  result: Exclude<ActionResult, 'pending'>;
  finishedAtMs: number;
  /** Why it failed or was skipped. */
  error?: string;
  /** For migrations: where the VM was observed running afterwards. */
  runningOn?: string | null;
}

/** An action as recorded (before it is carried out) and, once known, its outcome. */
export interface ActionRecord {
  id: string;
  atMs: number;
  action: StoredAction;
  /** The decision this action came from, when the caller kept its id. */
  decisionId?: string;
  result: ActionResult;
  finishedAtMs?: number;
  error?: string;
  runningOn?: string | null;
  /** Power-offs: the saving the meters showed, recorded when the host came back or the window ended. */
  measuredSaving?: MeasuredSaving;
}

export interface TimeRange {
  /** Inclusive lower bound (epoch ms). */
  fromMs: number;
  /** Exclusive upper bound (epoch ms). */
  toMs: number;
}

export interface StoreStats {
  /** Samples waiting to be written. */
  bufferedSamples: number;
  /** Samples dropped (oldest first) because the buffer was full while writes failed. */
  droppedSamples: number;
  /** Last write error, cleared by the next successful write. */
  lastWriteError?: string;
}

export interface HistoryStore {
  /** Buffers samples; they are written in batches (on a timer or when a batch is full). */
  appendHostSamples(samples: HostSample[]): void;
  appendVmSamples(samples: VmSample[]): void;
  /** Records a planning round; never dropped. Resolves to its id. */
  recordDecision(decision: DecisionRecord): Promise<string>;
  /**
   * Records an action durably before it is carried out (resolves once written); never dropped.
   * Resolves to the id to pass to `recordActionOutcome`.
   */
  recordAction(action: StoredAction, atMs: number, decisionId?: string): Promise<string>;
  recordActionOutcome(id: string, outcome: ActionOutcome): Promise<void>;
  /** Records what a power-off action saved, as measured (rejects for an unknown id). */
  recordMeasuredSaving(id: string, measured: MeasuredSaving): Promise<void>;

  /** Samples with fromMs ≤ atMs < toMs, oldest first (ties in append order). */
  hostSamples(range: TimeRange, host?: string): Promise<HostSample[]>;
  vmSamples(range: TimeRange, vm?: string): Promise<VmSample[]>;
  actions(range: TimeRange): Promise<ActionRecord[]>;
  decisions(range: TimeRange): Promise<(DecisionRecord & { id: string })[]>;

  stats(): StoreStats;
  /** Writes everything buffered; rejects if that is not possible now (the buffer is kept). */
  flush(): Promise<void>;
  /** Flushes (best effort) and releases files / connections. */
  close(): Promise<void>;
}

/** Tuning shared by both implementations. */
export interface StoreOptions {
  /** Samples older than this are removed (MongoDB: the collections' expireAfterSeconds). */
  sampleRetentionSeconds: number;
  /** Decisions and actions older than this are removed. */
  historyRetentionSeconds: number;
  /** Buffered samples are written at least this often. */
  flushIntervalMs: number;
  /** A batch is written as soon as this many samples are buffered. */
  maxBatchSize: number;
  /** At most this many samples wait in memory; beyond it the oldest are dropped and counted. */
  maxBufferedSamples: number;
}

export const defaultStoreOptions: StoreOptions = {
  sampleRetentionSeconds: 30 * 24 * 3600,
  historyRetentionSeconds: 365 * 24 * 3600,
  flushIntervalMs: 5_000,
  // 1000 hosts at one sample per 10 s is 100 samples/s: a batch of 1000 is one write per ~10 s.
  maxBatchSize: 1_000,
  maxBufferedSamples: 100_000,
};
