/**
 * What the agent writes into a PhysicalHost's status: watts (only while the meter is fresh),
 * the meter's cumulative energy, the reading's time and the MeterFresh condition. Pure: the
 * result is a JSON merge patch body for the status subresource.
 */
import type { Condition } from '../../api/schema-helpers.ts';
import type { MeterView } from './meter-freshness.ts';

export const METER_FRESH = 'MeterFresh';

export interface StatusWithConditions {
  conditions?: Condition[];
}

export interface MeterStatusPatch {
  status: {
    /** null removes an old number (merge-patch semantics). */
    watts: number | null;
    energyWh?: number;
    meterReadingTime?: string;
    conditions: Condition[];
  };
}

export function meterStatusPatch(current: StatusWithConditions | undefined, view: MeterView, nowMs: number): MeterStatusPatch {
  const conditions = current?.conditions ?? [];
  const previous = conditions.find((c) => c.type === METER_FRESH);
  const status = view.fresh ? 'True' : 'False';
  const condition: Condition = {
    type: METER_FRESH,
    status,
    reason: view.reason,
    message: view.message,
    // Kubernetes convention: the time the status last changed, not the time of this write.
    lastTransitionTime: previous && previous.status === status ? previous.lastTransitionTime : rfc3339(nowMs),
  };
  const patch: MeterStatusPatch = {
    status: {
      watts: view.fresh && view.watts !== undefined ? Math.max(0, view.watts) : null,
      // A merge patch replaces the whole list, so the other writers' conditions are carried over.
      conditions: [...conditions.filter((c) => c.type !== METER_FRESH), condition],
    },
  };
  if (view.energyWh !== undefined) patch.status.energyWh = Math.max(0, view.energyWh);
  if (view.readingAtMs !== undefined) patch.status.meterReadingTime = rfc3339(view.readingAtMs);
  return patch;
}

/** RFC 3339 without fractional seconds, as Kubernetes writes times. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
