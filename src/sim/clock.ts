/**
 * The simulated clock: its time is the data centre's, and moves only when someone moves it —
 * step by step (tests, `tide simulate`) or N times faster than the wall (`tide dev --speed N`).
 * Code under test sleeps on it like on the system clock; sleepers wake in deadline order, the
 * data centre having run every event due before their deadline.
 */
import type { Clock } from '../api/clock.ts';
import type { SimDataCentre } from './datacentre.ts';

interface Sleeper {
  atMs: number;
  seq: number;
  resolve: () => void;
}

export class SimClock implements Clock {
  private sleepers: Sleeper[] = [];
  private seq = 0;

  constructor(readonly dc: SimDataCentre) {}

  now(): number {
    return this.dc.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const sleeper: Sleeper = { atMs: this.now() + Math.max(0, ms), seq: this.seq++, resolve: () => {} };
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal?.reason);
      };
      sleeper.resolve = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
      this.sleepers.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
    });
  }

  /** When the next sleeper wakes (epoch ms; Infinity: nobody sleeps). Lets a driver step from wake-up to wake-up. */
  nextWakeAt(): number {
    return this.sleepers[0]?.atMs ?? Infinity;
  }

  /** Moves time to `t` at once, waking every sleeper due on the way (synchronously). */
  advanceTo(t: number): void {
    while (this.sleepers.length && this.sleepers[0].atMs <= t) {
      const sleeper = this.sleepers.shift()!;
      this.dc.advanceTo(Math.max(this.now(), sleeper.atMs));
      sleeper.resolve();
    }
    this.dc.advanceTo(Math.max(this.now(), t));
  }

  /**
   * Moves time to `t` one deadline at a time, letting woken code run (and sleep again) before
   * time moves on: what tests want when they drive async code on the simulated clock.
   */
  async runUntil(t: number): Promise<void> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      const next = this.sleepers[0];
      if (!next || next.atMs > t) break;
      this.advanceTo(next.atMs);
    }
    this.advanceTo(t);
    await new Promise((resolve) => setImmediate(resolve));
  }

  /**
   * Resolves once `condition()` holds, moving time to the next sleeper's deadline or the next
   * simulated event, whichever comes first; fails past `limitMs` of simulated time.
   */
  async runUntilCondition(condition: () => boolean, limitMs: number): Promise<void> {
    const end = this.now() + limitMs;
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (condition()) return;
      const next = Math.min(this.sleepers[0]?.atMs ?? Infinity, this.dc.nextEventAt());
      if (next > end) throw new Error(`condition not met within ${limitMs} ms of simulated time`);
      this.advanceTo(next);
    }
  }

  /**
   * Lets simulated time run `speed` times faster than the wall, ticking every `tickMs` of wall
   * time. Returns a function that stops it.
   */
  runRealtime(speed: number, tickMs = 20): () => void {
    if (!(speed > 0)) throw new Error(`speed must be > 0, got ${speed}`);
    const wallStart = Date.now();
    const simStart = this.now();
    const timer = setInterval(() => this.advanceTo(simStart + (Date.now() - wallStart) * speed), tickMs);
    return () => clearInterval(timer);
  }
}
