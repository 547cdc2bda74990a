/** The benchmark's rows and how they print: one line per day and strategy, plus CloudSim's own figures. */
import type { TraceRunResult } from '../../src/sim/datacentre/run-trace.ts';

export interface BenchRow {
  day: string;
  strategy: string;
  energyKWh: number;
  /** Energy over the oracle's lower bound, and over its reachable clairvoyant packing. */
  ratioToLower: number;
  ratioToUpper: number;
  slatahPercent: number;
  pdmPercent: number;
  slavPercent: number;
  esv: number;
  migrations: number;
  planningMsMean: number;
  planningMsMax: number;
  hostShutdowns: number;
  /** Host-hours a host held more than it has: where the lower bound does not bind the run (src/sim/oracle/lower-bound.ts). */
  overCapacityHostHours: number;
  vms: number;
}

export interface OracleKWh {
  lowerKWh: number;
  upperKWh: number;
  /** All VMs, whole hosts at 100 % (oracle/simple-bound.ts): for comparison, not a bound on every run. */
  simpleKWh: number;
}

/** The oracle's two references as rows, so that every table shows the bracket. */
export function oracleRows(day: string, oracle: OracleKWh, vms: number): BenchRow[] {
  return ([['simple bound', oracle.simpleKWh], ['lower bound', oracle.lowerKWh], ['clairvoyant packing', oracle.upperKWh]] as const).map(([strategy, energyKWh]) => ({
    day, strategy, energyKWh, ratioToLower: energyKWh / oracle.lowerKWh, ratioToUpper: energyKWh / oracle.upperKWh,
    slatahPercent: 0, pdmPercent: 0, slavPercent: 0, esv: 0, migrations: 0, planningMsMean: 0, planningMsMax: 0, hostShutdowns: 0, overCapacityHostHours: 0, vms,
  }));
}

export function toRow(day: string, r: TraceRunResult, oracle: OracleKWh): BenchRow {
  return {
    day,
    strategy: r.strategy,
    energyKWh: r.energyKWh,
    ratioToLower: r.energyKWh / oracle.lowerKWh,
    ratioToUpper: r.energyKWh / oracle.upperKWh,
    slatahPercent: r.sla.slatah * 100,
    pdmPercent: r.sla.pdm * 100,
    slavPercent: r.sla.slav * 100,
    esv: r.sla.esv,
    migrations: r.migrations,
    planningMsMean: r.planningMs.mean,
    planningMsMax: r.planningMs.max,
    hostShutdowns: r.hostShutdowns,
    overCapacityHostHours: r.overCapacityHostSeconds / 3600,
    vms: r.vms,
  };
}

/**
 * SLA figures span orders of magnitude (realistic-mode ESV is about 1e-6, CloudSim mode's 1e-2):
 * fixed decimals would print 0.00000 for the figures the realistic table compares, so they are
 * given to three significant digits.
 */
const sig = (x: number) => (x === 0 ? '0' : x.toPrecision(3));
const exp = (x: number) => (x === 0 ? '0' : x.toExponential(2));

const COLUMNS: [string, (r: BenchRow) => string][] = [
  ['day', (r) => r.day],
  ['strategy', (r) => r.strategy],
  ['energy kWh', (r) => r.energyKWh.toFixed(2)],
  ['× lower', (r) => (Number.isFinite(r.ratioToLower) ? r.ratioToLower.toFixed(3) : '-')],
  ['× packing', (r) => (Number.isFinite(r.ratioToUpper) ? r.ratioToUpper.toFixed(3) : '-')],
  ['SLATAH %', (r) => sig(r.slatahPercent)],
  ['PDM %', (r) => sig(r.pdmPercent)],
  ['SLAV %', (r) => exp(r.slavPercent)],
  ['ESV', (r) => exp(r.esv)],
  ['migrations', (r) => String(r.migrations)],
  ['over cap. host-h', (r) => (Number.isFinite(r.overCapacityHostHours) ? r.overCapacityHostHours.toFixed(1) : '-')],
  ['plan ms mean/max', (r) => (r.planningMsMax > 0 ? `${r.planningMsMean.toFixed(1)}/${r.planningMsMax.toFixed(0)}` : '-')],
];

/** A Markdown table: readable in a terminal and pasteable into docs. */
export function markdownTable(rows: readonly BenchRow[]): string {
  const cells = rows.map((r) => COLUMNS.map(([, f]) => f(r)));
  const widths = COLUMNS.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (values: string[]) => `| ${values.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i < 2 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(COLUMNS.map(([h]) => h)), rule, ...cells.map(line)].join('\n');
}

interface CloudSimFigures {
  energyKWh: number;
  migrations: number;
  slavPercent: number;
  pdmPercent: number;
  slatahPercent: number;
  esv: number;
}

/** CloudSim 3.0.3's own figures (cloudsim-reference.json: DVFS = npa, LR-MMT 1.2 = lr-mmt) as rows. */
export function referenceRows(reference: { days: Record<string, Record<string, CloudSimFigures>> }, days: readonly string[], oracle: ReadonlyMap<string, OracleKWh>): BenchRow[] {
  return days.flatMap((day) =>
    ['dvfs', 'lr-mmt-1.2'].flatMap((name) => {
      const lr = reference.days[day]?.[name];
      if (!lr) return [];
      return [{
      day,
      strategy: `CloudSim ${name}`,
      energyKWh: lr.energyKWh,
      ratioToLower: lr.energyKWh / (oracle.get(day)?.lowerKWh ?? NaN),
      ratioToUpper: lr.energyKWh / (oracle.get(day)?.upperKWh ?? NaN),
      slatahPercent: lr.slatahPercent,
      pdmPercent: lr.pdmPercent,
      slavPercent: lr.slavPercent,
      esv: lr.esv,
      migrations: lr.migrations,
      planningMsMean: 0,
      planningMsMax: 0,
      hostShutdowns: 0,
      overCapacityHostHours: NaN,
      vms: 0,
      }];
    }),
  );
}
