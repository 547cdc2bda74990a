/**
 * Scenarios: YAML files describing a data centre to simulate. loadScenario() takes a built-in
 * name (paper-consolidation, paper-balance: files in ./scenarios) or a path, and returns a
 * Scenario ready for SimDataCentre — or throws a ScenarioError naming file, line and field.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { DEFAULT_POLICY } from '../planner/plan.ts';
import type { PlannerPolicy } from '../planner/types.ts';
import { constantLoad, stepLoad, traceLoad, type LoadTimeline } from './load.ts';
import { linearPower, SPECPOWER_TABLES, tablePower, type PowerModel } from './power-model.ts';
import { parseTrace, PLANETLAB_INTERVAL_SECONDS, TraceError } from './trace.ts';
import { ScenarioDocument, type ScenarioHost, type ScenarioPolicy, type ScenarioVm } from './scenario-schema.ts';
import type { MigrationModel, SimHostSpec, SimVmSpec } from './datacentre.ts';
import { parseChecked, type Fail } from './yaml-errors.ts';

export interface Scenario {
  name: string;
  description: string;
  /** Where it was read from (a built-in's file too), for messages. */
  file: string;
  startMs: number;
  durationSeconds: number;
  evaluation: { firstAtSeconds: number; intervalSeconds: number; onOverload: boolean };
  migration: MigrationModel & { maxConcurrent: number };
  policy: PlannerPolicy;
  /** The policy's approval as `tide dev` creates it (the simulator runs every plan: nobody approves there). */
  approval?: 'Automatic' | 'Manual';
  hosts: SimHostSpec[];
  vms: SimVmSpec[];
}

export class ScenarioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}

export const SCENARIO_DIR = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');
export const BUILT_IN_SCENARIOS = ['paper-balance', 'paper-consolidation'] as const;
export const DEFAULT_START = Date.parse('2026-01-01T00:00:00Z');

/** Defaults where a scenario says nothing: a 1 Gbit/s link, hosts that boot in 2 minutes. */
const DEFAULTS = { bandwidthMbps: 1000, overheadSeconds: 2.5, cpuPercent: 20, maxConcurrent: 2, bootSeconds: 120, shutdownSeconds: 30, intervalSeconds: 600 };

export function loadScenario(nameOrPath: string): Scenario {
  const builtIn = (BUILT_IN_SCENARIOS as readonly string[]).includes(nameOrPath);
  const file = builtIn ? join(SCENARIO_DIR, `${nameOrPath}.yaml`) : resolve(nameOrPath);
  if (!builtIn && !existsSync(file)) {
    throw new ScenarioError(`${nameOrPath}: no such scenario file (built-in scenarios: ${BUILT_IN_SCENARIOS.join(', ')})`);
  }
  return parseScenario(readFileSync(file, 'utf8'), file);
}

const validateDocument = new Ajv({ allErrors: false, strict: false }).compile(ScenarioDocument);

export function parseScenario(text: string, file: string): Scenario {
  const { data, fail } = parseChecked<ScenarioDocument>(text, file, validateDocument, (m) => new ScenarioError(m));
  return buildScenario(data, file, fail);
}

function buildScenario(doc: ScenarioDocument, file: string, fail: Fail): Scenario {
  const startMs = doc.start === undefined ? DEFAULT_START : Date.parse(doc.start);
  if (Number.isNaN(startMs)) fail(['start'], `is not an ISO 8601 time: ${doc.start}`);
  const hosts = doc.hosts.flatMap((h, i) => hostSpecs(h, i, fail)).map((h, i) => ({ ...h, meterId: h.meterId || simMeterId(i) }));
  const hostNames = new Map<string, number>();
  hosts.forEach((h, i) => {
    if (hostNames.has(h.name)) fail(['hosts'], `define host ${h.name} twice`);
    hostNames.set(h.name, i);
  });
  const vmNames = new Set<string>();
  const memoryUsed = new Map<string, number>();
  const vms = (doc.vms ?? []).map((vm, i) => {
    if (vmNames.has(vm.name)) fail(['vms', i, 'name'], `repeats VM name ${vm.name}`);
    vmNames.add(vm.name);
    const host = hosts[hostNames.get(vm.host) ?? -1];
    if (!host) fail(['vms', i, 'host'], `names unknown host ${vm.host}`);
    if (host.powerState !== 'on') fail(['vms', i, 'host'], `puts ${vm.name} on ${vm.host}, which is off`);
    if (vm.pinnedHost !== undefined && !hostNames.has(vm.pinnedHost)) fail(['vms', i, 'pinnedHost'], `names unknown host ${vm.pinnedHost}`);
    const used = (memoryUsed.get(host.name) ?? 0) + vm.memoryMiB;
    if (used > host.memoryMiB) fail(['vms', i, 'host'], `puts ${used} MiB of VMs on ${host.name}, which has ${host.memoryMiB} MiB`);
    memoryUsed.set(host.name, used);
    return vmSpec(vm, i, dirname(file), fail);
  });
  return {
    name: doc.name,
    description: doc.description ?? '',
    file,
    startMs,
    durationSeconds: doc.durationSeconds,
    evaluation: {
      firstAtSeconds: doc.evaluation?.firstAtSeconds ?? 0,
      intervalSeconds: doc.evaluation?.intervalSeconds ?? DEFAULTS.intervalSeconds,
      onOverload: doc.evaluation?.onOverload ?? true,
    },
    migration: {
      bandwidthMbps: doc.migration?.bandwidthMbps ?? DEFAULTS.bandwidthMbps,
      overheadSeconds: doc.migration?.overheadSeconds ?? DEFAULTS.overheadSeconds,
      cpuPercent: doc.migration?.cpuPercent ?? DEFAULTS.cpuPercent,
      maxConcurrent: doc.migration?.maxConcurrent ?? DEFAULTS.maxConcurrent,
    },
    policy: policyFrom(doc.policy ?? {}),
    approval: doc.policy?.approval ?? 'Automatic',
    hosts,
    vms,
  };
}

/** The planner policy a scenario's (or `tide plan --policy`'s) policy block asks for. */
export function policyFrom(p: ScenarioPolicy): PlannerPolicy {
  return {
    ...DEFAULT_POLICY,
    ...(p.strategy !== undefined && { strategy: p.strategy }),
    ...(p.overloadThresholdPercent !== undefined && { overloadThresholdPercent: p.overloadThresholdPercent }),
    ...(p.consolidationThresholdPercent !== undefined && { consolidationThresholdPercent: p.consolidationThresholdPercent }),
    ...(p.balanceThresholdPercent !== undefined && { balanceThresholdPercent: p.balanceThresholdPercent }),
    ...(p.minHostsOn !== undefined && { minHostsOn: p.minHostsOn }),
    ...(p.maxMigrationsPerPlan !== undefined && { maxMigrationsPerPlan: p.maxMigrationsPerPlan }),
    ...(p.migrationCooldownSeconds !== undefined && { migrationCooldownMs: p.migrationCooldownSeconds * 1000 }),
    ...(p.powerCooldownSeconds !== undefined && { powerCooldownMs: p.powerCooldownSeconds * 1000 }),
    ...(p.consolidationAllowed !== undefined && { consolidationAllowed: p.consolidationAllowed }),
  };
}

/** A ZigBee-style IEEE address for host number `index`: 0x54494445 ("TIDE") then the number. */
export function simMeterId(index: number): string {
  return `0x54494445${(index + 1).toString(16).padStart(8, '0')}`;
}

function hostSpecs(h: ScenarioHost, index: number, fail: Fail): SimHostSpec[] {
  const power = powerModel(h.power, ['hosts', index, 'power'], fail);
  const names = h.count === undefined ? [h.name] : Array.from({ length: h.count }, (_, i) => `${h.name}-${i + 1}`);
  return names.map((name) => ({
    name,
    cpuCores: h.cpuCores,
    memoryMiB: h.memoryMiB,
    power,
    offWatts: h.power.offWatts ?? 0,
    bootSeconds: h.bootSeconds ?? DEFAULTS.bootSeconds,
    shutdownSeconds: h.shutdownSeconds ?? DEFAULTS.shutdownSeconds,
    powerState: h.powerState ?? 'on',
    standbyAllowed: h.standbyAllowed ?? true,
    maintenance: h.maintenance ?? false,
    meterId: h.count === undefined && h.meterId ? h.meterId : '',
  }));
}

function powerModel(p: ScenarioHost['power'], path: (string | number)[], fail: Fail): PowerModel {
  const given = [p.specpower !== undefined, p.table !== undefined, p.idleWatts !== undefined || p.peakWatts !== undefined].filter(Boolean).length;
  if (given !== 1) return fail(path, 'needs exactly one of: idleWatts and peakWatts, specpower, table');
  if (p.specpower !== undefined) {
    // Own keys only: "constructor" or "toString" must not find Object.prototype's.
    const table = Object.hasOwn(SPECPOWER_TABLES, p.specpower) ? SPECPOWER_TABLES[p.specpower] : undefined;
    if (!table) fail([...path, 'specpower'], `names unknown model ${JSON.stringify(p.specpower)} (known: ${Object.keys(SPECPOWER_TABLES).join('; ')})`);
    return tablePower(table, p.specpower);
  }
  if (p.table !== undefined) return tablePower(p.table, 'table');
  if (p.idleWatts === undefined) fail(path, 'is missing required field idleWatts');
  if (p.peakWatts === undefined) fail(path, 'is missing required field peakWatts');
  if (p.peakWatts! < p.idleWatts!) fail([...path, 'peakWatts'], `must be at least idleWatts (${p.idleWatts})`);
  return linearPower(p.idleWatts!, p.peakWatts!);
}

function vmSpec(vm: ScenarioVm, index: number, baseDir: string, fail: Fail): SimVmSpec {
  return {
    name: vm.name,
    host: vm.host,
    vcpus: vm.vcpus,
    memoryMiB: vm.memoryMiB,
    load: loadTimeline(vm.load, ['vms', index, 'load'], baseDir, fail),
    ...(vm.pinnedHost !== undefined && { pinnedHost: vm.pinnedHost }),
    doNotMigrate: vm.doNotMigrate ?? false,
    ...(vm.antiAffinityGroup !== undefined && { antiAffinityGroup: vm.antiAffinityGroup }),
  };
}

function isPercent(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 100;
}

function loadTimeline(load: unknown, path: (string | number)[], baseDir: string, fail: Fail): LoadTimeline {
  const shape = 'must be a CPU percentage (0–100), {steps: [{atSeconds, percent}, …]} or {trace: FILE, intervalSeconds}';
  if (typeof load === 'number') return isPercent(load) ? constantLoad(load) : fail(path, `${load} is outside 0–100`);
  if (typeof load !== 'object' || load === null || Array.isArray(load)) return fail(path, shape);
  const o = load as Record<string, unknown>;
  const unknownKey = Object.keys(o).find((k) => !['steps', 'trace', 'intervalSeconds'].includes(k));
  if (unknownKey) fail(path, 'is not a known field', unknownKey);
  if (Array.isArray(o.steps) && o.trace === undefined) {
    if (o.steps.length === 0) fail([...path, 'steps'], 'needs at least one step');
    const steps = o.steps.map((step: unknown, i) => {
      const s = step as Record<string, unknown>;
      if (typeof s !== 'object' || s === null || typeof s.atSeconds !== 'number' || s.atSeconds < 0) fail([...path, 'steps', i], 'needs atSeconds (a number ≥ 0)');
      if (!isPercent(s.percent)) fail([...path, 'steps', i], 'needs percent (a number from 0 to 100)');
      return { atSeconds: s.atSeconds as number, percent: s.percent as number };
    });
    return stepLoad(steps);
  }
  if (typeof o.trace === 'string' && o.steps === undefined) {
    const interval = o.intervalSeconds ?? PLANETLAB_INTERVAL_SECONDS;
    if (typeof interval !== 'number' || interval <= 0) fail([...path, 'intervalSeconds'], 'must be a number > 0');
    const traceFile = isAbsolute(o.trace) ? o.trace : join(baseDir, o.trace);
    if (!existsSync(traceFile)) fail([...path, 'trace'], `names a file that does not exist: ${traceFile}`);
    let text: string;
    try {
      text = readFileSync(traceFile, 'utf8');
    } catch (err) {
      return fail([...path, 'trace'], `names a file that cannot be read: ${traceFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    try {
      return traceLoad(parseTrace(text, traceFile), interval as number);
    } catch (err) {
      if (err instanceof TraceError) fail([...path, 'trace'], `is not a valid trace: ${err.message}`);
      throw err;
    }
  }
  return fail(path, shape);
}
