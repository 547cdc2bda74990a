/**
 * `tide simulate --from-store`: replays the VM loads Tide's history store recorded under a
 * policy or strategy of the user's choice on the trace simulator, and puts beside it what
 * actually happened over the same window, from the same records: energy from the hosts' meter
 * readings, migrations from the action records, minutes overloaded from the hosts' loads, and
 * the SLA metrics estimated from those loads the way the simulator counts them.
 */
import { hostLoadPoints } from '../../planner/units.ts';
import type { PlannerPolicy, Snapshot, StrategyName } from '../../planner/types.ts';
import type { ActionRecord, HostSample, VmSample } from '../../store/types.ts';
import { simulateTraces, traceSimulationJson } from '../datacentre/simulate-trace.ts';
import { esv, SlaAccumulator } from '../metrics/sla.ts';
import { historyDatacentre, type HistoryDatacentre } from './history-trace.ts';

export interface History {
  hostSamples: HostSample[];
  vmSamples: VmSample[];
  actions: ActionRecord[];
}

export interface WhatIfOptions {
  strategy: StrategyName;
  policy?: Partial<PlannerPolicy>;
  range: { fromMs: number; toMs: number };
  /** What the output calls the store (e.g. its directory). */
  source: string;
}

const MS_PER_HOUR = 3_600_000;
/** A host reading at least this load was saturated: its VMs asked more than it gave. */
const SATURATED_PERCENT = 99.5;
const round3 = (n: number) => Math.round(n * 1000) / 1000;

export function whatIf(history: History, opts: WhatIfOptions) {
  const dc = historyDatacentre(history.hostSamples, history.vmSamples, opts.range);
  const threshold = opts.policy?.overloadThresholdPercent ?? 80;
  let overloadedIntervals = 0;
  const sim = simulateTraces(opts.source, dc.traces, {
    strategy: opts.strategy,
    setup: dc.setup,
    ...(opts.policy ? { policy: opts.policy } : {}),
    initialPlacement: dc.placement,
    epochMs: dc.fromMs,
    onPlan: (snapshot: Snapshot) => (overloadedIntervals += overloadedHosts(snapshot, threshold)),
  });
  const json = traceSimulationJson(sim);
  return {
    ...json,
    scenario: `history:${opts.source}`,
    window: { from: new Date(dc.fromMs).toISOString(), to: new Date(dc.toMs).toISOString(), intervalSeconds: dc.intervalSeconds, hosts: dc.setup.hostCount, vms: dc.traces.length },
    overloadThresholdPercent: threshold,
    overloadedMinutes: round3((overloadedIntervals * dc.intervalSeconds) / 60),
    actual: actualOutcome(history, dc, threshold),
  };
}

function overloadedHosts(snapshot: Snapshot, threshold: number): number {
  return snapshot.hosts.filter((h) => h.powerState === 'on' && hostLoadPoints(h, snapshot.vms.filter((v) => v.host === h.name)) > threshold).length;
}

/** What happened in the window, from the records (see the header). */
export function actualOutcome(history: History, dc: HistoryDatacentre, threshold: number) {
  const inWindow = (t: number) => t >= dc.fromMs && t < dc.toMs;
  let energyWh = 0;
  let unmeasuredMs = 0;
  const byHost = new Map<string, HostSample[]>();
  for (const s of history.hostSamples) if (inWindow(s.atMs)) byHost.set(s.host, [...(byHost.get(s.host) ?? []), s]);
  for (const samples of byHost.values()) {
    samples.sort((a, b) => a.atMs - b.atMs);
    samples.forEach((s, i) => {
      const ms = (i + 1 < samples.length ? samples[i + 1].atMs : dc.toMs) - s.atMs;
      if (s.watts !== undefined) energyWh += (s.watts * ms) / MS_PER_HOUR;
      else if (s.powerState !== 'off') unmeasuredMs += ms;
    });
  }
  const actions = history.actions.filter((a) => inWindow(a.atMs) && a.result === 'succeeded');
  const migrations = actions.filter((a) => a.action.type === 'migrate');
  let overloadedIntervals = 0;
  for (const loads of dc.hostLoads.values()) overloadedIntervals += loads.filter((l) => l !== undefined && l > threshold).length;
  const sla = actualSla(history, dc, migrations);
  const energyKWh = energyWh / 1000;
  return {
    energyWh: round3(energyWh),
    energyKWh,
    ...(unmeasuredMs > 0 ? { unmeasuredHostMinutes: round3(unmeasuredMs / 60_000) } : {}),
    migrations: migrations.length,
    powerOffs: actions.filter((a) => a.action.type === 'power-off').length,
    powerOns: actions.filter((a) => a.action.type === 'power-on').length,
    overloadedMinutes: round3((overloadedIntervals * dc.intervalSeconds) / 60),
    sla: { ...sla, esv: esv(energyKWh, sla.slav) },
  };
}

/**
 * The simulator's SLA metrics from the records: a host is active while its load reads above 0
 * and violating while it reads saturated; a VM loses the model's share of its demand
 * (migrationDegradation) while a recorded migration of it runs.
 */
function actualSla(history: History, dc: HistoryDatacentre, migrations: ActionRecord[]) {
  const sla = new SlaAccumulator();
  const seconds = dc.intervalSeconds;
  for (const loads of dc.hostLoads.values()) {
    for (const load of loads) if (load !== undefined && load > 0) sla.host(seconds, load, load >= SATURATED_PERCENT ? Infinity : load);
  }
  const degradation = dc.setup.migrationDegradation;
  dc.traces.forEach((trace, v) => {
    const vcpus = dc.setup.vmTypes[v].vcpus;
    const own = migrations.filter((m) => m.action.vm === trace.name);
    trace.samples.forEach((load, k) => {
      const start = dc.fromMs + k * seconds * 1000;
      const end = start + seconds * 1000;
      const migratingMs = own.reduce((ms, m) => ms + Math.max(0, Math.min(end, m.finishedAtMs ?? m.atMs) - Math.max(start, m.atMs)), 0);
      const requested = load * vcpus;
      const share = Math.min(1, migratingMs / (seconds * 1000));
      sla.vm(seconds * (1 - share), requested, requested, false);
      if (share > 0) sla.vm(seconds * share, requested * (1 - degradation), requested, true);
    });
  });
  const { slatah, pdm, slav } = sla.result();
  return { slatah, pdm, slav };
}
