/**
 * `tide simulate --trace DIR` on the CloudSim-compatible data centre: CloudSim's PlanetLab
 * setup unless told otherwise, CloudSim's metrics, the oracle's two references, and the same
 * JSON fields as every other `tide simulate` run (scenario, watts, energy, hosts, VMs, actions)
 * plus `energyKWh`, `migrations`, `sla: { slatah, pdm, slav, esv }`, `oracleKWh` (the lower
 * bound) and `oracleUpperKWh` (the reachable clairvoyant packing).
 */
import { basename, resolve } from 'node:path';
import { num } from '../../planner/explain.ts';
import type { Action, Plan, PlannerPolicy, Snapshot, StrategyName } from '../../planner/types.ts';
import { oracleEnergy } from '../oracle/oracle.ts';
import type { Trace } from '../trace.ts';
import { allocateHost } from './allocation.ts';
import type { InitialPlacement } from './placement.ts';
import { runTrace, type TraceRunResult } from './run-trace.ts';
import { CLOUDSIM_SETUP, type DatacentreSetup } from './setup.ts';
import type { TraceDatacentre } from './trace-datacentre.ts';

export interface TraceSimulationOptions {
  strategy: StrategyName;
  hosts?: number;
  durationSeconds?: number;
  /** Enforce memory, keep idle VMs, charge idle watts (Tide's realistic mode); default CloudSim's. */
  realistic?: boolean;
  /** A data centre of its own instead of CloudSim's (hosts, durationSeconds and realistic are then unused). */
  setup?: DatacentreSetup;
  policy?: Partial<PlannerPolicy>;
  initialPlacement?: InitialPlacement;
  epochMs?: number;
  /** Called with every plan and the snapshot it was made from. */
  onPlan?: (snapshot: Snapshot, plan: Plan) => void;
}

export interface TraceSimulation {
  name: string;
  setup: DatacentreSetup;
  result: TraceRunResult;
  /** The oracle's lower bound and its reachable clairvoyant packing (src/sim/oracle). */
  oracleKWh: number;
  oracleUpperKWh: number;
  actions: { action: Action; atSeconds: number }[];
}

export function simulateTraces(dir: string, traces: readonly Trace[], opts: TraceSimulationOptions): TraceSimulation {
  const setup: DatacentreSetup = opts.setup ?? {
    ...CLOUDSIM_SETUP,
    hostCount: opts.hosts ?? CLOUDSIM_SETUP.hostCount,
    durationSeconds: opts.durationSeconds ?? CLOUDSIM_SETUP.durationSeconds,
    cloudsimCompat: !opts.realistic,
  };
  const actions: TraceSimulation['actions'] = [];
  let round = 0;
  const result = runTrace(traces, {
    strategy: opts.strategy,
    setup,
    ...(opts.policy ? { policy: opts.policy } : {}),
    ...(opts.initialPlacement ? { initialPlacement: opts.initialPlacement } : {}),
    ...(opts.epochMs !== undefined ? { epochMs: opts.epochMs } : {}),
    onPlan: (snapshot, plan) => {
      for (const action of plan.actions) actions.push({ action, atSeconds: round * setup.intervalSeconds });
      round++;
      opts.onPlan?.(snapshot, plan);
    },
  });
  const oracle = oracleEnergy(traces, setup);
  return { name: `planetlab:${basename(resolve(dir))}`, setup, result, oracleKWh: oracle.lowerKWh, oracleUpperKWh: oracle.upperKWh, actions };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;
const sig = (x: number) => (x === 0 ? '0' : x.toPrecision(3));

/** Watts of every host at sample `k` (compatibility mode: 0 W when idle or empty, as CloudSim counts). */
function hostStates(dc: TraceDatacentre, k: number) {
  return dc.hosts.map((h) => {
    const members = h.resident;
    const alloc = allocateHost(h.capacityMips, h.type.coreMips, members.map((vm) => ({ requestedMips: dc.requestedMips(vm, k), vcpus: vm.type.vcpus, role: 'resident' as const })));
    const load = Math.min(100, (alloc.utilisationMips / h.capacityMips) * 100);
    const on = dc.setup.cloudsimCompat ? members.length > 0 && load > 0 : h.powerState !== 'off';
    return { name: h.name, powerState: dc.setup.cloudsimCompat ? (on ? 'on' : 'off') : h.powerState, cpuLoadPercent: round3(load), watts: round3(on ? h.power.watts(load) : 0), vms: members.map((vm) => vm.name) };
  });
}

export function traceSimulationJson(sim: TraceSimulation) {
  const { result } = sim;
  const dc = result.datacentre;
  const first = hostStates(dc, 0);
  const last = hostStates(dc, dc.intervals);
  return {
    scenario: sim.name,
    initialWatts: round3(first.reduce((s, h) => s + h.watts, 0)),
    finalWatts: round3(last.reduce((s, h) => s + h.watts, 0)),
    energyWh: round3(result.energyKWh * 1000),
    hosts: last,
    vms: dc.vms.filter((vm) => !dc.retired.has(vm)).map((vm) => ({ name: vm.name, host: vm.host.name, cpuLoadPercent: dc.loadAt(vm, dc.intervals) })),
    actions: sim.actions.map(({ action, atSeconds }) => ({
      type: action.type,
      ...(action.type === 'migrate' && { vm: action.vm, from: action.from, to: action.to }),
      ...((action.type === 'power-on' || action.type === 'power-off' || (action.type === 'alert' && action.host)) && { host: action.host }),
      atSeconds,
      reason: `${action.reason}: ${action.message}`,
    })),
    energyKWh: result.energyKWh,
    migrations: result.migrations,
    sla: { slatah: result.sla.slatah, pdm: result.sla.pdm, slav: result.sla.slav, esv: result.sla.esv },
    oracleKWh: sim.oracleKWh,
    oracleUpperKWh: sim.oracleUpperKWh,
    planningMs: result.planningMs,
    mode: sim.setup.cloudsimCompat ? 'cloudsim' : 'realistic',
  };
}

export function traceSimulationText(sim: TraceSimulation): string {
  const { result: r, setup } = sim;
  const migrations = sim.actions.filter((a) => a.action.type === 'migrate');
  const lines = [
    `${sim.name} — ${r.vms} PlanetLab VMs on ${setup.hostCount} hosts (CloudSim's setup${setup.cloudsimCompat ? ', CloudSim compatibility mode' : ', realistic mode: memory enforced'}), strategy ${r.strategy}, ${r.rounds} rounds of ${num(setup.intervalSeconds)} s`,
    '',
    `energy      ${num(r.energyKWh)} kWh (× ${(r.energyKWh / sim.oracleKWh).toFixed(2)} the oracle's lower bound of ${num(sim.oracleKWh)} kWh, × ${(r.energyKWh / sim.oracleUpperKWh).toFixed(2)} its clairvoyant packing of ${num(sim.oracleUpperKWh)} kWh)`,
    `migrations  ${r.migrations}`,
    // Three significant digits: realistic-mode ESV is about 1e-6, where fixed decimals print 0.
    `SLATAH      ${sig(r.sla.slatah * 100)} %   PDM ${sig(r.sla.pdm * 100)} %   SLAV ${r.sla.slav === 0 ? '0' : (r.sla.slav * 100).toExponential(2)} %   ESV ${r.sla.esv === 0 ? '0' : r.sla.esv.toExponential(2)}`,
    `planning    ${r.planningMs.mean.toFixed(1)} ms per round on average, ${r.planningMs.max.toFixed(0)} ms at most`,
  ];
  if (migrations.length) {
    lines.push('', `first actions (of ${sim.actions.length}):`);
    for (const { action, atSeconds } of sim.actions.slice(0, 8)) lines.push(`${`${num(atSeconds)} s`.padStart(9)}  [${action.reason}] ${action.message}`);
  }
  return lines.join('\n');
}
