import type { HostSample, StoreOptions, StoreStats, VmSample } from './types.ts';

export type TaggedSample = { kind: 'host'; sample: HostSample } | { kind: 'vm'; sample: VmSample };

/**
 * Buffers samples in memory and hands them to `write` in batches: on a timer, or as soon as a
 * batch is full. Both stores use it, so they share one behaviour under pressure: when writes
 * fail the batch goes back to the front of the buffer and is retried on the next flush, and the
 * buffer never holds more than `maxBufferedSamples` — past that the *oldest* samples are dropped
 * and counted (recent data is what a report and the planner need most). Decisions and actions
 * never pass through here: they are written at once and never dropped.
 */
export class SampleBatcher {
  private buffer: TaggedSample[] = [];
  private dropped = 0;
  private lastError: string | undefined;
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: Pick<StoreOptions, 'flushIntervalMs' | 'maxBatchSize' | 'maxBufferedSamples'>,
    private readonly write: (batch: TaggedSample[]) => Promise<void>,
  ) {}

  /** Starts the periodic flush; the timer does not keep the process alive. */
  start(): void {
    this.timer = setInterval(() => {
      // A write still waiting on an unreachable server is not queued behind again; the error
      // is kept in stats() and the batch stays buffered.
      if (!this.inFlight) this.flush().catch(() => {});
    }, this.options.flushIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  add(entries: TaggedSample[]): void {
    this.buffer.push(...entries);
    this.trim();
    if (this.buffer.length >= this.options.maxBatchSize && !this.inFlight) {
      this.flush().catch(() => {});
    }
  }

  /** Writes everything buffered, one batch at a time; rejects on the first failed batch. */
  async flush(): Promise<void> {
    // One flush at a time keeps batches in order; a flush asked for meanwhile runs after it.
    while (this.inFlight) await this.inFlight.catch(() => {});
    const run = this.drain();
    this.inFlight = run;
    try {
      await run;
    } finally {
      this.inFlight = undefined;
    }
  }

  stats(): StoreStats {
    return { bufferedSamples: this.buffer.length, droppedSamples: this.dropped, lastWriteError: this.lastError };
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.options.maxBatchSize);
      try {
        await this.write(batch);
        this.lastError = undefined;
      } catch (err) {
        this.buffer.unshift(...batch);
        this.trim();
        this.lastError = err instanceof Error ? err.message : String(err);
        throw err;
      }
    }
  }

  private trim(): void {
    const excess = this.buffer.length - this.options.maxBufferedSamples;
    if (excess > 0) {
      this.buffer.splice(0, excess);
      this.dropped += excess;
    }
  }
}
