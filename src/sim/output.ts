/**
 * How `tide simulate` reports a run: the --json document other tools read (its shape is a
 * contract: see docs/simulate.md) and the text a person reads on a terminal.
 */
import { num } from '../planner/explain.ts';
import type { SimulationResult } from './run.ts';

export interface SimulationJson {
  scenario: string;
  initialWatts: number;
  finalWatts: number;
  energyWh: number;
  hosts: { name: string; powerState: string; cpuLoadPercent: number; watts: number; vms: string[] }[];
  vms: { name: string; host: string; cpuLoadPercent: number }[];
  actions: { type: string; vm?: string; from?: string; to?: string; host?: string; atSeconds: number; reason: string }[];
  /** Per-host state at each instant something changed (runs of up to TIMELINE_MAX_HOSTS hosts). */
  timeline?: { atSeconds: number; hosts: { name: string; watts: number; powerState: string; cpuLoadPercent: number }[] }[];
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

export function toJson(result: SimulationResult): SimulationJson {
  const start = result.scenario.startMs;
  return {
    scenario: result.scenario.name,
    initialWatts: round(result.initialWatts),
    finalWatts: round(result.finalWatts),
    energyWh: round(result.energyWh),
    hosts: result.hosts.map((h) => ({ ...h, cpuLoadPercent: round(h.cpuLoadPercent), watts: round(h.watts) })),
    vms: result.vms.map((v) => ({ ...v, cpuLoadPercent: round(v.cpuLoadPercent) })),
    actions: result.actions.map(({ action, startedAtMs }) => ({
      type: action.type,
      ...(action.type === 'migrate' && { vm: action.vm, from: action.from, to: action.to }),
      ...((action.type === 'power-on' || action.type === 'power-off' || (action.type === 'alert' && action.host)) && { host: action.host }),
      atSeconds: round((startedAtMs - start) / 1000),
      // The code first, for machines; then the sentence with the numbers, for people.
      reason: `${action.reason}: ${action.message}`,
    })),
    ...(result.timeline && {
      timeline: result.timeline.map((t) => ({ atSeconds: round(t.atSeconds), hosts: t.hosts.map((h) => ({ ...h, watts: round(h.watts), cpuLoadPercent: round(h.cpuLoadPercent) })) })),
    }),
  };
}

const seconds = (s: number) => `${num(s)} s`.padStart(9);

export function toText(result: SimulationResult): string {
  const { scenario, policy } = result;
  const out: string[] = [];
  out.push(`${scenario.name}${scenario.description ? ` — ${scenario.description}` : ''}`);
  out.push(`${scenario.hosts.length} hosts, ${scenario.vms.length} VMs, ${num(result.durationSeconds)} s simulated, strategy ${policy.strategy}, evaluation every ${num(scenario.evaluation.intervalSeconds)} s`);
  out.push('', `actions (${result.actions.length}):`);
  if (result.actions.length === 0) out.push('  none');
  for (const a of result.actions) {
    const start = (a.startedAtMs - scenario.startMs) / 1000;
    const end = a.endedAtMs !== undefined ? `, done at ${num((a.endedAtMs - scenario.startMs) / 1000)} s` : '';
    const status = a.outcome === 'failed' ? ` FAILED: ${a.error}` : a.outcome === 'running' ? ' (still running at the end)' : '';
    out.push(`${seconds(start)}  [${a.action.reason}${end}] ${a.action.message}${status}`);
  }
  out.push('', 'decisions:');
  for (const r of sampled(result.rounds, 12)) out.push(`${seconds(r.atSeconds)}  ${r.trigger === 'overload' ? '(overload) ' : ''}${r.summary}`);
  if (result.rounds.length > 12) out.push(`  … ${result.rounds.length} rounds in all`);
  out.push('', 'power over time (all hosts):');
  out.push(`${seconds(0)}  ${num(result.initialWatts).padStart(8)} W`);
  for (const p of sampled(result.power.filter((p) => p.atMs > 0 || p.watts !== result.initialWatts), 30)) {
    out.push(`${seconds(p.atMs)}  ${num(p.watts).padStart(8)} W`);
  }
  out.push('', 'final state:');
  const width = Math.max(...result.hosts.map((h) => h.name.length));
  for (const h of sampled(result.hosts, 20)) {
    const vms = h.vms.length > 6 ? `${h.vms.slice(0, 6).join(', ')} … (${h.vms.length} VMs)` : h.vms.join(', ') || '-';
    out.push(`  ${h.name.padEnd(width)}  ${h.powerState.padEnd(13)} ${`${num(h.cpuLoadPercent)} %`.padStart(7)} ${`${num(h.watts)} W`.padStart(9)}  ${vms}`);
  }
  if (result.hosts.length > 20) out.push(`  … ${result.hosts.length} hosts, ${result.hosts.filter((h) => h.powerState === 'on').length} on`);
  const mean = result.energyWh / (result.durationSeconds / 3600);
  out.push('', `power: ${num(result.initialWatts)} W at the start → ${num(result.finalWatts)} W at the end`);
  out.push(`energy: ${result.energyWh.toFixed(2)} Wh over ${num(result.durationSeconds)} s (mean ${num(mean)} W)`);
  return out.join('\n');
}

/** At most `max` items, evenly spread, always keeping the first and the last. */
function sampled<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  return Array.from({ length: max }, (_, i) => items[Math.round((i * (items.length - 1)) / (max - 1))]);
}
