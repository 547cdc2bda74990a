/**
 * Hosts that wake, or do not (issue 15 part 4). Pure: which methods a wake tries and in what
 * order, and what the host's status says after one — its last attempts, how many wakes failed
 * in a row, and the WakeFailing condition. As VMware DPM does after a failed wake test, a host
 * whose last WAKE_FAILURES_BEFORE_EXCLUSION wakes all failed is put in standby no more (it stays
 * on while it is on) until a wake succeeds; the planner still wakes it when load needs a host and
 * no other standby host is left, since a host that may come is better than none.
 */
import type { WakeMethod } from '../api/drivers.ts';
import type { PhysicalHost, PhysicalHostSpec, PhysicalHostStatus, WakeAttempt } from '../api/types.ts';
import { setConditions, type ConditionUpdate } from './conditions.ts';

/** Failed wakes in a row after which a host is no longer put in standby (docs/power.md). */
export const WAKE_FAILURES_BEFORE_EXCLUSION = 3;
/** Wake attempts kept in status.wakeAttempts, oldest dropped first. */
export const WAKE_ATTEMPTS_KEPT = 5;

export const WAKE_METHOD_WORDS: Record<WakeMethod, string> = { WakeOnLAN: 'Wake-on-LAN', IPMI: 'IPMI' };

/** The methods a wake tries, in order: onMethod, then each fallback not tried yet. */
export function wakeMethods(spec: PhysicalHostSpec): WakeMethod[] {
  const power = spec.power;
  if (!power || power.onMethod === 'None') return [];
  return [...new Set<WakeMethod>([power.onMethod, ...(power.fallbackOnMethods ?? [])])];
}

/** Failed wakes in a row, as the host's status says. */
export function failedWakes(host: PhysicalHost): number {
  return host.status?.failedWakesInARow ?? 0;
}

/** Is the host kept out of standby because its last wakes failed? */
export function wakeFailing(host: PhysicalHost): boolean {
  return failedWakes(host) >= WAKE_FAILURES_BEFORE_EXCLUSION;
}

/**
 * The status after one wake (its attempts, one per method tried, oldest first): the attempts
 * appended (the last WAKE_ATTEMPTS_KEPT kept), the count of failed wakes in a row, and the
 * WakeFailing condition. `changed` says whether the condition's status moved (an Event's worth).
 */
export function statusAfterWake(
  status: PhysicalHostStatus,
  attempts: WakeAttempt[],
  nowIso: string,
  generation?: number,
): { status: PhysicalHostStatus; condition: ConditionUpdate; changed: boolean } {
  const succeeded = attempts.some((a) => a.outcome === 'Succeeded');
  const inARow = succeeded ? 0 : (status.failedWakesInARow ?? 0) + 1;
  const kept = [...(status.wakeAttempts ?? []), ...attempts].slice(-WAKE_ATTEMPTS_KEPT);
  const condition = wakeCondition(inARow, kept);
  const before = status.conditions?.find((c) => c.type === 'WakeFailing');
  return {
    status: { ...status, wakeAttempts: kept, failedWakesInARow: inARow, conditions: setConditions(status.conditions, [condition], nowIso, generation) },
    condition,
    changed: (before?.status ?? 'False') !== condition.status,
  };
}

function wakeCondition(inARow: number, attempts: WakeAttempt[]): ConditionUpdate {
  const shown = attempts.map(describeAttempt).join('; ');
  if (inARow === 0) return { type: 'WakeFailing', status: 'False', reason: 'WakeSucceeded', message: `the last wake succeeded: ${shown}` };
  const what = `${inARow} wake${inARow === 1 ? '' : 's'} in a row failed`;
  if (inARow < WAKE_FAILURES_BEFORE_EXCLUSION) {
    return { type: 'WakeFailing', status: 'False', reason: 'WakeFailed', message: `${what} (standby stops at ${WAKE_FAILURES_BEFORE_EXCLUSION}): ${shown}` };
  }
  return {
    type: 'WakeFailing',
    status: 'True',
    reason: 'WakeFailed',
    message: `${what}: Tide puts this host in standby no more until a wake succeeds (it is still woken when load needs a host and no other standby host is left); last attempts: ${shown}`,
  };
}

export function describeAttempt(a: WakeAttempt): string {
  return `${WAKE_METHOD_WORDS[a.method]} at ${a.startedAt} ${a.outcome === 'Succeeded' ? 'up' : 'failed'} after ${a.latencySeconds} s${a.outcome === 'Failed' ? ` (${a.message})` : ''}`;
}
