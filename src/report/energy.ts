/**
 * Energy accounting, shared by `tide report` and the live metrics so both say the same thing.
 *
 * Used energy: each power reading holds until the host's next reading (sample-and-hold, which
 * is what a meter reporting on change means), integrated over time.
 *
 * Saving against all-hosts-on: while a host is off, the all-on baseline charges it its idle
 * power instead of what it drew (standby watts); while it is on, both charge what it drew. With
 * the paper's linear power model (P = Pidle + (Pmax − Pidle) · load) the same load spread over
 * more hosts costs exactly their idle power more, so this is the energy consolidation saved.
 */
import type { HostPoint, IdleWattsSource } from './model.ts';

const MS_PER_HOUR = 3_600_000;

export interface IntervalEnergy {
  usedWh: number;
  allOnWh: number;
}

/** The energy of one reading held for `durationMs`; an off host with no reading counts as 0 W. */
export function intervalEnergy(point: Pick<HostPoint, 'powerState' | 'watts'>, durationMs: number, idleWatts: number | undefined): IntervalEnergy {
  const hours = durationMs / MS_PER_HOUR;
  const used = (point.watts ?? 0) * hours;
  const allOn = point.powerState === 'off' && idleWatts !== undefined ? idleWatts * hours : used;
  return { usedWh: used, allOnWh: allOn };
}

/**
 * A host's idle power estimated from its own readings while on: the intercept of a least-squares
 * line watts = a + b · load when the loads vary (clamped to [0, lowest reading]), else the lowest
 * reading. Undefined when it was never seen on with a reading.
 */
export function estimateIdleWatts(points: HostPoint[]): { watts: number; source: IdleWattsSource } | undefined {
  const on = points.filter((p) => p.powerState === 'on' && p.watts !== undefined);
  if (on.length === 0) return undefined;
  const lowest = on.reduce((m, p) => Math.min(m, p.watts!), Infinity);
  const withLoad = on.filter((p) => p.cpuLoadPercent !== undefined);
  const loads = withLoad.map((p) => p.cpuLoadPercent!);
  const spread = loads.reduce((m, l) => Math.max(m, l), -Infinity) - loads.reduce((m, l) => Math.min(m, l), Infinity);
  if (withLoad.length >= 2 && spread >= 5) {
    const n = withLoad.length;
    const meanX = loads.reduce((a, b) => a + b, 0) / n;
    const meanY = withLoad.reduce((a, p) => a + p.watts!, 0) / n;
    let sxy = 0;
    let sxx = 0;
    for (const p of withLoad) {
      sxy += (p.cpuLoadPercent! - meanX) * (p.watts! - meanY);
      sxx += (p.cpuLoadPercent! - meanX) ** 2;
    }
    const slope = sxy / sxx;
    if (slope >= 0) return { watts: Math.min(lowest, Math.max(0, meanY - slope * meanX)), source: 'fitted' };
  }
  return { watts: lowest, source: 'lowest-on-reading' };
}
