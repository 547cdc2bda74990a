/**
 * One reconcile round: observe → snapshot → plan → execute → record. Level-triggered: each
 * round reads the resources and the hosts as they are now, settles any action record left
 * unfinished, and moves the fleet one step toward the policy. Crash anywhere, run again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../api/clock.ts';
import { CONSOLIDATION_POLICY, PHYSICAL_HOST, VIRTUAL_MACHINE_PLACEMENT } from '../api/crds.ts';
import { isObservable, type HostTarget, type HypervisorDriver, type ObservedHost, type PowerDriver } from '../api/drivers.ts';
import { parseDuration } from '../api/schema-helpers.ts';
import type { ConsolidationPlan, ConsolidationPolicy, ConsolidationPolicyStatus, PhysicalHost, PhysicalHostStatus, VirtualMachineMigration, VirtualMachinePlacement, VirtualMachinePlacementStatus, WakeAttempt } from '../api/types.ts';
import type { Action, Plan, PlannerPolicy, Snapshot } from '../planner/types.ts';
import { recordEvent, type ClusterWriter, type ObjectRef } from './cluster.ts';
import { resolveClaims, withClaimConditions } from './claims.ts';
import { setConditions } from './conditions.ts';
import { DEFAULT_TIDE_NAMESPACE, SECRET_OUTSIDE_NAMESPACE, secretsToRead } from './credentials.ts';
import { Executor, type ActionResult } from './executor.ts';
import { isFinished, ManualMigrations } from './manual-migrations.ts';
import { PlanApprovals, type PlanStore } from './plan-approval.ts';
import type { FinalizerWriter } from './finalizers.ts';
import { HostLifecycle } from './host-lifecycle.ts';
import { isUnfinished, settleMigration, settlePowerAction } from './intents.ts';
import type { Logger } from './log.ts';
import { plannerPolicy } from './policy.ts';
import { buildSnapshot } from './snapshot.ts';
import { REQUESTS_IN_FLIGHT, runBounded } from './bounded.ts';
import { beingRemoved, FORCE_REMOVE_ANNOTATION } from './removal.ts';
import { hostStatus, placementStatus, statusChanged } from './status.ts';
import { EnergyTally } from '../report/energy.ts';
import type { HostObservation } from '../metrics/tide-metrics.ts';
import { hostObservations } from './observers.ts';
import { parseLabelSelector, type LabelPredicate } from '../api/label-selector.ts';
import { byAge, hostsOverlapCondition, policyScope, withPolicyConflict, type PolicyGroup, type PolicyScope } from './policy-groups.ts';
import type { PolicyState } from './removal.ts';

export interface ResourceCache {
  listHosts(): PhysicalHost[];
  listPlacements(): VirtualMachinePlacement[];
  listPolicies(): ConsolidationPolicy[];
  /** ConsolidationPlans in Tide's namespace (plan-approval.ts); a cache without them has none. */
  listPlans?(): ConsolidationPlan[];
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
  /** One wake attempt (a power-on by one method) has ended. */
  onWakeAttempt?(host: string, attempt: WakeAttempt): void;
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
  /** Keeps ConsolidationPlans; without it a policy with approval Manual carries nothing out (plan-approval.ts). */
  plans?: PlanStore;
  /**
   * A label selector on ConsolidationPolicies (`tide run --policy-selector`): this instance owns
   * only the policies it matches, and observes and acts only on the hosts they select. Undefined:
   * it owns every policy (one instance, or replicas of one under one Lease).
   */
  policySelector?: string;
}

/** One policy's decision in a plan round. */
export interface PolicyPlan {
  policy: string;
  plan: Plan;
}

/** The default policy when none exists: the paper's thresholds, dry run (never act unasked). */
const NO_POLICY_THRESHOLD = 80;
/** How long a round waits for the watch to show the records it settled, and how often it looks. */
const SETTLED_VISIBLE_MS = 2000;
const SETTLED_POLL_MS = 20;

export class Reconciler {
  private readonly executor: Executor;
  private readonly lifecycle?: HostLifecycle;
  private readonly manual: ManualMigrations;
  private readonly approvals: PlanApprovals;
  /**
   * Records this process already settled. The informer cache may still show them unfinished
   * for a moment; this keeps them from being settled (and announced) twice.
   */
  private readonly settledIds = new Set<string>();
  /** For each policy's status: energy saved since this process started (src/report/energy.ts). */
  private readonly energy = new Map<string, EnergyTally>();
  private readonly ownsPolicy: LabelPredicate;
  /** The latest round's scope, for questions asked between rounds (whose is a measured saving). */
  private lastScope?: PolicyScope;
  /** Secrets that could not be read, by host and Secret: logged when this changes, not every round. */
  private readonly secretWarnings = new Map<string, string>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.ownsPolicy = parseLabelSelector(deps.policySelector ?? '');
    this.executor = new Executor({
      clock: deps.clock,
      hypervisor: deps.hypervisor,
      power: deps.power,
      writer: deps.writer,
      log: deps.log,
      ...(deps.fence ? { fence: deps.fence } : {}),
      onActionStarted: (id, action, atMs) => deps.observer?.onActionStarted?.(id, action, atMs),
      onActionDone: (r) => deps.observer?.onActionDone?.(r),
      onWakeAttempt: (host, attempt) => deps.observer?.onWakeAttempt?.(host, attempt),
    });
    this.manual = new ManualMigrations({ clock: deps.clock, writer: deps.writer, log: deps.log, executor: this.executor });
    this.approvals = new PlanApprovals({
      clock: deps.clock, writer: deps.writer, log: deps.log, namespace: deps.namespace ?? DEFAULT_TIDE_NAMESPACE,
      ...(deps.plans ? { store: deps.plans } : {}),
      cached: () => deps.cache.listPlans?.() ?? [],
    });
    if (deps.finalizers) this.lifecycle = new HostLifecycle({ clock: deps.clock, writer: deps.writer, finalizers: deps.finalizers, log: deps.log });
  }

  /** The ConsolidationPolicies this instance owns (all, or those its policySelector matches), the oldest first. Each acts on its own hosts. */
  policies(): ConsolidationPolicy[] {
    return byAge(this.deps.cache.listPolicies().filter((p) => !p.metadata.deletionTimestamp && this.ownsPolicy(p.metadata.labels)));
  }

  /** The policy that alone governs this host, as of the latest round (undefined: none, or several). */
  policyOfHost(name: string): ConsolidationPolicy | undefined {
    return this.lastScope?.policyOf.get(name);
  }

  /** Is this instance the only one (it owns every policy)? Then it also looks after what no policy governs. */
  private get ownsAll(): boolean {
    return this.deps.policySelector === undefined;
  }

  /** This round's policies and the hosts each governs, worked out once (policy-groups.ts). */
  private scope(): PolicyScope {
    // A host being deleted under Tide's finalizer is still observed: it is being evacuated.
    const hosts = this.deps.cache.listHosts().filter((h) => !h.metadata.deletionTimestamp || beingRemoved(h));
    const policies = this.policies();
    // With no policy at all, the only instance observes every host (and acts on none); an
    // instance owning some policies never observes a host none of them selects.
    this.lastScope = policyScope(policies, hosts, policies.length === 0 && this.ownsAll);
    return this.lastScope;
  }

  /** The placements Tide heeds: one per libvirt domain, the oldest claim (claims.ts). */
  private managedPlacements(): VirtualMachinePlacement[] {
    return resolveClaims(this.deps.cache.listPlacements()).managed;
  }

  /** How to reach a host, with its credentials; or why Tide refuses to (credentials.ts). */
  private async targetOf(host: PhysicalHost): Promise<{ target: HostTarget; refused?: string }> {
    const secrets: Record<string, string> = {};
    const wanted = secretsToRead(host.spec, this.deps.namespace ?? DEFAULT_TIDE_NAMESPACE);
    if ('refused' in wanted) return { target: { name: host.metadata.name, spec: host.spec, secrets }, refused: wanted.refused };
    const { cache } = this.deps;
    for (const ref of wanted.secrets) {
      const key = `${host.metadata.name} ${ref.namespace}/${ref.name}`;
      try {
        if (!cache.getSecret) Object.assign(secrets, await this.deps.writer.readSecret(ref.namespace, ref.name));
        else Object.assign(secrets, cache.getSecret(ref.namespace, ref.name) ?? notCached());
        if (this.secretWarnings.delete(key)) this.deps.log.info(`Secret ${ref.namespace}/${ref.name} for ${host.metadata.name} is read again`);
      } catch (err) {
        const warning = `cannot read Secret ${ref.namespace}/${ref.name} for ${host.metadata.name}: ${(err as Error).message}`;
        if (this.secretWarnings.get(key) !== warning) this.deps.log.warn(warning);
        this.secretWarnings.set(key, warning);
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

  /**
   * Observes every host of this instance's policies and writes what it saw into the resources'
   * status. Returns the hosts over Th1 of a policy that decides at once on overload.
   */
  async observe(scope = this.scope()): Promise<{ observed: Map<string, ObservedHost>; targets: Map<string, HostTarget>; overloaded: string[]; scope: PolicyScope }> {
    const { targets, observed } = await this.observeAll(scope.hosts);
    const nowMs = this.deps.clock.now();
    const nowIso = new Date(nowMs).toISOString();
    await this.writeStatuses(scope, observed, nowIso);
    if (this.lifecycle) {
      await this.lifecycle.protect(scope.hosts);
      await this.removals(scope, observed); // lets go of hosts that may go; reports wait only in plan rounds
    }
    this.deps.observer?.onObserved?.(scope.hosts, observed, nowMs);
    const overloaded: string[] = [];
    for (const { policy, hosts } of scope.groups) {
      await this.writePolicyEnergy(policy, hostObservations(hosts, observed), nowMs);
      if (!policy.spec.evaluateOnOverload) continue;
      for (const host of hosts) {
        const o = observed.get(host.metadata.name);
        if (o && isObservable(o) && (o.cpuLoadPercent ?? 0) > policy.spec.overloadThresholdPercent) overloaded.push(o.name);
      }
    }
    return { observed, targets, overloaded, scope };
  }

  private async writeStatuses(scope: PolicyScope, observed: Map<string, ObservedHost>, nowIso: string): Promise<void> {
    const { writer, log } = this.deps;
    const claims = resolveClaims(this.deps.cache.listPlacements());
    const mine = this.placementsInScope(scope, observed);
    // The writes are made as the workers ask for them, never all at once (runBounded).
    function* writes(): Generator<() => Promise<void>> {
      for (const host of scope.hosts) {
        const name = host.metadata.name;
        // Th1 of the host's own policy; a host no policy (or several) governs is measured against the default.
        const threshold = scope.policyOf.get(name)?.spec.overloadThresholdPercent ?? NO_POLICY_THRESHOLD;
        const conflict = scope.overlaps.get(name);
        const statusOf = (h: PhysicalHost) => withPolicyConflict(hostStatus(h, observed.get(name), threshold, nowIso), conflict, nowIso, h.metadata.generation);
        if (!statusChanged(host.status, statusOf(host))) continue;
        yield () =>
          writer
            // Recompute on the fresh object so fields others own (watts, MeterFresh) are kept.
            .updateStatus<PhysicalHostStatus>({ def: PHYSICAL_HOST, name, cached: host }, (current, obj) => statusOf({ ...(obj as PhysicalHost), status: current }))
            .catch((err) => log.warn(`status of ${name} not written: ${(err as Error).message}`));
      }
      const claimed = [...claims.managed.map((placement) => ({ placement, winner: undefined })), ...claims.conflicts];
      for (const { placement, winner } of claimed) {
        if (!mine(placement)) continue;
        const statusOf = (p: VirtualMachinePlacement) => withClaimConditions(placementStatus(p, observed, nowIso), p, winner, nowIso);
        if (!statusChanged(placement.status, statusOf(placement))) continue;
        const ref = { def: VIRTUAL_MACHINE_PLACEMENT, name: placement.metadata.name, namespace: placement.metadata.namespace, cached: placement };
        yield () =>
          writer
            .updateStatus<VirtualMachinePlacementStatus>(ref, (current, obj) => statusOf({ ...(obj as VirtualMachinePlacement), status: current }))
            .catch((err) => log.warn(`status of ${placement.metadata.namespace}/${placement.metadata.name} not written: ${(err as Error).message}`));
      }
    }
    await runBounded(writes(), REQUESTS_IN_FLIGHT);
  }

  /**
   * Which placements' status this instance writes. The only instance writes them all; one of
   * several writes those whose VM it sees, or last saw or pinned, on one of its hosts — another
   * instance's VM would read HostUnmanaged here and Running there, and the two would fight.
   */
  private placementsInScope(scope: PolicyScope, observed: Map<string, ObservedHost>): (p: VirtualMachinePlacement) => boolean {
    if (this.ownsAll) return () => true;
    const hosts = new Set(scope.hosts.map((h) => h.metadata.name));
    const seen = new Set<string>();
    for (const o of observed.values()) for (const d of o.domains) seen.add(d.name);
    return (p) => seen.has(p.spec.domain) || hosts.has(p.status?.host ?? p.spec.pinnedHost ?? '');
  }

  /**
   * Settles migration and power records that nobody in this process is carrying out. A record
   * counts as settled only once its write went through (a failed write leaves it for the next
   * round, and its VM or host stays busy meanwhile: the safe side), and the write changes the
   * record only if it is still the same one (another replica may have started a new action).
   */
  async settleUnfinished(observed: Map<string, ObservedHost>, scope = this.scope()): Promise<number> {
    const { clock, writer, log } = this.deps;
    const nowMs = clock.now();
    const nowIso = new Date(nowMs).toISOString();
    // Another instance's records are its own to settle: it may be carrying them out right now.
    const scoped = new Set(scope.hosts.map((h) => h.metadata.name));
    const mine = (host: string) => this.ownsAll || scoped.has(host);
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
      if (!record || !isUnfinished(record) || this.settledIds.has(record.id) || !mine(record.from)) continue;
      const policy = scope.policyOf.get(record.from) ?? scope.policyOf.get(record.to);
      const verdict = settleMigration(placement.spec.domain, record, observed, nowMs, parseDuration(policy?.spec.migrationTimeout ?? '10m'));
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
      if (!record || !isUnfinished(record) || this.settledIds.has(record.id) || !mine(host.metadata.name)) continue;
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

  /** Waits, at most `ms` of wall time, until no record settled by this reconciler looks unfinished in the cache. */
  private async untilCacheShowsSettled(ms: number): Promise<void> {
    const stale = (record: { id: string; phase: string } | undefined) => !!record && isUnfinished(record) && this.settledIds.has(record.id);
    const behind = () =>
      this.deps.cache.listPlacements().some((p) => stale(p.status?.migration)) || this.deps.cache.listHosts().some((h) => stale(h.status?.powerAction));
    // Wall time, not the reconciler's clock: this waits on the watch, which a simulated clock does not drive.
    const until = Date.now() + ms;
    while (behind() && Date.now() < until) await sleep(SETTLED_POLL_MS);
    if (behind()) this.deps.log.info(`settled records not in the cache after ${ms} ms: this round treats their VMs and hosts as busy`);
  }

  /**
   * A full decision round: VirtualMachineMigrations first, then each policy in turn, oldest
   * first, plans and acts on its own hosts only (its snapshot holds nothing else, so no VM
   * moves across policies). Returns each policy's plan (`plan`: the oldest's, undefined when
   * there is none) and what became of the actions.
   */
  async planRound(signal?: AbortSignal): Promise<{ plan?: Plan; plans: PolicyPlan[]; results: ActionResult[] }> {
    const { log } = this.deps;
    const { observed, targets, scope } = await this.observe();
    // A record settled just now can still look unfinished in the informer cache, and the snapshot
    // would treat its VM or host as busy: safe, but the plan is then made around it (after a
    // restart Tide emptied the other host, the one that idles cheaper). So the watch gets a moment
    // to deliver the writes; past it, the round goes on with the busy view.
    if ((await this.settleUnfinished(observed, scope)) > 0) await this.untilCacheShowsSettled(SETTLED_VISIBLE_MS);
    // VirtualMachineMigrations first. A round that ran some leaves planning to the next one,
    // made on observations that show where those VMs went.
    const manual = await this.manualMigrations(scope, observed, targets, signal);
    if (manual.length > 0) {
      const after = await this.observe();
      await this.removals(after.scope, after.observed);
      return { plans: [], results: manual };
    }
    if (scope.groups.length === 0) {
      log.info(this.ownsAll ? 'no ConsolidationPolicy: observing only (kubectl apply one to let Tide act)' : `no ConsolidationPolicy matches --policy-selector ${this.deps.policySelector}: nothing to do`);
      await this.removals(scope, observed, []);
      return { plans: [], results: [] };
    }
    const placements = this.managedPlacements();
    const placementByDomain = new Map(placements.map((p) => [p.spec.domain, p]));
    // Satisfiable counts the hosts a policy governs: a host shared with another policy is not one.
    const unshared = this.deps.cache.listHosts().filter((h) => !scope.overlaps.has(h.metadata.name));
    const plans: PolicyPlan[] = [];
    const results: ActionResult[] = [];
    for (const group of scope.groups) {
      if (signal?.aborted) break;
      const decided = await this.planPolicy(group, { observed, targets, placements, placementByDomain, unshared }, signal);
      plans.push({ policy: group.policy.metadata.name, plan: decided.plan });
      results.push(...decided.results);
    }
    const evacuations = plans.flatMap((p) => p.plan.evacuations ?? []);
    if (results.length === 0) {
      await this.removals(scope, observed, evacuations);
      return { plan: plans[0]?.plan, plans, results };
    }
    // Show the result in status right away, and let go of hosts now evacuated.
    const after = await this.observe();
    await this.removals(after.scope, after.observed, evacuations);
    return { plan: plans[0]?.plan, plans, results };
  }

  /** One policy's decision on its own hosts: snapshot, plan, record, and (unless dryRun) execute. */
  private async planPolicy(
    group: PolicyGroup,
    round: { observed: Map<string, ObservedHost>; targets: Map<string, HostTarget>; placements: VirtualMachinePlacement[]; placementByDomain: Map<string, VirtualMachinePlacement>; unshared: PhysicalHost[] },
    signal?: AbortSignal,
  ): Promise<{ plan: Plan; results: ActionResult[] }> {
    const { clock, log, writer } = this.deps;
    const { policy, hosts } = group;
    const name = policy.metadata.name;
    await this.lifecycle?.reportSatisfiability(policy, round.unshared);
    const nowMs = clock.now();
    const { snapshot, placementByDomain, excluded } = buildSnapshot({ nowMs, hosts, placements: round.placements, placementByDomain: round.placementByDomain, observed: round.observed });
    for (const e of excluded) log.warn(`${e.host} left out of planning: ${e.why}`);
    const plannerPolicyNow = plannerPolicy(policy.spec, nowMs);
    const plan = this.deps.planner(snapshot, plannerPolicyNow);
    // A proposal waiting for approval is not carried out: recorded as a dry run's would be.
    this.deps.observer?.onPlanned?.(plan, snapshot, plannerPolicyNow, policy.spec.dryRun || policy.spec.approval === 'Manual', nowMs);
    const lines = plan.actions.map((a) => a.message);
    log.info(`plan of ${name} (${policy.spec.strategy}${policy.spec.dryRun ? ', dry run' : ''}): ${plan.actions.length} action(s); ${plan.summary}`);
    for (const line of lines) log.info(`  ${line}`);
    await this.recordPlan(group, plan, snapshot, nowMs, lines);
    const execute = (approved: Plan) => {
      // An approved ConsolidationPlan is the decision carried out: history and metrics record it
      // (with its power-offs' predicted savings) as the round's.
      if (approved !== plan) this.deps.observer?.onPlanned?.(approved, snapshot, plannerPolicyNow, false, nowMs);
      return this.executor.execute({
        plan: approved,
        snapshot,
        ...(signal ? { signal } : {}),
        targets: round.targets,
        hosts: new Map(hosts.map((h) => [h.metadata.name, h])),
        placementByDomain,
        policy,
        maxConcurrentMigrations: policy.spec.maxConcurrentMigrations,
        migrationTimeoutMs: parseDuration(policy.spec.migrationTimeout),
      });
    };
    // approval: Manual — the plan waits for a person, and only an approved one that still holds
    // runs (plan-approval.ts); undefined under Automatic.
    const gated = policy.spec.dryRun ? undefined : await this.approvals.round({ policy, proposal: plan, snapshot, plannerPolicy: plannerPolicyNow, execute });
    if (gated) return { plan, results: gated };
    if (policy.spec.dryRun || plan.actions.length === 0) {
      if (policy.spec.dryRun && plan.actions.length > 0) {
        await recordEvent(writer, log, { def: CONSOLIDATION_POLICY, name, uid: policy.metadata.uid }, 'Normal', 'DryRun', `would do: ${lines.join('; ')}`.slice(0, 1000));
      }
      return { plan, results: [] };
    }
    return { plan, results: await execute(plan) };
  }

  /**
   * Brings the open VirtualMachineMigrations up to date and runs those that may run
   * (manual-migrations.ts), each under the policy that governs its VM's host: planned on that
   * policy's hosts only, so a request for a host of another policy fails. A VM on a host no
   * policy governs waits (NoPolicy); one on another instance's host is that instance's.
   */
  private async manualMigrations(scope: PolicyScope, observed: Map<string, ObservedHost>, targets: Map<string, HostTarget>, signal?: AbortSignal): Promise<ActionResult[]> {
    const migrations = this.deps.cache.listMigrations?.() ?? [];
    if (migrations.every(isFinished)) return [];
    const placements = this.deps.cache.listPlacements();
    const hostOf = new Map(placements.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p.status?.host ?? p.spec.pinnedHost]));
    const scoped = new Set(scope.hosts.map((h) => h.metadata.name));
    const byPolicy = new Map<ConsolidationPolicy | undefined, VirtualMachineMigration[]>();
    for (const vmm of migrations) {
      if (isFinished(vmm)) continue;
      const host = hostOf.get(`${vmm.metadata.namespace}/${vmm.spec.placement}`);
      if (!this.ownsAll && !(host && scoped.has(host))) continue;
      const policy = host ? scope.policyOf.get(host) : undefined;
      byPolicy.set(policy, [...(byPolicy.get(policy) ?? []), vmm]);
    }
    const nowMs = this.deps.clock.now();
    const managed = this.managedPlacements();
    const placementIndex = new Map(managed.map((p) => [p.spec.domain, p]));
    const results: ActionResult[] = [];
    for (const [policy, list] of byPolicy) {
      const hosts = policy ? scope.groups.find((g) => g.policy === policy)!.hosts : [];
      const { snapshot, placementByDomain } = buildSnapshot({ nowMs, hosts, placements: managed, placementByDomain: placementIndex, observed });
      results.push(...await this.manual.round({
        migrations: list,
        placements,
        hosts: this.deps.cache.listHosts(),
        policy,
        targets,
        placementByDomain,
        ...(policy ? { snapshot, plannerPolicy: plannerPolicy(policy.spec, nowMs), governed: new Set(hosts.map((h) => h.metadata.name)) } : {}),
        ...(signal ? { signal } : {}),
      }));
    }
    return results;
  }

  /**
   * Hosts being deleted: let go or report (removal.ts), each as the policy that governs it
   * says. `evacuations` is given in plan rounds only. A host two policies select is left alone
   * but for force-remove; another instance's hosts are not this one's to let go.
   */
  private async removals(scope: PolicyScope, observed: Map<string, ObservedHost>, evacuations?: Plan['evacuations']): Promise<void> {
    if (!this.lifecycle) return;
    const candidates = this.ownsAll ? this.deps.cache.listHosts() : scope.hosts;
    const hosts = candidates.filter((h) => !scope.overlaps.has(h.metadata.name) || h.metadata.annotations?.[FORCE_REMOVE_ANNOTATION] === 'true');
    const names = scope.groups.map((g) => g.policy.metadata.name).join(', ');
    const policyOf = (host: PhysicalHost): PolicyState => {
      const policy = scope.policyOf.get(host.metadata.name);
      if (policy) return { kind: policy.spec.dryRun ? 'dry-run' : 'active', name: policy.metadata.name, governs: true };
      return scope.groups.length === 0 ? { kind: 'none' } : { kind: 'active', name: names, governs: false };
    };
    await this.lifecycle.reconcileRemovals({ hosts, observed, placements: this.managedPlacements(), policyOf, ...(evacuations ? { evacuations } : {}) });
  }

  /**
   * The policy's Watts column and energy saved, kept current every observation (a decision
   * round may be far off): written when they changed, one request at most per round.
   */
  private async writePolicyEnergy(policy: ConsolidationPolicy, readings: HostObservation[], nowMs: number): Promise<void> {
    const name = policy.metadata.name;
    const energy = this.energy.get(name) ?? this.energy.set(name, new EnergyTally()).get(name)!;
    energy.observe(nowMs, readings);
    const clusterWatts = Math.round(readings.reduce((sum, h) => sum + (h.watts ?? 0), 0) * 10) / 10;
    const energySavedWh = Math.round(energy.savedWh * 10) / 10;
    if (policy.status?.clusterWatts === clusterWatts && policy.status?.energySavedWh === energySavedWh) return;
    await this.deps.writer
      .updateStatus<ConsolidationPolicyStatus>({ def: CONSOLIDATION_POLICY, name: policy.metadata.name }, (s) => ({ ...s, clusterWatts, energySavedWh }))
      .catch((err) => this.deps.log.warn(`policy status not written: ${(err as Error).message}`));
  }

  private async recordPlan(group: PolicyGroup, plan: Plan, snapshot: Snapshot, nowMs: number, lines: string[]): Promise<void> {
    const { policy } = group;
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
        conditions: setConditions(
          s.conditions,
          [hostsOverlapCondition(group), {
            type: 'Ready',
            status: 'True',
            reason: policy.spec.dryRun ? 'DryRun' : 'Active',
            message: policy.spec.dryRun ? 'planning only (dryRun)' : `in force; last plan: ${plan.actions.length} action(s)`,
          }],
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
