/** A power action counts only once the host is observed in the new state; waiting is bounded. */
import type { Clock } from '../../api/clock.ts';
import { PowerActionError, type HostTarget } from '../../api/drivers.ts';

/**
 * What an observer can say about a host's power: 'on' and 'off' are evidence (the host answered;
 * a BMC or meter says it is off); 'unreachable' is only that it did not answer — what a host that
 * is off looks like, and also a network blip; 'unknown' says nothing (e.g. a refused host key).
 */
export type ObservedPower = 'on' | 'off' | 'unreachable' | 'unknown';
export type PowerObserver = (host: HostTarget) => Promise<ObservedPower>;

export interface ConfirmOptions {
  observe: PowerObserver;
  clock: Clock;
  timeoutMs: number;
  pollMs: number;
  signal?: AbortSignal;
  /**
   * After a power-off command was sent, a host that stops answering and stays so is going down:
   * this many 'unreachable' observations in a row (at least pollMs apart) confirm it. Default 2,
   * so one blip does not. (Before anything is sent, unreachable confirms nothing: see act().)
   */
  unreachableInARow?: number;
}

/** Resolves once `observe` reports `want`; rejects with PowerActionError when the timeout passes first. */
export async function confirmPowerState(host: HostTarget, want: 'on' | 'off', how: string, o: ConfirmOptions): Promise<void> {
  const started = o.clock.now();
  const needed = Math.max(1, o.unreachableInARow ?? 2);
  let last: ObservedPower | string = 'unknown';
  let unreachable = 0;
  for (;;) {
    o.signal?.throwIfAborted();
    try {
      last = await o.observe(host);
    } catch (err) {
      last = `unknown (${(err as Error).message})`;
    }
    if (last === want) return;
    unreachable = last === 'unreachable' ? unreachable + 1 : 0;
    if (want === 'off' && unreachable >= needed) return;
    const waited = o.clock.now() - started;
    if (waited >= o.timeoutMs) {
      throw new PowerActionError(host.name, want,
        `${host.name} was not observed ${want} within ${o.timeoutMs / 1000}s after ${how} (last observed: ${last}); not retrying`);
    }
    await o.clock.sleep(Math.min(o.pollMs, o.timeoutMs - waited), o.signal);
  }
}
