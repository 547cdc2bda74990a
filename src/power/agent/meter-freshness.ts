/**
 * The last reading of every meter and whether it still counts. A meter that has not reported
 * watts for `staleAfterMs` (or that Zigbee2MQTT says is offline) is stale: its host then
 * reports no watts at all rather than an old number, and its MeterFresh condition is False.
 */
import type { MeterReading } from '../../api/drivers.ts';

export type FreshnessReason = 'MeterReading' | 'MeterStale' | 'MeterOffline';

export interface MeterView {
  fresh: boolean;
  reason: FreshnessReason;
  message: string;
  /** Present only while fresh. */
  watts?: number;
  /** The last cumulative energy the meter reported (kept while stale: it is a total, not a rate). */
  energyWh?: number;
  /** Time of the last watts reading. */
  readingAtMs?: number;
}

interface MeterRecord {
  watts?: number;
  wattsAtMs?: number;
  energyWh?: number;
  offlineSinceMs?: number;
}

export class MeterFreshness {
  private readonly meters = new Map<string, MeterRecord>();

  constructor(readonly staleAfterMs: number) {}

  record(reading: MeterReading): void {
    const m = this.meters.get(reading.meterId) ?? {};
    if (reading.watts !== undefined && (m.wattsAtMs === undefined || reading.atMs >= m.wattsAtMs)) {
      m.watts = reading.watts;
      m.wattsAtMs = reading.atMs;
      if (m.offlineSinceMs !== undefined && reading.atMs >= m.offlineSinceMs) delete m.offlineSinceMs;
    }
    if (reading.energyWh !== undefined) m.energyWh = reading.energyWh;
    this.meters.set(reading.meterId, m);
  }

  markOffline(meterId: string, atMs: number): void {
    const m = this.meters.get(meterId) ?? {};
    m.offlineSinceMs = atMs;
    this.meters.set(meterId, m);
  }

  view(meterId: string, nowMs: number): MeterView {
    const m = this.meters.get(meterId);
    const staleAfter = formatSeconds(this.staleAfterMs);
    if (!m || m.wattsAtMs === undefined) {
      return { fresh: false, reason: 'MeterStale', message: `no power reading from meter ${meterId} yet (stale after ${staleAfter})`, energyWh: m?.energyWh };
    }
    const base = { energyWh: m.energyWh, readingAtMs: m.wattsAtMs };
    if (m.offlineSinceMs !== undefined) {
      return { ...base, fresh: false, reason: 'MeterOffline', message: `meter ${meterId} reported offline at ${new Date(m.offlineSinceMs).toISOString()}` };
    }
    const ageMs = nowMs - m.wattsAtMs;
    if (ageMs > this.staleAfterMs) {
      return { ...base, fresh: false, reason: 'MeterStale', message: `last power reading from meter ${meterId} is ${formatSeconds(ageMs)} old (stale after ${staleAfter})` };
    }
    return { ...base, fresh: true, watts: m.watts, reason: 'MeterReading', message: `meter ${meterId} read ${m.watts} W at ${new Date(m.wattsAtMs).toISOString()}` };
  }
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}
