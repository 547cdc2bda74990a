/**
 * One trace simulation: a data centre, a strategy, every interval observe → plan → act →
 * advance, and CloudSim's metrics at the end. Planning time is measured per round (wall clock
 * around plan() alone), so it reads as what the planner would cost in production.
 */
import { performance } from 'node:perf_hooks';
import { DEFAULT_POLICY, plan } from '../../planner/plan.ts';
import type { Plan, PlannerPolicy, Snapshot, StrategyName } from '../../planner/types.ts';
import { MetricsRecorder, type RunMetrics } from '../metrics/recorder.ts';
import type { Trace } from '../trace.ts';
import type { InitialPlacement } from './placement.ts';
import { CLOUDSIM_SETUP, type DatacentreSetup } from './setup.ts';
import { TraceDatacentre } from './trace-datacentre.ts';

export interface TraceRunOptions {
  strategy: StrategyName;
  setup?: DatacentreSetup;
  /** Policy fields to change from the planner's defaults (strategy comes from `strategy`). */
  policy?: Partial<PlannerPolicy>;
  initialPlacement?: InitialPlacement;
  /** Epoch ms of simulated time 0 (snapshots' clock; a what-if over history starts at its window). */
  epochMs?: number;
  /** Called after each round, e.g. to print progress. */
  onRound?: (k: number, migrations: number) => void;
  /** Called with every plan and the snapshot it was made from (tests check invariants). */
  onPlan?: (snapshot: Snapshot, plan: Plan) => void;
}

export interface TraceRunResult extends RunMetrics {
  strategy: StrategyName;
  /** The data centre as the run left it (for final states). */
  datacentre: TraceDatacentre;
  vms: number;
  hosts: number;
  rounds: number;
  planningMs: { mean: number; max: number };
  alerts: number;
}

export function runTrace(traces: readonly Trace[], opts: TraceRunOptions): TraceRunResult {
  const setup = opts.setup ?? CLOUDSIM_SETUP;
  const dc = new TraceDatacentre(traces, setup, opts.initialPlacement ?? 'power-aware', opts.epochMs ?? 0);
  const policy: PlannerPolicy = { ...DEFAULT_POLICY, minHostsOn: 0, ...opts.policy, strategy: opts.strategy };
  const recorder = new MetricsRecorder(setup.cloudsimCompat);
  let planningTotal = 0;
  let planningMax = 0;
  let alerts = 0;
  for (let k = 0; k < dc.intervals; k++) {
    const snapshot = dc.snapshot(k);
    const started = performance.now();
    const result = plan(snapshot, policy);
    const took = performance.now() - started;
    planningTotal += took;
    planningMax = Math.max(planningMax, took);
    alerts += result.actions.filter((a) => a.type === 'alert').length;
    opts.onPlan?.(snapshot, result);
    recorder.migrations += dc.apply(result, k);
    dc.run(k, recorder);
    opts.onRound?.(k, recorder.migrations);
  }
  return {
    strategy: opts.strategy,
    datacentre: dc,
    vms: dc.vms.length,
    hosts: dc.hosts.length,
    rounds: dc.intervals,
    ...recorder.result(),
    planningMs: { mean: planningTotal / Math.max(1, dc.intervals), max: planningMax },
    alerts,
  };
}
