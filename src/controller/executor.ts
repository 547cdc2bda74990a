/**
 * Carries out a plan through the drivers. The rules it keeps, whatever fails on the way:
 * - an action's intent is written to the API before it starts and its outcome after; an
 *   action whose intent cannot be written does not run;
 * - right before an action, the objects it depends on are read again from the API server
 *   (preflight.ts), and right before each command to a host, the leadership fence is checked;
 * - migrations run in an order in which no host ever holds more than it can (schedule.ts): an
 *   arrival that needs the room of a departure waits for it, and is cancelled if it fails;
 * - a power-off waits for the migrations off its host and runs only if a fresh, complete look at
 *   the host finds no VM;
 * - once this replica stops acting (signal) or the fence refuses, nothing new starts;
 * - execute() never returns while an action it started is still running, and never rejects.
 */
import type { Clock } from '../api/clock.ts';
import { PHYSICAL_HOST, VIRTUAL_MACHINE_PLACEMENT, CONSOLIDATION_POLICY, specWithDefaults } from '../api/crds.ts';
import { isObservable, type HostTarget, type HypervisorDriver, type PowerDriver } from '../api/drivers.ts';
import type { ConsolidationPolicy, MigrationRecord, PhysicalHost, PhysicalHostStatus, PowerActionRecord, VirtualMachinePlacement, VirtualMachinePlacementStatus, WakeAttempt } from '../api/types.ts';
import { scheduleMigrations } from '../planner/schedule.ts';
import type { Action, AlertAction, MigrateAction, Plan, PowerOffAction, PowerOnAction, Snapshot } from '../planner/types.ts';
import { recordEvent, type ClusterWriter, type ObjectRef } from './cluster.ts';
import type { Logger } from './log.ts';
import { refuseMigration, refusePowerOff, refusePowerOn, type FreshObjects } from './preflight.ts';
import { statusAfterWake, WAKE_METHOD_WORDS, wakeMethods } from './wake.ts';

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
  /**
   * Awaited immediately before every command sent to a host (migrate, power on, power off);
   * rejects when this replica may not act any more (it lost the Lease). Omitted: always may.
   */
  fence?: () => Promise<void>;
  /** Told about every action once its intent is written, before it runs (history store). */
  onActionStarted?: (id: string, action: Action, atMs: number) => void;
  /** Told about every action as it ends (metrics, history store). */
  onActionDone?: (result: ActionResult) => void;
  /** Told about each wake attempt (one per power-on method tried) as it ends (metrics). */
  onWakeAttempt?: (host: string, attempt: WakeAttempt) => void;
}

export interface ExecutionInput {
  plan: Plan;
  /** What the plan was made from: the order of migrations is worked out on it. */
  snapshot: Snapshot;
  targets: Map<string, HostTarget>;
  hosts: Map<string, PhysicalHost>;
  placementByDomain: Map<string, VirtualMachinePlacement>;
  policy: ConsolidationPolicy;
  maxConcurrentMigrations: number;
  migrationTimeoutMs: number;
  /** Aborted when this replica stops acting: nothing new starts, running migrations are aborted. */
  signal?: AbortSignal;
  /** Told about each migration once its intent is recorded, before it runs (manual-migrations.ts). */
  onMigrationStarted?: (action: MigrateAction) => void;
}

/** One execution's shared state: its input and why it stopped early, if it did. */
interface Run {
  input: ExecutionInput;
  stopReason?: string;
  done(result: ActionResult): ActionResult;
}

/** Raised inside an action to end it without running it; becomes a 'skipped' result. */
class NotRun extends Error {}

let sequence = 0;
function actionId(clock: Clock, subject: string): string {
  return `${subject}-${clock.now().toString(36)}-${(sequence++).toString(36)}`;
}

function message(err: unknown): string {
  return String((err as Error)?.message ?? err);
}

export class Executor {
  constructor(private readonly deps: ExecutorDeps) {}

  async execute(input: ExecutionInput): Promise<ActionResult[]> {
    const results: ActionResult[] = [];
    const run: Run = {
      input,
      done: (r) => {
        results.push(r);
        this.deps.onActionDone?.(r);
        return r;
      },
    };
    const { plan } = input;
    for (const alert of plan.actions.filter((a): a is AlertAction => a.type === 'alert')) run.done(await this.alert(alert, input));

    const powerOns = new Map<string, Promise<ActionResult>>();
    for (const a of plan.actions.filter((x): x is PowerOnAction => x.type === 'power-on')) {
      powerOns.set(a.host, this.guarded(run, a, () => this.powerAction(run, a, 'PowerOn')).then(run.done));
    }
    const migrations = await this.runMigrations(run, powerOns);
    await Promise.all(powerOns.values());

    for (const off of plan.actions.filter((a): a is PowerOffAction => a.type === 'power-off')) {
      const failedOff = migrations.filter((r) => r.action.type === 'migrate' && r.action.from === off.host && r.result !== 'succeeded');
      if (failedOff.length > 0) {
        run.done(this.skipped(off, `${failedOff.length} migration(s) off ${off.host} did not succeed`));
        continue;
      }
      run.done(await this.guarded(run, off, () => this.powerOff(run, off)));
    }
    return results;
  }

  /**
   * Runs the plan's migrations, at most maxConcurrentMigrations at once, each only once the
   * migrations it waits for (schedule.ts) have succeeded. Resolves when none is running.
   */
  private runMigrations(run: Run, powerOns: Map<string, Promise<ActionResult>>): Promise<ActionResult[]> {
    const { plan, snapshot, maxConcurrentMigrations } = run.input;
    const schedule = scheduleMigrations(snapshot, plan);
    const finished = new Map<number, ActionResult>();
    const pending = new Set<number>();
    plan.actions.forEach((a, index) => {
      if (a.type !== 'migrate') return;
      const why = schedule.unschedulable.get(index);
      if (why) finished.set(index, run.done(this.skipped(a, why)));
      else pending.add(index);
    });
    let running = 0;
    const limit = Math.max(1, maxConcurrentMigrations);
    return new Promise((resolve) => {
      const pump = () => {
        // Cancel the arrivals whose room can no longer appear, until nothing more changes.
        for (let changed = true; changed; ) {
          changed = false;
          for (const index of pending) {
            const failed = schedule.waitsFor.get(index)!.find((d) => finished.has(d) && finished.get(d)!.result !== 'succeeded');
            if (failed === undefined) continue;
            const move = plan.actions[index] as MigrateAction;
            pending.delete(index);
            finished.set(index, run.done(this.skipped(move, `room on ${move.to} did not appear: ${describe(plan.actions[failed]!)} ${finished.get(failed)!.result}`)));
            changed = true;
          }
        }
        for (const index of pending) {
          if (running >= limit) break;
          if (!schedule.waitsFor.get(index)!.every((d) => finished.get(d)?.result === 'succeeded')) continue;
          pending.delete(index);
          running++;
          const move = plan.actions[index] as MigrateAction;
          void this.guarded(run, move, () => this.migrateAfterBoot(run, move, powerOns)).then((r) => {
            finished.set(index, run.done(r));
            running--;
            pump();
          });
        }
        if (pending.size === 0 && running === 0) resolve([...finished.values()]);
      };
      pump();
    });
  }

  /** A migration onto a host being powered on waits for it, and is skipped if it never comes up. */
  private async migrateAfterBoot(run: Run, move: MigrateAction, powerOns: Map<string, Promise<ActionResult>>): Promise<ActionResult> {
    const boot = powerOns.get(move.to);
    if (boot && (await boot).result !== 'succeeded') throw new NotRun(`${move.to} did not power on`);
    return this.migrate(run, move);
  }

  /**
   * Runs one action so that nothing escapes: a failure anywhere becomes a 'failed' result, an
   * action refused before it ran a 'skipped' one, and nothing starts once the run has stopped.
   */
  private async guarded(run: Run, action: Action, body: () => Promise<ActionResult>): Promise<ActionResult> {
    const startedAtMs = this.deps.clock.now();
    try {
      this.checkStillActing(run);
      return await body();
    } catch (err) {
      if (err instanceof NotRun) return this.skipped(action, err.message);
      this.deps.log.error(`${describe(action)} failed: ${message(err)}`);
      return { id: actionId(this.deps.clock, 'error'), action, result: 'failed', detail: message(err), startedAtMs, durationMs: this.deps.clock.now() - startedAtMs };
    }
  }

  private checkStillActing(run: Run): void {
    if (!run.stopReason && run.input.signal?.aborted) run.stopReason = 'this replica stopped acting';
    if (run.stopReason) throw new NotRun(run.stopReason);
  }

  /** Right before a command goes to a host: still acting, and still the leader? */
  private async fence(run: Run): Promise<void> {
    this.checkStillActing(run);
    if (!this.deps.fence) return;
    try {
      await this.deps.fence();
    } catch (err) {
      run.stopReason = `not the leader any more: ${message(err)}`;
      throw new NotRun(run.stopReason);
    }
  }

  private async fresh(input: ExecutionInput): Promise<FreshObjects> {
    const policy = await this.deps.writer.read<ConsolidationPolicy>({ def: CONSOLIDATION_POLICY, name: input.policy.metadata.name });
    return { policy, planPolicyUid: input.policy.metadata.uid };
  }

  private skipped(action: Action, detail: string): ActionResult {
    this.deps.log.warn(`skip ${describe(action)}: ${detail}`);
    return { id: actionId(this.deps.clock, 'skip'), action, result: 'skipped', detail, startedAtMs: this.deps.clock.now(), durationMs: 0 };
  }

  private async alert(action: AlertAction, input: ExecutionInput): Promise<ActionResult> {
    const { writer, log, clock } = this.deps;
    log.warn(`alert: ${action.message}`, { reason: action.reason });
    const ref = action.host ? { def: PHYSICAL_HOST, name: action.host } : { def: CONSOLIDATION_POLICY, name: input.policy.metadata.name };
    await recordEvent(writer, log, ref, 'Warning', action.reason, action.message, 'Alert');
    return { id: actionId(clock, 'alert'), action, result: 'succeeded', detail: action.message, startedAtMs: clock.now(), durationMs: 0 };
  }

  private async migrate(run: Run, action: MigrateAction): Promise<ActionResult> {
    const { clock, writer, log, hypervisor } = this.deps;
    const { input } = run;
    const placement = input.placementByDomain.get(action.vm);
    const from = input.targets.get(action.from);
    const to = input.targets.get(action.to);
    if (!placement || !from || !to) throw new NotRun(`${action.vm}, ${action.from} or ${action.to} is no longer known`);
    const ref = { def: VIRTUAL_MACHINE_PLACEMENT, name: placement.metadata.name, namespace: placement.metadata.namespace, uid: placement.metadata.uid };
    const refusal = refuseMigration(action, {
      ...(await this.fresh(input)),
      placement: await writer.read<VirtualMachinePlacement>(ref),
      target: await writer.read<PhysicalHost>({ def: PHYSICAL_HOST, name: action.to }),
    });
    if (refusal) throw new NotRun(refusal);
    const startedAtMs = clock.now();
    const record: MigrationRecord = {
      id: actionId(clock, action.vm),
      phase: 'Running',
      from: action.from,
      to: action.to,
      reason: action.reason,
      message: action.message,
      startedAt: new Date(startedAtMs).toISOString(),
      ...(action.requestUid ? { requestedBy: action.requestUid } : {}),
    };
    // The intent goes to the API first: if we die from here on, the next start finds it.
    try {
      await writer.updateStatus<VirtualMachinePlacementStatus>(ref, (s) => ({ ...s, state: 'Migrating', migration: record }));
    } catch (err) {
      throw new NotRun(`its intent could not be recorded (${message(err)}), so it was not started`);
    }
    try {
      await this.fence(run);
    } catch (err) {
      await writer.updateStatus<VirtualMachinePlacementStatus>(ref, (s) => ({ ...s, state: 'Running', migration: { ...record, phase: 'Failed', completedAt: new Date(clock.now()).toISOString(), error: `not started: ${message(err)}` } }));
      throw err;
    }
    await recordEvent(writer, log, ref, 'Normal', 'Migrating', action.message, 'Migrate');
    log.info(`${describe(action)}: started`);
    this.deps.onActionStarted?.(record.id, action, startedAtMs);
    input.onMigrationStarted?.(action);

    let lastProgress = -1;
    const outcome = await hypervisor
      .migrate({
        domain: action.vm,
        from,
        to,
        timeoutMs: input.migrationTimeoutMs,
        ...(input.signal ? { signal: input.signal } : {}),
        onProgress: (p) => {
          if (p - lastProgress >= 25) log.debug(`migrate ${action.vm}: ${Math.round(p)} %`), (lastProgress = p);
        },
      })
      .catch((err: unknown) => ({ domain: action.vm, runningOn: null, succeeded: false, durationMs: clock.now() - startedAtMs, error: message(err) }));

    const final: MigrationRecord = {
      ...record,
      phase: outcome.succeeded ? 'Succeeded' : 'Failed',
      completedAt: new Date(clock.now()).toISOString(),
      durationSeconds: Math.round(outcome.durationMs / 100) / 10,
      ...(outcome.succeeded ? { progressPercent: 100 } : { error: outcome.error ?? 'migration failed' }),
    };
    // The migration happened (or not) whatever becomes of this write: a placement deleted
    // meanwhile (404) or an API error is logged, and the outcome still decides what follows.
    await writer
      .updateStatus<VirtualMachinePlacementStatus>(ref, (s) => ({
        ...s,
        migration: final,
        state: outcome.runningOn ? 'Running' : 'Unknown',
        ...(outcome.runningOn ? { host: outcome.runningOn } : {}),
        migrationCount: (s.migrationCount ?? 0) + (outcome.succeeded ? 1 : 0),
      }))
      .catch((err) => log.warn(`outcome of migrating ${action.vm} not recorded in its status: ${message(err)}`));
    if (outcome.succeeded) {
      log.info(`migrated ${action.vm} to ${action.to} in ${final.durationSeconds} s`);
      await recordEvent(writer, log, ref, 'Normal', 'Migrated', `${describe(action)} in ${final.durationSeconds} s (${action.reason})`, 'Migrate');
    } else {
      log.warn(`migration of ${action.vm} failed: ${final.error}; running on ${outcome.runningOn ?? 'unknown'}`);
      await recordEvent(writer, log, ref, 'Warning', 'MigrationFailed', `${describe(action)} failed: ${final.error}; VM running on ${outcome.runningOn ?? 'unknown host'}`, 'Migrate');
    }
    return { id: record.id, action, result: outcome.succeeded ? 'succeeded' : 'failed', detail: final.error ?? `in ${final.durationSeconds} s`, startedAtMs, durationMs: outcome.durationMs };
  }

  private async powerOff(run: Run, action: PowerOffAction): Promise<ActionResult> {
    const target = run.input.targets.get(action.host);
    if (!target) throw new NotRun(`${action.host} is no longer known`);
    // Last line of defence: look again right before switching off. Only a complete observation
    // can show the host empty; one that failed in any way says nothing about its VMs.
    const now = await this.deps.hypervisor.observeHost(target);
    if (!isObservable(now)) throw new NotRun(`${action.host} cannot be observed (${now.error ?? 'unreachable'}), so it cannot be shown empty`);
    const running = now.domains.filter((d) => d.state !== 'shutoff');
    if (running.length > 0) throw new NotRun(`${action.host} still runs ${running.map((d) => d.name).join(', ')}`);
    return this.powerAction(run, action, 'PowerOff');
  }

  /**
   * Wakes a host by each of its power-on methods in turn (wake.ts) until one brings it up: a
   * method whose wake is not observed within the boot timeout falls back to the next. Never
   * rejects: every attempt, and why the wake failed, come back to be recorded.
   */
  private async wake(run: Run, target: HostTarget, ref: ObjectRef): Promise<{ attempts: WakeAttempt[]; error?: string }> {
    const { clock, power, writer, log } = this.deps;
    const methods = wakeMethods(target.spec as unknown as PhysicalHost['spec']);
    if (methods.length === 0) return { attempts: [], error: `${target.name} has no power-on method` }; // refusePowerOn already said so
    const attempts: WakeAttempt[] = [];
    const errors: string[] = [];
    for (const [i, method] of methods.entries()) {
      if (i > 0) {
        try {
          await this.fence(run);
        } catch (err) {
          errors.push(`${WAKE_METHOD_WORDS[method]} not sent: ${message(err)}`);
          break;
        }
        const next = `${WAKE_METHOD_WORDS[methods[i - 1]!]} did not bring ${target.name} up (${errors.at(-1)}); falling back to ${WAKE_METHOD_WORDS[method]}`;
        log.warn(next);
        await recordEvent(writer, log, ref, 'Warning', 'WakeFallback', next, 'PowerOn');
      }
      const startedAtMs = clock.now();
      let failure: string | undefined;
      try {
        await power.powerOn(target, run.input.signal, method);
      } catch (err) {
        failure = message(err);
      }
      const attempt: WakeAttempt = {
        method,
        startedAt: new Date(startedAtMs).toISOString(),
        latencySeconds: Math.round((clock.now() - startedAtMs) / 100) / 10,
        outcome: failure === undefined ? 'Succeeded' : 'Failed',
        message: failure ?? `${WAKE_METHOD_WORDS[method]} brought ${target.name} up`,
      };
      attempts.push(attempt);
      this.deps.onWakeAttempt?.(target.name, attempt);
      if (failure === undefined) return { attempts };
      errors.push(failure);
      if (run.input.signal?.aborted) break;
    }
    return { attempts, error: errors.join('; then ') };
  }

  private async powerAction(run: Run, action: PowerOnAction | PowerOffAction, type: 'PowerOn' | 'PowerOff'): Promise<ActionResult> {
    const { clock, writer, log, power } = this.deps;
    const { input } = run;
    const cached = input.targets.get(action.host);
    if (!cached) throw new NotRun(`${action.host} is no longer known`);
    const host = await writer.read<PhysicalHost>({ def: PHYSICAL_HOST, name: action.host });
    const fresh = { ...(await this.fresh(input)), ...(host ? { host } : {}) };
    const refusal = type === 'PowerOn' ? refusePowerOn(action as PowerOnAction, fresh) : refusePowerOff(action as PowerOffAction, fresh, clock.now());
    if (refusal) throw new NotRun(refusal);
    // The command goes where the spec says now, not where it said when the round began.
    const target: HostTarget = { ...cached, spec: specWithDefaults(PHYSICAL_HOST, host!.spec) };
    const ref = { def: PHYSICAL_HOST, name: action.host, uid: host!.metadata.uid };
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
    try {
      await writer.updateStatus<PhysicalHostStatus>(ref, (s) => ({ ...s, powerState: type === 'PowerOn' ? 'PoweringOn' : 'PoweringOff', powerAction: record }));
    } catch (err) {
      throw new NotRun(`its intent could not be recorded (${message(err)}), so nothing was sent`);
    }
    let error: string | undefined;
    let attempts: WakeAttempt[] = [];
    try {
      await this.fence(run);
    } catch (err) {
      await writer.updateStatus<PhysicalHostStatus>(ref, (s) => ({ ...s, powerAction: { ...record, phase: 'Failed', completedAt: new Date(clock.now()).toISOString(), error: `not sent: ${message(err)}` } }));
      throw err;
    }
    await recordEvent(writer, log, ref, 'Normal', type === 'PowerOn' ? 'PoweringOn' : 'PoweringOff', action.message, type);
    log.info(`${describe(action)}: started`);
    this.deps.onActionStarted?.(record.id, action, startedAtMs);
    if (type === 'PowerOn') {
      ({ attempts, error } = await this.wake(run, target, ref));
    } else {
      try {
        await power.powerOff(target, input.signal);
      } catch (err) {
        error = message(err);
      }
    }
    const final: PowerActionRecord = { ...record, phase: error ? 'Failed' : 'Succeeded', completedAt: new Date(clock.now()).toISOString(), ...(error ? { error } : {}) };
    let wake: ReturnType<typeof statusAfterWake> | undefined;
    await writer
      .updateStatus<PhysicalHostStatus>(ref, (s) => {
        const next: PhysicalHostStatus = { ...s, powerAction: final, powerState: error ? 'Unknown' : type === 'PowerOn' ? 'On' : 'Off' };
        if (attempts.length === 0) return next;
        wake = statusAfterWake(next, attempts, final.completedAt!, host!.metadata.generation);
        return wake.status;
      })
      .catch((err) => log.warn(`outcome of ${verb} ${action.host} not recorded in its status: ${message(err)}`));
    if (wake?.changed) {
      const failing = wake.condition.status === 'True';
      if (failing) log.warn(`${action.host}: ${wake.condition.message}`);
      await recordEvent(writer, log, ref, failing ? 'Warning' : 'Normal', failing ? 'WakeFailing' : 'WakeRecovered', `${action.host}: ${wake.condition.message}`, type);
    }
    if (error) {
      log.warn(`${verb} ${action.host} failed: ${error}`);
      await recordEvent(writer, log, ref, 'Warning', `${type}Failed`, `${verb} ${action.host} failed: ${error}`, type);
    } else {
      log.info(`${action.host} is ${type === 'PowerOn' ? 'on' : 'off'}`);
      await recordEvent(writer, log, ref, 'Normal', type === 'PowerOn' ? 'PoweredOn' : 'PoweredOff', `${action.host} ${type === 'PowerOn' ? 'powered on' : 'powered off'} (${action.reason})`, type);
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
