/**
 * A work queue in the manner of client-go's: a key is queued at most once, a key being
 * processed is not handed out again until done(), failures back off exponentially per key
 * (5 ms doubling to 1000 s, controller-runtime's defaults), and delayed adds run on the
 * injected clock so simulated time can run faster than the wall.
 */
import type { Clock } from '../api/clock.ts';

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 5, maxMs: 1_000_000 };

export class WorkQueue<K> {
  private readonly queue: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, number>();
  private readonly waiters: ((key: K | undefined) => void)[] = [];
  private readonly timers = new Set<AbortController>();
  private shuttingDown = false;

  constructor(
    private readonly clock: Clock,
    private readonly backoff: BackoffOptions = DEFAULT_BACKOFF,
  ) {}

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // re-queued by done()
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else {
      this.queue.push(key);
    }
  }

  /** Adds the key after `delayMs` of clock time. */
  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const timer = new AbortController();
    this.timers.add(timer);
    this.clock.sleep(delayMs, timer.signal).then(
      () => {
        this.timers.delete(timer);
        this.add(key);
      },
      () => this.timers.delete(timer),
    );
  }

  /** Re-adds a key that failed, after its per-key exponential backoff. */
  addRateLimited(key: K): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const delay = Math.min(this.backoff.baseMs * 2 ** failures, this.backoff.maxMs);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears a key's failure count after it succeeded. */
  forget(key: K): void {
    this.failures.delete(key);
  }

  failureCount(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Next key to process; undefined once the queue shuts down. */
  get(): Promise<K | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  get length(): number {
    return this.queue.length;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const timer of this.timers) timer.abort();
    this.timers.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}
