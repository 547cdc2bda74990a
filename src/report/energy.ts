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
import type { HostPoint, IdleWattsSource, PointPowerState } from './model.ts';

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

/** One host as a round observed it, for the live tally. */
export interface HostReading {
  name: string;
  powerState: PointPowerState;
  watts?: number;
  /** The host's idle power from its PhysicalHost spec; otherwise the lowest reading seen while on. */
  idleWatts?: number;
}

/**
 * The live side of this accounting, round after round (the operator's metrics and its
 * ConsolidationPolicy status): each host's previous reading held until the next round.
 */
export class EnergyTally {
  /** Totals since the tally started, in watt-hours. */
  usedWh = 0;
  savedWh = 0;
  private previous = new Map<string, { atMs: number; host: HostReading; idleWatts?: number }>();

  /** Adds the energy since each host's previous reading; returns what this round added. Hosts not given are forgotten. */
  observe(atMs: number, hosts: readonly HostReading[]): IntervalEnergy & { savedWh: number } {
    const added = { usedWh: 0, allOnWh: 0, savedWh: 0 };
    const next = new Map<string, { atMs: number; host: HostReading; idleWatts?: number }>();
    for (const host of hosts) {
      const prev = this.previous.get(host.name);
      if (prev && atMs > prev.atMs) {
        const e = intervalEnergy(prev.host, atMs - prev.atMs, prev.idleWatts);
        added.usedWh += e.usedWh;
        added.allOnWh += e.allOnWh;
        added.savedWh += Math.max(0, e.allOnWh - e.usedWh);
      }
      next.set(host.name, { atMs, host, idleWatts: host.idleWatts ?? learnIdle(prev?.idleWatts, host) });
    }
    this.previous = next;
    this.usedWh += added.usedWh;
    this.savedWh += added.savedWh;
    return added;
  }
}

/** Without a configured idle power, the lowest reading seen while on stands in for it. */
function learnIdle(previous: number | undefined, host: HostReading): number | undefined {
  if (host.powerState !== 'on' || host.watts === undefined) return previous;
  return previous === undefined ? host.watts : Math.min(previous, host.watts);
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
