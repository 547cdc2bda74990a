/**
 * `tide simulate`'s engine: runs the planner against the simulated data centre over simulated
 * time, in discrete steps. Every `evaluation.intervalSeconds` (and, with onOverload, at any
 * load change that takes the average over Th1, as the paper's monitor does) it takes a
 * snapshot, plans, and hands the plan to the executor; between decisions the data centre runs
 * from event to event. A round is skipped while the previous plan is still being carried out.
 */
import { plan } from '../planner/plan.ts';
import type { PlannerPolicy } from '../planner/types.ts';
import { SimDataCentre, type PowerSample } from './datacentre.ts';
import { SimExecutor, type ExecutedAction } from './executor.ts';
import { snapshotOf } from './snapshot.ts';
import type { Scenario } from './scenario.ts';

export interface Round {
  atSeconds: number;
  trigger: 'periodic' | 'overload';
  summary: string;
  actions: number;
}

export interface FinalHost {
  name: string;
  powerState: string;
  cpuLoadPercent: number;
  watts: number;
  vms: string[];
}

export interface TimelinePoint {
  atSeconds: number;
  hosts: { name: string; watts: number; powerState: string; cpuLoadPercent: number }[];
}

/** Larger runs leave the per-host timeline out: it would grow with hosts × events. */
export const TIMELINE_MAX_HOSTS = 200;

export interface SimulationResult {
  scenario: Scenario;
  policy: PlannerPolicy;
  durationSeconds: number;
  initialWatts: number;
  finalWatts: number;
  energyWh: number;
  /** Total watts as a step function, times in seconds since the start. */
  power: PowerSample[];
  actions: ExecutedAction[];
  rounds: Round[];
  /** Every host's state each time something changed; absent above TIMELINE_MAX_HOSTS hosts. */
  timeline?: TimelinePoint[];
  hosts: FinalHost[];
  vms: { name: string; host: string; cpuLoadPercent: number }[];
}

export interface RunOptions {
  /** Overrides the scenario's strategy. */
  strategy?: PlannerPolicy['strategy'];
  /** Called now and then with the share of simulated time done (0–1). */
  onProgress?: (done: number) => void;
}

export function createDataCentre(scenario: Scenario): SimDataCentre {
  return new SimDataCentre(scenario.hosts, scenario.vms, scenario.migration, scenario.startMs);
}

export function runSimulation(scenario: Scenario, options: RunOptions = {}): SimulationResult {
  const policy = { ...scenario.policy, ...(options.strategy && { strategy: options.strategy }) };
  const dc = createDataCentre(scenario);
  const timeline: TimelinePoint[] | undefined = dc.hosts.size <= TIMELINE_MAX_HOSTS ? [] : undefined;
  const record = () => {
    if (!timeline) return;
    const point = { atSeconds: (dc.now() - scenario.startMs) / 1000, hosts: [...dc.hosts.values()].map((h) => ({ name: h.spec.name, watts: h.watts, powerState: h.powerState, cpuLoadPercent: h.utilisation })) };
    if (timeline.length && timeline[timeline.length - 1].atSeconds === point.atSeconds) timeline[timeline.length - 1] = point;
    else timeline.push(point);
  };
  const executor = new SimExecutor(dc, scenario.migration.maxConcurrent, record);
  record();
  const rounds: Round[] = [];
  const start = scenario.startMs;
  const end = start + scenario.durationSeconds * 1000;
  const intervalMs = scenario.evaluation.intervalSeconds * 1000;
  const initialWatts = dc.watts();
  let nextEvaluation = start + scenario.evaluation.firstAtSeconds * 1000;

  const decide = (trigger: Round['trigger']) => {
    const result = plan(snapshotOf(dc), policy);
    rounds.push({ atSeconds: (dc.now() - start) / 1000, trigger, summary: result.summary, actions: result.actions.length });
    executor.submit(result.actions);
  };

  for (;;) {
    // Stop at every load change too: the timeline records it, and the monitor may react.
    const t = Math.min(nextEvaluation, dc.nextLoadChangeAt(), end);
    dc.advanceTo(t);
    record();
    options.onProgress?.((t - start) / (end - start));
    if (t >= end) break;
    if (t === nextEvaluation) {
      nextEvaluation += intervalMs;
      if (executor.idle()) decide('periodic');
      else rounds.push({ atSeconds: (t - start) / 1000, trigger: 'periodic', summary: 'skipped: the previous plan is still being carried out', actions: 0 });
    } else if (scenario.evaluation.onOverload && executor.idle() && overloaded(dc, policy.overloadThresholdPercent)) {
      decide('overload');
    }
  }

  return {
    scenario,
    policy,
    durationSeconds: scenario.durationSeconds,
    initialWatts,
    finalWatts: dc.watts(),
    energyWh: dc.energyWh(),
    power: dc.powerSeries.map((s) => ({ atMs: (s.atMs - start) / 1000, watts: s.watts })),
    actions: executor.log,
    rounds,
    ...(timeline && { timeline }),
    hosts: [...dc.hosts.values()].map((h) => ({
      name: h.spec.name,
      powerState: h.powerState,
      cpuLoadPercent: h.utilisation,
      watts: h.watts,
      vms: [...h.vms].map((v) => v.spec.name).sort(),
    })),
    vms: [...dc.vms.values()].map((v) => ({ name: v.spec.name, host: v.host.spec.name, cpuLoadPercent: v.load })),
  };
}

/** The paper's monitor: average load of the hosts that are on, over Th1. */
function overloaded(dc: SimDataCentre, th1: number): boolean {
  let load = 0;
  let cores = 0;
  for (const host of dc.hosts.values()) {
    if (host.powerState !== 'on' || host.spec.maintenance) continue;
    load += host.utilisation * host.spec.cpuCores;
    cores += host.spec.cpuCores;
  }
  return cores > 0 && load / cores > th1;
}
