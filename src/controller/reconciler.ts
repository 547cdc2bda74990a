/**
 * One reconcile round: observe → snapshot → plan → execute → record. Level-triggered: each
 * round reads the resources and the hosts as they are now, settles any action record left
 * unfinished, and moves the fleet one step toward the policy. Crash anywhere, run again.
 */
import type { Clock } from '../api/clock.ts';
import { CONSOLIDATION_POLICY, PHYSICAL_HOST, VIRTUAL_MACHINE_PLACEMENT } from '../api/crds.ts';
import { isObservable, type HostTarget, type HypervisorDriver, type ObservedHost, type PowerDriver } from '../api/drivers.ts';
import { parseDuration } from '../api/schema-helpers.ts';
import type { ConsolidationPolicy, ConsolidationPolicyStatus, PhysicalHost, PhysicalHostStatus, VirtualMachineMigration, VirtualMachinePlacement, VirtualMachinePlacementStatus } from '../api/types.ts';
import type { Action, Plan, PlannerPolicy, Snapshot } from '../planner/types.ts';
import { recordEvent, type ClusterWriter, type ObjectRef } from './cluster.ts';
import { resolveClaims, withClaimConditions } from './claims.ts';
import { setCondition } from './conditions.ts';
import { DEFAULT_TIDE_NAMESPACE, SECRET_OUTSIDE_NAMESPACE, secretsToRead } from './credentials.ts';
import { Executor, type ActionResult } from './executor.ts';
import { isFinished, ManualMigrations } from './manual-migrations.ts';
import type { FinalizerWriter } from './finalizers.ts';
import { HostLifecycle } from './host-lifecycle.ts';
import { isUnfinished, settleMigration, settlePowerAction } from './intents.ts';
import type { Logger } from './log.ts';
import { plannerPolicy } from './policy.ts';
import { buildSnapshot } from './snapshot.ts';
import { beingRemoved } from './removal.ts';
import { hostStatus, placementStatus, statusChanged } from './status.ts';
import { EnergyTally } from '../report/energy.ts';
import type { HostObservation } from '../metrics/tide-metrics.ts';
import { hostObservations } from './observers.ts';

export interface ResourceCache {
  listHosts(): PhysicalHost[];
  listPlacements(): VirtualMachinePlacement[];
  listPolicies(): ConsolidationPolicy[];
  /** VirtualMachineMigrations (manual-migrations.ts); a cache without them has none. */
  listMigrations?(): VirtualMachineMigration[];
  /**
   * A Secret's data as cached by a namespaced informer (undefined: not in the cache). A cache
   * without it makes the reconciler GET each Secret it needs, every observation.
   */
  getSecret?(namespace: string, name: string): Record<string, string> | undefined;
}

/** What the reconciler reports to metrics and the history store. */
export interface RoundObserver {
  onObserved?(hosts: PhysicalHost[], observed: Map<string, ObservedHost>, nowMs: number): void;
  onPlanned?(plan: Plan, snapshot: Snapshot, policy: PlannerPolicy, dryRun: boolean, nowMs: number): void;
  onActionStarted?(id: string, action: Action, atMs: number): void;
  onActionDone?(result: ActionResult): void;
  onRoundStarted?(kind: 'observe' | 'plan'): void;
  onRoundDone?(kind: 'observe' | 'plan', durationMs: number, error?: unknown): void;
}

export interface ReconcilerDeps {
  clock: Clock;
  cache: ResourceCache;
  writer: ClusterWriter;
  hypervisor: HypervisorDriver;
  power: PowerDriver;
  planner: (snapshot: Snapshot, policy: PlannerPolicy) => Plan;
  log: Logger;
  observer?: RoundObserver;
  /** Observations of several hosts run in parallel, this many at once. */
  observeConcurrency?: number;
  /** The leadership fence, awaited right before every command to a host (see Executor). */
  fence?: () => Promise<void>;
  /** Tide's own namespace, the only one it reads Secrets from (credentials.ts); default tide-system. */
  namespace?: string;
  /** Writes hosts' finalizers; without it Tide neither protects hosts nor holds their deletion (removal.ts). */
  finalizers?: FinalizerWriter;
}

/** The default policy when none exists: the paper's thresholds, dry run (never act unasked). */
const NO_POLICY_THRESHOLD = 80;

export class Reconciler {
  private readonly executor: Executor;
  private readonly lifecycle?: HostLifecycle;
  private readonly manual: ManualMigrations;
  /**
   * Records this process already settled. The informer cache may still show them unfinished
   * for a moment; this keeps them from being settled (and announced) twice.
   */
  private readonly settledIds = new Set<string>();
  /** For the policy status: energy saved since this process started (src/report/energy.ts). */
  private readonly energy = new EnergyTally();

  constructor(private readonly deps: ReconcilerDeps) {
    this.executor = new Executor({
      clock: deps.clock,
      hypervisor: deps.hypervisor,
      power: deps.power,
      writer: deps.writer,
      log: deps.log,
      ...(deps.fence ? { fence: deps.fence } : {}),
      onActionStarted: (id, action, atMs) => deps.observer?.onActionStarted?.(id, action, atMs),
      onActionDone: (r) => deps.observer?.onActionDone?.(r),
    });
    this.manual = new ManualMigrations({ clock: deps.clock, writer: deps.writer, log: deps.log, executor: this.executor });
    if (deps.finalizers) this.lifecycle = new HostLifecycle({ clock: deps.clock, writer: deps.writer, finalizers: deps.finalizers, log: deps.log });
  }

  /** The policy in force: the oldest ConsolidationPolicy (others are reported as superseded). */
  activePolicy(): ConsolidationPolicy | undefined {
    return [...this.deps.cache.listPolicies()]
      .filter((p) => !p.metadata.deletionTimestamp)
      .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name))[0];
  }

  /** The placements Tide heeds: one per libvirt domain, the oldest claim (claims.ts). */
  private managedPlacements(): VirtualMachinePlacement[] {
    return resolveClaims(this.deps.cache.listPlacements()).managed;
  }

  private governedHosts(policy: ConsolidationPolicy | undefined): PhysicalHost[] {
    const labels = policy?.spec.hostSelector?.matchLabels ?? {};
    return this.deps.cache
      .listHosts()
      // A host being deleted under Tide's finalizer is still observed: it is being evacuated.
      .filter((h) => !h.metadata.deletionTimestamp || beingRemoved(h))
      .filter((h) => Object.entries(labels).every(([k, v]) => h.metadata.labels?.[k] === v));
  }

  /** How to reach a host, with its credentials; or why Tide refuses to (credentials.ts). */
  private async targetOf(host: PhysicalHost): Promise<{ target: HostTarget; refused?: string }> {
    const secrets: Record<string, string> = {};
    const wanted = secretsToRead(host.spec, this.deps.namespace ?? DEFAULT_TIDE_NAMESPACE);
    if ('refused' in wanted) return { target: { name: host.metadata.name, spec: host.spec, secrets }, refused: wanted.refused };
    const { cache } = this.deps;
    for (const ref of wanted.secrets) {
      try {
        if (!cache.getSecret) Object.assign(secrets, await this.deps.writer.readSecret(ref.namespace, ref.name));
        else Object.assign(secrets, cache.getSecret(ref.namespace, ref.name) ?? notCached());
      } catch (err) {
        this.deps.log.warn(`cannot read Secret ${ref.namespace}/${ref.name} for ${host.metadata.name}: ${(err as Error).message}`);
      }
    }
    return { target: { name: host.metadata.name, spec: host.spec, secrets } };
  }

  private async observeAll(hosts: PhysicalHost[]): Promise<{ targets: Map<string, HostTarget>; observed: Map<string, ObservedHost> }> {
    const targets = new Map<string, HostTarget>();
    const observed = new Map<string, ObservedHost>();
    const limit = this.deps.observeConcurrency ?? 16;
    for (let i = 0; i < hosts.length; i += limit) {
      await Promise.all(
        hosts.slice(i, i + limit).map(async (host) => {
          const { target, refused } = await this.targetOf(host);
          targets.set(host.metadata.name, target);
          if (refused) {
            // Not contacted at all: its state is unknown, so it is left out of planning.
            observed.set(host.metadata.name, {
              name: host.metadata.name, reachable: false, powerState: 'unknown', domains: [],
              error: refused, errorReason: SECRET_OUTSIDE_NAMESPACE, observedAtMs: this.deps.clock.now(),
            });
            return;
          }
          try {
            observed.set(host.metadata.name, await this.deps.hypervisor.observeHost(target));
          } catch (err) {
            observed.set(host.metadata.name, {
              name: host.metadata.name, reachable: false, powerState: 'unknown', domains: [],
              error: String((err as Error)?.message ?? err), errorReason: 'ObserveFailed', observedAtMs: this.deps.clock.now(),
            });
          }
        }),
      );
    }
    return { targets, observed };
  }

  /** Observes every host and writes what it saw into the resources' status. Returns the overloaded hosts. */
  async observe(): Promise<{ observed: Map<string, ObservedHost>; targets: Map<string, HostTarget>; overloaded: string[] }> {
    const policy = this.activePolicy();
    const hosts = this.governedHosts(policy);
    const { targets, observed } = await this.observeAll(hosts);
    const nowMs = this.deps.clock.now();
    const nowIso = new Date(nowMs).toISOString();
    const threshold = policy?.spec.overloadThresholdPercent ?? NO_POLICY_THRESHOLD;
    await this.writeStatuses(hosts, observed, threshold, nowIso);
    if (this.lifecycle) {
      await this.lifecycle.protect(hosts);
      await this.removals(observed, policy); // lets go of hosts that may go; reports wait only in plan rounds
    }
    this.deps.observer?.onObserved?.(hosts, observed, nowMs);
    if (policy) await this.writePolicyEnergy(policy, hostObservations(hosts, observed), nowMs);
    const overloaded = hosts
      .map((h) => observed.get(h.metadata.name))
      .filter((o): o is ObservedHost => isObservable(o) && (o!.cpuLoadPercent ?? 0) > threshold)
      .map((o) => o.name);
    return { observed, targets, overloaded };
  }

  private async writeStatuses(hosts: PhysicalHost[], observed: Map<string, ObservedHost>, threshold: number, nowIso: string): Promise<void> {
    const { writer, log } = this.deps;
    const writes: Promise<void>[] = [];
    for (const host of hosts) {
      const next = hostStatus(host, observed.get(host.metadata.name), threshold, nowIso);
      if (!statusChanged(host.status, next)) continue;
      writes.push(
        writer
          .updateStatus<PhysicalHostStatus>({ def: PHYSICAL_HOST, name: host.metadata.name, cached: host }, (current, obj) =>
            // Recompute on the fresh object so fields others own (watts, MeterFresh) are kept.
            hostStatus({ ...(obj as PhysicalHost), status: current }, observed.get(host.metadata.name), threshold, nowIso),
          )
          .catch((err) => log.warn(`status of ${host.metadata.name} not written: ${(err as Error).message}`)),
      );
    }
    const claims = resolveClaims(this.deps.cache.listPlacements());
    const claimed = [...claims.managed.map((placement) => ({ placement, winner: undefined })), ...claims.conflicts];
    for (const { placement, winner } of claimed) {
      const statusOf = (p: VirtualMachinePlacement) => withClaimConditions(placementStatus(p, observed, nowIso), p, winner, nowIso);
      const next = statusOf(placement);
      if (!statusChanged(placement.status, next)) continue;
      const ref = { def: VIRTUAL_MACHINE_PLACEMENT, name: placement.metadata.name, namespace: placement.metadata.namespace, cached: placement };
      writes.push(
        writer
          .updateStatus<VirtualMachinePlacementStatus>(ref, (current, obj) => statusOf({ ...(obj as VirtualMachinePlacement), status: current }))
          .catch((err) => log.warn(`status of ${placement.metadata.namespace}/${placement.metadata.name} not written: ${(err as Error).message}`)),
      );
    }
    await Promise.all(writes);
  }

  /**
   * Settles migration and power records that nobody in this process is carrying out. A record
   * counts as settled only once its write went through (a failed write leaves it for the next
   * round, and its VM or host stays busy meanwhile: the safe side), and the write changes the
   * record only if it is still the same one (another replica may have started a new action).
   */
  async settleUnfinished(observed: Map<string, ObservedHost>, policy: ConsolidationPolicy | undefined): Promise<number> {
    const { clock, writer, log } = this.deps;
    const nowMs = clock.now();
    const nowIso = new Date(nowMs).toISOString();
    const migrationTimeoutMs = parseDuration(policy?.spec.migrationTimeout ?? '10m');
    let settled = 0;
    const write = async <S extends { migration?: { id: string } } | { powerAction?: { id: string } }>(
      ref: ObjectRef & { uid?: string },
      id: string,
      mutate: (s: S) => S,
      what: string,
    ): Promise<boolean> => {
      try {
        await writer.updateStatus<S>(ref, (s) => (currentRecordId(s) === id ? mutate(s) : s));
        this.settledIds.add(id);
        settled++;
        return true;
      } catch (err) {
        log.warn(`${what} not settled this round: ${(err as Error)?.message ?? err}`);
        return false;
      }
    };
    for (const placement of this.managedPlacements()) {
      const record = placement.status?.migration;
      if (!record || !isUnfinished(record) || this.settledIds.has(record.id)) continue;
      const verdict = settleMigration(placement.spec.domain, record, observed, nowMs, migrationTimeoutMs);
      if (!verdict.settle) {
        log.info(`migration ${record.id} of ${placement.spec.domain} left open: ${verdict.why}`);
        continue;
      }
      const ref = { def: VIRTUAL_MACHINE_PLACEMENT, name: placement.metadata.name, namespace: placement.metadata.namespace, uid: placement.metadata.uid };
      const ok = await write<VirtualMachinePlacementStatus>(ref, record.id, (s) => ({
        ...s,
        ...(verdict.runningOn ? { host: verdict.runningOn, state: 'Running' as const } : {}),
        migration: { ...record, phase: verdict.phase, completedAt: nowIso, ...(verdict.phase === 'Failed' ? { error: verdict.why } : {}) },
      }), `migration ${record.id} of ${placement.spec.domain}`);
      if (!ok) continue;
      const type = verdict.phase === 'Succeeded' ? 'Normal' : 'Warning';
      await recordEvent(writer, log, ref, type, verdict.phase === 'Succeeded' ? 'MigrationRecovered' : 'MigrationInterrupted', `${record.from}→${record.to}: ${verdict.why}`, 'Migrate');
      log.warn(`settled interrupted migration of ${placement.spec.domain}: ${verdict.phase}, ${verdict.why}`);
    }
    for (const host of this.deps.cache.listHosts()) {
      const record = host.status?.powerAction;
      if (!record || !isUnfinished(record) || this.settledIds.has(record.id)) continue;
      const timeoutMs = 1000 * (record.type === 'PowerOn' ? host.spec.power?.bootTimeoutSeconds ?? 600 : host.spec.power?.shutdownTimeoutSeconds ?? 300);
      const verdict = settlePowerAction(record, observed.get(host.metadata.name), nowMs, timeoutMs);
      if (!verdict.settle) continue;
      const ref = { def: PHYSICAL_HOST, name: host.metadata.name, uid: host.metadata.uid };
      const ok = await write<PhysicalHostStatus>(ref, record.id, (s) => ({
        ...s,
        powerAction: { ...record, phase: verdict.phase, completedAt: nowIso, ...(verdict.phase === 'Failed' ? { error: verdict.why } : {}) },
      }), `${record.type} ${record.id} of ${host.metadata.name}`);
      if (!ok) continue;
      await recordEvent(writer, log, ref, verdict.phase === 'Succeeded' ? 'Normal' : 'Warning', `${record.type}${verdict.phase === 'Succeeded' ? 'Recovered' : 'Interrupted'}`, verdict.why, record.type);
      log.warn(`settled interrupted ${record.type} of ${host.metadata.name}: ${verdict.phase}, ${verdict.why}`);
    }
    return settled;
  }

  /** A full decision round. Returns the plan (undefined when there is no policy) and what became of its actions. */
  async planRound(signal?: AbortSignal): Promise<{ plan?: Plan; results: ActionResult[] }> {
    const { clock, log, writer } = this.deps;
    const policy = this.activePolicy();
    const { observed, targets } = await this.observe();
    // Settled records may still look unfinished in the cache this round; the snapshot then treats
    // their VMs and hosts as busy, which is the safe side.
    await this.settleUnfinished(observed, policy);
    // VirtualMachineMigrations first. A round that ran some leaves planning to the next one,
    // made on observations that show where those VMs went.
    const manual = await this.manualMigrations(policy, observed, targets, signal);
    if (manual.length > 0) {
      const after = await this.observe();
      await this.removals(after.observed, policy);
      return { results: manual };
    }
    if (!policy) {
      log.info('no ConsolidationPolicy: observing only (kubectl apply one to let Tide act)');
      await this.removals(observed, undefined, []);
      return { results: [] };
    }
    await this.lifecycle?.reportSatisfiability(policy, this.deps.cache.listHosts());
    const nowMs = clock.now();
    const hosts = this.governedHosts(policy);
    const { snapshot, placementByDomain, excluded } = buildSnapshot({ nowMs, hosts, placements: this.managedPlacements(), observed });
    for (const e of excluded) log.warn(`${e.host} left out of planning: ${e.why}`);
    const plannerPolicyNow = plannerPolicy(policy.spec, nowMs);
    const plan = this.deps.planner(snapshot, plannerPolicyNow);
    this.deps.observer?.onPlanned?.(plan, snapshot, plannerPolicyNow, policy.spec.dryRun, nowMs);
    const lines = plan.actions.map((a) => a.message);
    log.info(`plan (${policy.spec.strategy}${policy.spec.dryRun ? ', dry run' : ''}): ${plan.actions.length} action(s); ${plan.summary}`);
    for (const line of lines) log.info(`  ${line}`);
    await this.recordPlan(policy, plan, snapshot, nowMs, lines);
    if (policy.spec.dryRun || plan.actions.length === 0) {
      if (policy.spec.dryRun && plan.actions.length > 0) {
        await recordEvent(writer, log, { def: CONSOLIDATION_POLICY, name: policy.metadata.name, uid: policy.metadata.uid }, 'Normal', 'DryRun', `would do: ${lines.join('; ')}`.slice(0, 1000));
      }
      await this.removals(observed, policy, plan.evacuations ?? []);
      return { plan, results: [] };
    }
    const results = await this.executor.execute({
        plan,
        snapshot,
        ...(signal ? { signal } : {}),
        targets,
        hosts: new Map(hosts.map((h) => [h.metadata.name, h])),
        placementByDomain,
        policy,
        maxConcurrentMigrations: policy.spec.maxConcurrentMigrations,
        migrationTimeoutMs: parseDuration(policy.spec.migrationTimeout),
      });
    // Show the result in status right away, and let go of hosts now evacuated.
    const after = await this.observe();
    await this.removals(after.observed, policy, plan.evacuations ?? []);
    return { plan, results };
  }

  /** Brings the open VirtualMachineMigrations up to date and runs those that may run (manual-migrations.ts). */
  private async manualMigrations(policy: ConsolidationPolicy | undefined, observed: Map<string, ObservedHost>, targets: Map<string, HostTarget>, signal?: AbortSignal): Promise<ActionResult[]> {
    const migrations = this.deps.cache.listMigrations?.() ?? [];
    if (migrations.every(isFinished)) return [];
    const nowMs = this.deps.clock.now();
    const { snapshot, placementByDomain } = buildSnapshot({ nowMs, hosts: this.governedHosts(policy), placements: this.managedPlacements(), observed });
    return this.manual.round({
      migrations,
      placements: this.deps.cache.listPlacements(),
      hosts: this.deps.cache.listHosts(),
      policy,
      targets,
      placementByDomain,
      ...(policy ? { snapshot, plannerPolicy: plannerPolicy(policy.spec, nowMs) } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  /** Hosts being deleted: let go or report (removal.ts). `evacuations` is given in plan rounds only. */
  private async removals(observed: Map<string, ObservedHost>, policy: ConsolidationPolicy | undefined, evacuations?: Plan['evacuations']): Promise<void> {
    await this.lifecycle?.reconcileRemovals({
      hosts: this.deps.cache.listHosts(),
      observed,
      placements: this.managedPlacements(),
      policy,
      ...(evacuations ? { evacuations } : {}),
    });
  }

  /**
   * The policy's Watts column and energy saved, kept current every observation (a decision
   * round may be far off): written when they changed, one request at most per round.
   */
  private async writePolicyEnergy(policy: ConsolidationPolicy, readings: HostObservation[], nowMs: number): Promise<void> {
    this.energy.observe(nowMs, readings);
    const clusterWatts = Math.round(readings.reduce((sum, h) => sum + (h.watts ?? 0), 0) * 10) / 10;
    const energySavedWh = Math.round(this.energy.savedWh * 10) / 10;
    if (policy.status?.clusterWatts === clusterWatts && policy.status?.energySavedWh === energySavedWh) return;
    await this.deps.writer
      .updateStatus<ConsolidationPolicyStatus>({ def: CONSOLIDATION_POLICY, name: policy.metadata.name }, (s) => ({ ...s, clusterWatts, energySavedWh }))
      .catch((err) => this.deps.log.warn(`policy status not written: ${(err as Error).message}`));
  }

  private async recordPlan(policy: ConsolidationPolicy, plan: Plan, snapshot: Snapshot, nowMs: number, lines: string[]): Promise<void> {
    const on = snapshot.hosts.filter((h) => h.powerState === 'on');
    const avg = on.length ? on.reduce((s, h) => s + (h.cpuLoadPercent ?? 0), 0) / on.length : 0;
    const nowIso = new Date(nowMs).toISOString();
    const next = new Date(nowMs + parseDuration(policy.spec.evaluationInterval)).toISOString();
    await this.deps.writer
      .updateStatus<ConsolidationPolicyStatus>({ def: CONSOLIDATION_POLICY, name: policy.metadata.name }, (s) => ({
        ...s,
        observedGeneration: policy.metadata.generation,
        activeHosts: on.length,
        standbyHosts: snapshot.hosts.filter((h) => h.powerState === 'off').length,
        averageLoadPercent: Math.round(avg * 10) / 10,
        lastEvaluationTime: nowIso,
        nextEvaluationTime: next,
        lastPlan: { strategy: plan.strategy, summary: plan.summary, actions: lines.slice(0, 100) },
        conditions: setCondition(
          s.conditions,
          {
            type: 'Ready',
            status: 'True',
            reason: policy.spec.dryRun ? 'DryRun' : 'Active',
            message: policy.spec.dryRun ? 'planning only (dryRun)' : `in force; last plan: ${plan.actions.length} action(s)`,
          },
          nowIso,
          policy.metadata.generation,
        ),
      }))
      .catch((err) => this.deps.log.warn(`policy status not written: ${(err as Error).message}`));
  }
}

function notCached(): never {
  throw new Error('not found (the Secret informer of Tide\'s namespace has no such Secret)');
}

function currentRecordId(status: { migration?: { id: string } } | { powerAction?: { id: string } }): string | undefined {
  return 'migration' in status ? status.migration?.id : 'powerAction' in status ? status.powerAction?.id : undefined;
}
