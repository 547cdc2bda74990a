/**
 * From observations to conclusions: energy per host, saving against all-hosts-on, time
 * overloaded, and the evenly spaced series the charts are drawn from. Pure: no I/O, no clock.
 */
import { estimateIdleWatts, intervalEnergy } from './energy.ts';
import type { ChartSeries, HostPoint, HostSummary, IdleWattsSource, Report, ReportInput } from './model.ts';

const DEFAULT_OVERLOAD_PERCENT = 80;
/** Charts are drawn at this many evenly spaced times at most, whatever the sample count. */
const CHART_POINTS = 600;
/** Beyond this many hosts the power chart stacks the largest ones and sums the rest. */
const CHARTED_HOSTS = 12;

interface Interval {
  point: HostPoint;
  fromMs: number;
  toMs: number;
}

export function buildReport(input: ReportInput): Report {
  const series = Object.entries(input.hosts).map(([name, points]) => ({ name, points: normalise(points) }));
  const allTimes = series.flatMap((s) => s.points.map((p) => p.atMs)).concat(input.actions.map((a) => a.atMs));
  const fromMs = input.window?.fromMs ?? allTimes.reduce((a, b) => Math.min(a, b), allTimes[0] ?? 0);
  const toMs = input.window?.toMs ?? allTimes.reduce((a, b) => Math.max(a, b), fromMs);
  const threshold = input.overloadThresholdPercent ?? DEFAULT_OVERLOAD_PERCENT;

  const idle = idleWattsByHost(series, input.idleWatts ?? {});
  const hosts = series.map(({ name, points }) => summariseHost(name, points, fromMs, toMs, idle.get(name)!, threshold));
  const sum = (f: (h: HostSummary) => number) => hosts.reduce((a, h) => a + f(h), 0);
  return {
    title: input.title,
    timeAxis: input.timeAxis,
    fromMs,
    toMs,
    overloadThresholdPercent: threshold,
    hosts,
    totalEnergyWh: sum((h) => h.energyWh),
    allOnEnergyWh: sum((h) => h.allOnEnergyWh),
    savedWh: sum((h) => h.savedWh),
    clusterOverloadedMs: clusterOverloadedMs(series, fromMs, toMs, threshold),
    actions: input.actions.filter((a) => a.atMs >= fromMs && a.atMs <= toMs).sort((a, b) => a.atMs - b.atMs),
    charts: chartSeries(series, hosts, fromMs, toMs),
    sourceEnergyWh: input.sourceEnergyWh,
    note: input.note,
  };
}

/** Sorted by time, one point per time (the last one given wins: a re-sent sample is not counted twice). */
function normalise(points: HostPoint[]): HostPoint[] {
  const byTime = new Map<number, HostPoint>();
  for (const p of points) byTime.set(p.atMs, p);
  return [...byTime.values()].sort((a, b) => a.atMs - b.atMs);
}

/** Each reading held until the next one, clipped to the window. */
function intervals(points: HostPoint[], fromMs: number, toMs: number): Interval[] {
  const out: Interval[] = [];
  for (let i = 0; i < points.length; i++) {
    const start = Math.max(points[i].atMs, fromMs);
    const end = Math.min(i + 1 < points.length ? points[i + 1].atMs : toMs, toMs);
    if (end > start) out.push({ point: points[i], fromMs: start, toMs: end });
  }
  return out;
}

function idleWattsByHost(
  series: { name: string; points: HostPoint[] }[],
  configured: Record<string, number>,
): Map<string, { watts: number | undefined; source: IdleWattsSource }> {
  const result = new Map<string, { watts: number | undefined; source: IdleWattsSource }>();
  for (const { name, points } of series) {
    if (configured[name] !== undefined) result.set(name, { watts: configured[name], source: 'configured' });
    else result.set(name, estimateIdleWatts(points) ?? { watts: undefined, source: 'none' });
  }
  // A host never seen on is assumed to idle like the median of the others.
  const known = [...result.values()].flatMap((v) => (v.watts === undefined ? [] : [v.watts])).sort((a, b) => a - b);
  if (known.length > 0) {
    const median = known[Math.floor(known.length / 2)];
    for (const [name, v] of result) if (v.watts === undefined) result.set(name, { watts: median, source: 'other-hosts' });
  }
  return result;
}

function summariseHost(
  name: string,
  points: HostPoint[],
  fromMs: number,
  toMs: number,
  idle: { watts: number | undefined; source: IdleWattsSource },
  threshold: number,
): HostSummary {
  const summary: HostSummary = {
    name, energyWh: 0, allOnEnergyWh: 0, savedWh: 0, idleWatts: idle.watts, idleWattsSource: idle.source,
    offMs: 0, overloadedMs: 0, unmeasuredMs: 0, samples: points.length,
  };
  for (const { point, fromMs: start, toMs: end } of intervals(points, fromMs, toMs)) {
    const duration = end - start;
    if (point.powerState === 'off') summary.offMs += duration;
    if (point.powerState === 'on' && (point.cpuLoadPercent ?? 0) >= threshold) summary.overloadedMs += duration;
    if (point.watts === undefined && point.powerState !== 'off') {
      summary.unmeasuredMs += duration;
      continue;
    }
    const e = intervalEnergy(point, duration, idle.watts);
    summary.energyWh += e.usedWh;
    summary.allOnEnergyWh += e.allOnWh;
  }
  summary.savedWh = summary.allOnEnergyWh - summary.energyWh;
  return summary;
}

/** The point in force at `t` (the last at or before it), by binary search. */
function heldAt(points: HostPoint[], t: number): HostPoint | undefined {
  let lo = 0;
  let hi = points.length - 1;
  let found: HostPoint | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].atMs <= t) {
      found = points[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function isActive(p: HostPoint | undefined): boolean {
  return p !== undefined && p.powerState !== 'off' && p.powerState !== 'unknown';
}

/** Time during which the average load of the active hosts was at or above the threshold. */
function clusterOverloadedMs(series: { points: HostPoint[] }[], fromMs: number, toMs: number, threshold: number): number {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.atMs)).filter((t) => t < toMs))].sort((a, b) => a - b);
  let total = 0;
  for (let i = 0; i < times.length; i++) {
    const start = Math.max(times[i], fromMs);
    const end = Math.min(times[i + 1] ?? toMs, toMs);
    if (end <= start) continue;
    const loads = series.map((s) => heldAt(s.points, times[i])).filter(isActive).map((p) => p!.cpuLoadPercent ?? 0);
    if (loads.length > 0 && loads.reduce((a, b) => a + b, 0) / loads.length >= threshold) total += end - start;
  }
  return total;
}

function chartSeries(series: { name: string; points: HostPoint[] }[], hosts: HostSummary[], fromMs: number, toMs: number): ChartSeries {
  const times = chartTimes(series, fromMs, toMs);
  const ranked = [...hosts].sort((a, b) => b.energyWh - a.energyWh).map((h) => h.name);
  const shown = ranked.length > CHARTED_HOSTS ? ranked.slice(0, CHARTED_HOSTS - 1) : ranked;
  const rest = series.filter((s) => !shown.includes(s.name));
  const wattsAt = (points: HostPoint[], t: number) => {
    const p = heldAt(points, t);
    return p === undefined ? null : (p.watts ?? (p.powerState === 'off' ? 0 : null));
  };
  const watts = series
    .filter((s) => shown.includes(s.name))
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }))
    .map((s) => ({ host: s.name, values: times.map((t) => wattsAt(s.points, t)) }));
  if (rest.length > 0) {
    watts.push({
      host: `${rest.length} other hosts`,
      values: times.map((t) => rest.reduce<number | null>((sum, s) => {
        const w = wattsAt(s.points, t);
        return w === null ? sum : (sum ?? 0) + w;
      }, null)),
    });
  }
  const activeHosts = times.map((t) => series.filter((s) => isActive(heldAt(s.points, t))).length);
  return { times, watts, activeHosts };
}

/** Every observation time when there are few, else an even grid (plus the window's ends). */
function chartTimes(series: { points: HostPoint[] }[], fromMs: number, toMs: number): number[] {
  const observed = [...new Set(series.flatMap((s) => s.points.map((p) => p.atMs)))]
    .filter((t) => t >= fromMs && t <= toMs)
    .sort((a, b) => a - b);
  if (observed.length <= CHART_POINTS) {
    if (observed.length > 0 && observed[observed.length - 1] < toMs) observed.push(toMs);
    return observed;
  }
  const step = (toMs - fromMs) / (CHART_POINTS - 1);
  return Array.from({ length: CHART_POINTS }, (_, i) => Math.round(fromMs + i * step));
}
