/**
 * What a power-off saved, as the host's own meter readings show it: the watts it drew on and
 * idle before (fitted from its readings, as `tide report` does; its spec's idleWatts only when
 * it has none) minus what it read while off, over the time it was off within the window. Pure.
 *
 * Each reading holds until the next (a meter reports on change). Only time whose reading says
 * "off" with watts counts: the shutdown itself, and any stretch without a reading, are left
 * out rather than guessed, so the measured saving never credits power that was not read.
 */
import { estimateIdleWatts } from '../report/energy.ts';
import type { HostSample, MeasuredSaving } from '../store/types.ts';

const MS_PER_HOUR = 3_600_000;

export interface MeasureInput {
  /** When the power-off succeeded. */
  offAtMs: number;
  /** End of the measured span: the host's return, or the window's end. */
  untilMs: number;
  ended: MeasuredSaving['ended'];
  /** The host's samples, before the power-off (for its idle watts) and up to untilMs, any order. */
  readings: readonly Pick<HostSample, 'atMs' | 'powerState' | 'watts' | 'cpuLoadPercent'>[];
  /** The spec's idle watts, used when the host has no reading while on before offAtMs. */
  specIdleWatts?: number;
}

/** The measured saving; undefined when neither readings nor the spec say what the host idles at. */
export function measureSaving(input: MeasureInput): MeasuredSaving | undefined {
  const readings = [...input.readings].sort((a, b) => a.atMs - b.atMs);
  const before = readings.filter((r) => r.atMs < input.offAtMs);
  const fitted = estimateIdleWatts(before);
  const idle = fitted ?? (input.specIdleWatts !== undefined ? { watts: input.specIdleWatts, source: 'spec' as const } : undefined);
  if (!idle || idle.source === 'configured' || idle.source === 'other-hosts' || idle.source === 'none') return undefined;
  // The reading in force at the power-off (the last one before it) opens the first interval.
  const from = before.length > 0 ? before.length - 1 : 0;
  let offMs = 0;
  let offWattMs = 0;
  for (let i = from; i < readings.length; i++) {
    const r = readings[i];
    const start = Math.max(r.atMs, input.offAtMs);
    const end = Math.min(i + 1 < readings.length ? readings[i + 1].atMs : input.untilMs, input.untilMs);
    if (end <= start || r.powerState !== 'off' || r.watts === undefined) continue;
    offMs += end - start;
    offWattMs += r.watts * (end - start);
  }
  const offWatts = offMs > 0 ? offWattMs / offMs : 0;
  return {
    fromMs: input.offAtMs,
    toMs: input.untilMs,
    offMs,
    idleWatts: idle.watts,
    idleWattsSource: idle.source,
    offWatts,
    energyWh: ((idle.watts * offMs) - offWattMs) / MS_PER_HOUR,
    ended: input.ended,
  };
}
