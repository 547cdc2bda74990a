import type { MeasuredSaving, PredictedSaving } from '../store/types.ts';

/**
 * What a report is made from, whatever the source (history store or `tide simulate --json`),
 * and what it concludes. Times are epoch ms for store data; for a simulation they are ms since
 * the simulation started (`timeAxis: 'elapsed'`).
 */

export type PointPowerState = 'on' | 'off' | 'booting' | 'shutting-down' | 'unknown';

export interface HostPoint {
  atMs: number;
  powerState: PointPowerState;
  watts?: number;
  cpuLoadPercent?: number;
}

export interface ReportAction {
  atMs: number;
  type: 'migrate' | 'power-on' | 'power-off' | 'alert';
  reason: string;
  message?: string;
  vm?: string;
  from?: string;
  to?: string;
  host?: string;
  /** pending / succeeded / failed / skipped, when the source knows. */
  result?: string;
  /** Power-offs from the history store: the saving predicted, and the one measured afterwards. */
  predictedSaving?: PredictedSaving;
  measuredSaving?: MeasuredSaving;
}

export interface ReportInput {
  /** What the report is about, e.g. the scenario or store location. */
  title: string;
  timeAxis: 'wall' | 'elapsed';
  /** Each host's observations, in any order. */
  hosts: Record<string, HostPoint[]>;
  actions: ReportAction[];
  /** The window to account for; defaults to the first and last observation. */
  window?: { fromMs?: number; toMs?: number };
  /** Known idle power per host (W), e.g. from PhysicalHost specs; otherwise estimated. */
  idleWatts?: Record<string, number>;
  /** A host (and the cluster's average) counts as overloaded at or above this load (paper's Th1: 80). */
  overloadThresholdPercent?: number;
  /** A total the source computed itself (the simulator's energyWh), shown for comparison. */
  sourceEnergyWh?: number;
  /** Said on the page when the source has no time series to chart. */
  note?: string;
}

export type IdleWattsSource = 'configured' | 'fitted' | 'lowest-on-reading' | 'other-hosts' | 'none';

export interface HostSummary {
  name: string;
  /** Energy the host used (Wh). */
  energyWh: number;
  /** Energy it would have used had it stayed powered on (Wh). */
  allOnEnergyWh: number;
  savedWh: number;
  idleWatts: number | undefined;
  idleWattsSource: IdleWattsSource;
  offMs: number;
  overloadedMs: number;
  /** Time with no power reading (not counted in energy). */
  unmeasuredMs: number;
  samples: number;
}

export interface ChartSeries {
  /** Grid times (ms) the charts are drawn at. */
  times: number[];
  /** Watts per charted host at each grid time (null before its first reading). */
  watts: { host: string; values: (number | null)[] }[];
  activeHosts: number[];
}

export interface Report {
  title: string;
  timeAxis: 'wall' | 'elapsed';
  fromMs: number;
  toMs: number;
  overloadThresholdPercent: number;
  hosts: HostSummary[];
  totalEnergyWh: number;
  allOnEnergyWh: number;
  savedWh: number;
  /** Time the average load of active hosts was at or above the threshold. */
  clusterOverloadedMs: number;
  actions: ReportAction[];
  charts: ChartSeries;
  sourceEnergyWh?: number;
  note?: string;
}
