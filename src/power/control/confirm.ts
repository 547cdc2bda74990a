/** A power action counts only once the host is observed in the new state; waiting is bounded. */
import type { Clock } from '../../api/clock.ts';
import { PowerActionError, type HostTarget } from '../../api/drivers.ts';

export type ObservedPower = 'on' | 'off' | 'unknown';
export type PowerObserver = (host: HostTarget) => Promise<ObservedPower>;

export interface ConfirmOptions {
  observe: PowerObserver;
  clock: Clock;
  timeoutMs: number;
  pollMs: number;
  signal?: AbortSignal;
}

/** Resolves once `observe` reports `want`; rejects with PowerActionError when the timeout passes first. */
export async function confirmPowerState(host: HostTarget, want: 'on' | 'off', how: string, o: ConfirmOptions): Promise<void> {
  const started = o.clock.now();
  let last: ObservedPower | string = 'unknown';
  for (;;) {
    o.signal?.throwIfAborted();
    try {
      last = await o.observe(host);
    } catch (err) {
      last = `unknown (${(err as Error).message})`;
    }
    if (last === want) return;
    const waited = o.clock.now() - started;
    if (waited >= o.timeoutMs) {
      throw new PowerActionError(host.name, want,
        `${host.name} was not observed ${want} within ${o.timeoutMs / 1000}s after ${how} (last observed: ${last}); not retrying`);
    }
    await o.clock.sleep(Math.min(o.pollMs, o.timeoutMs - waited), o.signal);
  }
}
