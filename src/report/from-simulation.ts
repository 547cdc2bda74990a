/**
 * Reads the output of `tide simulate --json` into a report input. The format is fixed:
 *   {scenario, initialWatts, finalWatts, energyWh,
 *    hosts: [{name, powerState, cpuLoadPercent, watts, vms: [names]}],
 *    vms: [{name, host, cpuLoadPercent}],
 *    actions: [{type, vm?, from?, to?, host?, atSeconds, reason}],
 *    timeline?: [{atSeconds, hosts: [{name, watts, powerState, cpuLoadPercent}]}]}
 * The optional `timeline` is what energy per host and the charts are computed from.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { parseDocument } from 'yaml';
import type { HostPoint, PointPowerState, ReportInput } from './model.ts';

const TimelineHost = Type.Object({
  name: Type.String(),
  watts: Type.Number({ minimum: 0 }),
  powerState: Type.String(),
  cpuLoadPercent: Type.Number(),
});

const SimulationOutput = Type.Object({
  scenario: Type.String(),
  initialWatts: Type.Number(),
  finalWatts: Type.Number(),
  energyWh: Type.Number(),
  hosts: Type.Array(Type.Object({
    name: Type.String(),
    powerState: Type.String(),
    cpuLoadPercent: Type.Number(),
    watts: Type.Number(),
    vms: Type.Array(Type.String()),
  })),
  vms: Type.Array(Type.Object({ name: Type.String(), host: Type.String(), cpuLoadPercent: Type.Number() })),
  actions: Type.Array(Type.Object({
    type: Type.Union([Type.Literal('migrate'), Type.Literal('power-on'), Type.Literal('power-off'), Type.Literal('alert')]),
    vm: Type.Optional(Type.String()),
    from: Type.Optional(Type.String()),
    to: Type.Optional(Type.String()),
    host: Type.Optional(Type.String()),
    atSeconds: Type.Number({ minimum: 0 }),
    reason: Type.String(),
  })),
  timeline: Type.Optional(Type.Array(Type.Object({ atSeconds: Type.Number({ minimum: 0 }), hosts: Type.Array(TimelineHost) }))),
});
export type SimulationOutput = Static<typeof SimulationOutput>;

const validate = new Ajv({ allErrors: false }).compile<SimulationOutput>(SimulationOutput);

/** Parses and checks the file's text; the error names the file and the line or field at fault. */
export function parseSimulationOutput(text: string, file: string): SimulationOutput {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${describeJsonError(err as Error, text)})`);
  }
  if (!validate(data)) {
    const e = validate.errors![0];
    const missing = e.keyword === 'required' ? `/${(e.params as { missingProperty: string }).missingProperty}` : '';
    const field = `${e.instancePath}${missing}` || '/';
    throw new Error(`${file}: field ${field} ${e.keyword === 'required' ? 'is missing' : e.message} — is this the output of 'tide simulate --json'?`);
  }
  return data;
}

/**
 * Node 20's JSON.parse does not say where it failed; the yaml parser (JSON is YAML 1.2) does,
 * so it is asked for the line and column once JSON.parse has refused.
 */
function describeJsonError(err: Error, text: string): string {
  const located = parseDocument(text).errors[0]?.linePos?.[0];
  return located ? `line ${located.line}, column ${located.col}: ${err.message}` : err.message;
}

function powerState(s: string): PointPowerState {
  if (s === 'on' || s === 'off' || s === 'booting' || s === 'shutting-down') return s;
  if (s === 'standby' || s === 'suspended') return 'off';
  return 'unknown';
}

export function simulationToReportInput(sim: SimulationOutput, overloadThresholdPercent?: number): ReportInput {
  const hosts: Record<string, HostPoint[]> = {};
  for (const step of sim.timeline ?? []) {
    for (const h of step.hosts) {
      (hosts[h.name] ??= []).push({
        atMs: step.atSeconds * 1000, powerState: powerState(h.powerState), watts: h.watts, cpuLoadPercent: h.cpuLoadPercent,
      });
    }
  }
  return {
    title: `simulation: ${sim.scenario}`,
    timeAxis: 'elapsed',
    hosts,
    actions: sim.actions.map(({ atSeconds, reason, ...rest }) => ({ atMs: atSeconds * 1000, reason, message: reason, ...rest })),
    overloadThresholdPercent,
    sourceEnergyWh: sim.energyWh,
    note: sim.timeline
      ? undefined
      : 'This file has no "timeline", so there is no time series to chart or to split energy by host; ' +
        "only the simulator's own total is shown. Newer 'tide simulate --json' output includes it.",
  };
}
