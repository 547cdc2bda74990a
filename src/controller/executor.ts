/**
 * Carries out a plan through the drivers. Each action's intent is written to the API before it
 * starts and its outcome after; a power-off waits for the migrations off its host and runs only
 * if a fresh look at the host finds no running VM — whatever the plan said.
 */
import type { Clock } from '../api/clock.ts';
import { PHYSICAL_HOST, VIRTUAL_MACHINE_PLACEMENT, CONSOLIDATION_POLICY } from '../api/crds.ts';
import type { HostTarget, HypervisorDriver, PowerDriver } from '../api/drivers.ts';
import type { ConsolidationPolicy, MigrationRecord, PhysicalHost, PhysicalHostStatus, PowerActionRecord, VirtualMachinePlacement, VirtualMachinePlacementStatus } from '../api/types.ts';
import type { Action, AlertAction, MigrateAction, Plan, PowerOffAction, PowerOnAction } from '../planner/types.ts';
import type { ClusterWriter } from './cluster.ts';
import type { Logger } from './log.ts';

export type ActionResultKind = 'succeeded' | 'failed' | 'skipped';

export interface ActionResult {
  id: string;
  action: Action;
  result: ActionResultKind;
  detail: string;
  startedAtMs: number;
  durationMs: number;
}

export interface ExecutorDeps {
  clock: Clock;
  hypervisor: HypervisorDriver;
  power: PowerDriver;
  writer: ClusterWriter;
  log: Logger;
  /** Told about every action once its intent is written, before it runs (history store). */
  onActionStarted?: (id: string, action: Action, atMs: number) => void;
  /** Told about every action as it ends (metrics, history store). */
  onActionDone?: (result: ActionResult) => void;
}

export interface ExecutionInput {
  plan: Plan;
  targets: Map<string, HostTarget>;
  hosts: Map<string, PhysicalHost>;
  placementByDomain: Map<string, VirtualMachinePlacement>;
  policy: ConsolidationPolicy;
  maxConcurrentMigrations: number;
  migrationTimeoutMs: number;
}

let sequence = 0;
function actionId(clock: Clock, subject: string): string {
  return `${subject}-${clock.now().toString(36)}-${(sequence++).toString(36)}`;
}

/** Runs `tasks` with at most `limit` at once, preserving their order of start. */
async function withConcurrency<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  return results;
}

export class Executor {
  constructor(private readonly deps: ExecutorDeps) {}

  async execute(input: ExecutionInput): Promise<ActionResult[]> {
    const { plan } = input;
    const results: ActionResult[] = [];
    const done = (r: ActionResult) => {
      results.push(r);
      this.deps.onActionDone?.(r);
      return r;
    };
    for (const alert of plan.actions.filter((a): a is AlertAction => a.type === 'alert')) done(await this.alert(alert, input));

    const powerOns = new Map<string, Promise<ActionResult>>();
    for (const a of plan.actions.filter((x): x is PowerOnAction => x.type === 'power-on')) {
      powerOns.set(a.host, this.powerOn(a, input).then(done));
    }
    const migrations = plan.actions.filter((a): a is MigrateAction => a.type === 'migrate');
    const migrationResults = withConcurrency(
      input.maxConcurrentMigrations,
      migrations.map((m) => async () => {
        // A migration onto a host being powered on waits for it, and is skipped if it never comes up.
        const boot = powerOns.get(m.to);
        if (boot && (await boot).result !== 'succeeded') {
          return done(this.skipped(m, `${m.to} did not power on`));
        }
        return done(await this.migrate(m, input));
      }),
    );
    const settled = await migrationResults;
    await Promise.all(powerOns.values());

    for (const off of plan.actions.filter((a): a is PowerOffAction => a.type === 'power-off')) {
      const failedOff = settled.filter((r) => r.action.type === 'migrate' && r.action.from === off.host && r.result !== 'succeeded');
      if (failedOff.length > 0) {
        done(this.skipped(off, `${failedOff.length} migration(s) off ${off.host} did not succeed`));
        continue;
      }
      done(await this.powerOff(off, input));
    }
    return results;
  }

  private skipped(action: Action, detail: string): ActionResult {
    this.deps.log.warn(`skip ${describe(action)}: ${detail}`);
    return { id: actionId(this.deps.clock, 'skip'), action, result: 'skipped', detail, startedAtMs: this.deps.clock.now(), durationMs: 0 };
  }

  private async alert(action: AlertAction, input: ExecutionInput): Promise<ActionResult> {
    const { writer, log, clock } = this.deps;
    log.warn(`alert: ${action.message}`, { reason: action.reason });
    const ref = action.host ? { def: PHYSICAL_HOST, name: action.host } : { def: CONSOLIDATION_POLICY, name: input.policy.metadata.name };
    await writer.recordEvent(ref, 'Warning', action.reason, action.message, 'Alert').catch((err) => log.error(`recording alert event failed: ${err}`));
    return { id: actionId(clock, 'alert'), action, result: 'succeeded', detail: action.message, startedAtMs: clock.now(), durationMs: 0 };
  }

  private async migrate(action: MigrateAction, input: ExecutionInput): Promise<ActionResult> {
    const { clock, writer, log, hypervisor } = this.deps;
    const placement = input.placementByDomain.get(action.vm);
    const from = input.targets.get(action.from);
    const to = input.targets.get(action.to);
    if (!placement || !from || !to) return this.skipped(action, `${action.vm}, ${action.from} or ${action.to} is no longer known`);
    const ref = { def: VIRTUAL_MACHINE_PLACEMENT, name: placement.metadata.name, namespace: placement.metadata.namespace, uid: placement.metadata.uid };
    const startedAtMs = clock.now();
    const record: MigrationRecord = {
      id: actionId(clock, action.vm),
      phase: 'Running',
      from: action.from,
      to: action.to,
      reason: action.reason,
      message: action.message,
      startedAt: new Date(startedAtMs).toISOString(),
    };
    // The intent goes to the API first: if we die from here on, the next start finds it.
    await writer.updateStatus<VirtualMachinePlacementStatus>(ref, (s) => ({ ...s, state: 'Migrating', migration: record }));
    await writer.recordEvent(ref, 'Normal', 'Migrating', action.message, 'Migrate').catch(() => {});
    log.info(`${describe(action)}: started`);
    this.deps.onActionStarted?.(record.id, action, startedAtMs);

    let lastProgress = -1;
    const outcome = await hypervisor
      .migrate({
        domain: action.vm,
        from,
        to,
        timeoutMs: input.migrationTimeoutMs,
        onProgress: (p) => {
          if (p - lastProgress >= 25) log.debug(`migrate ${action.vm}: ${Math.round(p)} %`), (lastProgress = p);
        },
      })
      .catch((err: unknown) => ({ domain: action.vm, runningOn: null, succeeded: false, durationMs: clock.now() - startedAtMs, error: String((err as Error)?.message ?? err) }));

    const completedAt = new Date(clock.now()).toISOString();
    const final: MigrationRecord = {
      ...record,
      phase: outcome.succeeded ? 'Succeeded' : 'Failed',
      completedAt,
      durationSeconds: Math.round(outcome.durationMs / 100) / 10,
      ...(outcome.succeeded ? { progressPercent: 100 } : { error: outcome.error ?? 'migration failed' }),
    };
    await writer.updateStatus<VirtualMachinePlacementStatus>(ref, (s) => ({
      ...s,
      migration: final,
      state: outcome.runningOn ? 'Running' : 'Unknown',
      ...(outcome.runningOn ? { host: outcome.runningOn } : {}),
      migrationCount: (s.migrationCount ?? 0) + (outcome.succeeded ? 1 : 0),
    }));
    if (outcome.succeeded) {
      log.info(`migrated ${action.vm} to ${action.to} in ${final.durationSeconds} s`);
      await writer.recordEvent(ref, 'Normal', 'Migrated', `${describe(action)} in ${final.durationSeconds} s (${action.reason})`, 'Migrate').catch(() => {});
    } else {
      log.warn(`migration of ${action.vm} failed: ${final.error}; running on ${outcome.runningOn ?? 'unknown'}`);
      await writer.recordEvent(ref, 'Warning', 'MigrationFailed', `${describe(action)} failed: ${final.error}; VM running on ${outcome.runningOn ?? 'unknown host'}`, 'Migrate').catch(() => {});
    }
    return { id: record.id, action, result: outcome.succeeded ? 'succeeded' : 'failed', detail: final.error ?? `in ${final.durationSeconds} s`, startedAtMs, durationMs: outcome.durationMs };
  }

  private async powerOn(action: PowerOnAction, input: ExecutionInput): Promise<ActionResult> {
    return this.powerAction(action, input, 'PowerOn');
  }

  private async powerOff(action: PowerOffAction, input: ExecutionInput): Promise<ActionResult> {
    const target = input.targets.get(action.host);
    if (!target) return this.skipped(action, `${action.host} is no longer known`);
    // Last line of defence: look again right before switching off.
    const now = await this.deps.hypervisor.observeHost(target);
    const running = now.domains.filter((d) => d.state !== 'shutoff');
    if (!now.reachable) return this.skipped(action, `${action.host} cannot be observed, so it cannot be shown empty`);
    if (running.length > 0) return this.skipped(action, `${action.host} still runs ${running.map((d) => d.name).join(', ')}`);
    return this.powerAction(action, input, 'PowerOff');
  }

  private async powerAction(action: PowerOnAction | PowerOffAction, input: ExecutionInput, type: 'PowerOn' | 'PowerOff'): Promise<ActionResult> {
    const { clock, writer, log, power } = this.deps;
    const target = input.targets.get(action.host);
    if (!target) return this.skipped(action, `${action.host} is no longer known`);
    const ref = { def: PHYSICAL_HOST, name: action.host, uid: input.hosts.get(action.host)?.metadata.uid };
    const startedAtMs = clock.now();
    const record: PowerActionRecord = {
      id: actionId(clock, action.host),
      type,
      phase: 'Running',
      reason: action.reason,
      message: action.message,
      startedAt: new Date(startedAtMs).toISOString(),
    };
    const verb = type === 'PowerOn' ? 'power on' : 'power off';
    await writer.updateStatus<PhysicalHostStatus>(ref, (s) => ({ ...s, powerState: type === 'PowerOn' ? 'PoweringOn' : 'PoweringOff', powerAction: record }));
    await writer.recordEvent(ref, 'Normal', type === 'PowerOn' ? 'PoweringOn' : 'PoweringOff', action.message, type).catch(() => {});
    log.info(`${describe(action)}: started`);
    this.deps.onActionStarted?.(record.id, action, startedAtMs);
    let error: string | undefined;
    try {
      await (type === 'PowerOn' ? power.powerOn(target) : power.powerOff(target));
    } catch (err) {
      error = String((err as Error)?.message ?? err);
    }
    const final: PowerActionRecord = { ...record, phase: error ? 'Failed' : 'Succeeded', completedAt: new Date(clock.now()).toISOString(), ...(error ? { error } : {}) };
    await writer.updateStatus<PhysicalHostStatus>(ref, (s) => ({
      ...s,
      powerAction: final,
      powerState: error ? 'Unknown' : type === 'PowerOn' ? 'On' : 'Off',
    }));
    if (error) {
      log.warn(`${verb} ${action.host} failed: ${error}`);
      await writer.recordEvent(ref, 'Warning', `${type}Failed`, `${verb} ${action.host} failed: ${error}`, type).catch(() => {});
    } else {
      log.info(`${action.host} is ${type === 'PowerOn' ? 'on' : 'off'}`);
      await writer.recordEvent(ref, 'Normal', type === 'PowerOn' ? 'PoweredOn' : 'PoweredOff', `${action.host} ${type === 'PowerOn' ? 'powered on' : 'powered off'} (${action.reason})`, type).catch(() => {});
    }
    return { id: record.id, action, result: error ? 'failed' : 'succeeded', detail: error ?? 'confirmed', startedAtMs, durationMs: clock.now() - startedAtMs };
  }
}

export function describe(action: Action): string {
  switch (action.type) {
    case 'migrate':
      return `migrate ${action.vm} ${action.from}→${action.to}`;
    case 'power-on':
      return `power on ${action.host}`;
    case 'power-off':
      return `power off ${action.host}`;
    case 'alert':
      return `alert${action.host ? ` on ${action.host}` : ''}`;
  }
}
