/**
 * Energy of one host over one span, as CloudSim's PowerHost.getEnergyLinearInterpolation
 * computes it: the mean of the power at the span's start and end utilisation × its length —
 * except that CloudSim counts 0 J when the utilisation at the start is exactly 0 (the host is
 * treated as switched off even if it holds idle VMs). `cloudsimCompat: false` charges every
 * powered host (one that holds VMs, or is on or booting while empty) its watts instead.
 */
import type { PowerModel } from '../power-model.ts';

export function spanJoules(
  power: PowerModel,
  startUtilisation: number,
  endUtilisation: number,
  seconds: number,
  opts: { cloudsimCompat: boolean; powered: boolean },
): number {
  if (!opts.powered || (startUtilisation === 0 && opts.cloudsimCompat)) return 0;
  return ((power.watts(startUtilisation * 100) + power.watts(endUtilisation * 100)) / 2) * seconds;
}

export const JOULES_PER_KWH = 3_600_000;
