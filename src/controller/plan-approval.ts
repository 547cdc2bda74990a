/**
 * ConsolidationPlans read and written (the decisions are plans.ts's). Called once per decision
 * round, where the round's plan would be carried out: under `approval: Manual` it carries out the
 * approved plan that still holds, or writes the round's proposal as a plan; under Automatic it
 * supersedes plans left open from a time the policy was Manual.
 *
 * Plans are read fresh from the API server under Manual (a proposal is compared with, and an
 * approval read off, what is really there: the informer may not show yet the plan this process
 * wrote a moment ago); under Automatic from the informer's cache, so a policy that never asks for
 * approval costs no request.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { CONSOLIDATION_PLAN, CONSOLIDATION_POLICY, GROUP, specWithDefaults, VERSION } from '../api/crds.ts';
import type { ConsolidationPlan, ConsolidationPlanStatus, ConsolidationPolicy, ConsolidationPolicyStatus } from '../api/types.ts';
import type { Clock } from '../api/clock.ts';
import { checkPlan } from '../planner/invariants.ts';
import type { Plan, PlannerPolicy, Snapshot } from '../planner/types.ts';
import { recordEvent, type ClusterWriter } from './cluster.ts';
import { setCondition } from './conditions.ts';
import type { ActionResult } from './executor.ts';
import type { Logger } from './log.ts';
import { decide, isOpen, needsApproval, outcome, PLAN_POLICY_LABEL, planName, planOf, predict, proposedStatus, supersedeAll, toPrune, type Transition } from './plans.ts';

/** Where plans are kept: listed, created and deleted (status goes through the ClusterWriter). */
export interface PlanStore {
  /** This policy's plans in `namespace`, as the API server has them now. */
  list(namespace: string, policy: string): Promise<ConsolidationPlan[]>;
  create(namespace: string, name: string, policy: ConsolidationPolicy): Promise<ConsolidationPlan>;
  delete(namespace: string, name: string): Promise<void>;
}

export class KubePlanStore implements PlanStore {
  private readonly api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async list(namespace: string, policy: string): Promise<ConsolidationPlan[]> {
    const base = { group: GROUP, version: VERSION, plural: CONSOLIDATION_PLAN.plural, namespace };
    const list = (await this.api.listNamespacedCustomObject({ ...base, labelSelector: `${PLAN_POLICY_LABEL}=${policy}` })) as { items: ConsolidationPlan[] };
    return list.items.map((p) => ({ ...p, spec: specWithDefaults(CONSOLIDATION_PLAN, p.spec) }));
  }

  async create(namespace: string, name: string, policy: ConsolidationPolicy): Promise<ConsolidationPlan> {
    // spec.approved is left out: Tide owns no field a person sets, so a server-side apply of
    // `approved: true` (a GitOps tool's) meets no conflict with Tide's field manager. Owned by
    // the policy, so Kubernetes' garbage collector deletes a deleted policy's plans.
    const owner = policy.metadata.uid ? { ownerReferences: [{ apiVersion: `${GROUP}/${VERSION}`, kind: 'ConsolidationPolicy', name: policy.metadata.name, uid: policy.metadata.uid }] } : {};
    const metadata = { name, namespace, labels: { [PLAN_POLICY_LABEL]: policy.metadata.name }, ...owner };
    const body = { apiVersion: `${GROUP}/${VERSION}`, kind: CONSOLIDATION_PLAN.kind, metadata, spec: {} };
    return (await this.api.createNamespacedCustomObject({ group: GROUP, version: VERSION, plural: CONSOLIDATION_PLAN.plural, namespace, body })) as ConsolidationPlan;
  }

  async delete(namespace: string, name: string): Promise<void> {
    await this.api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: CONSOLIDATION_PLAN.plural, namespace, name });
  }
}

export interface PlanApprovalDeps {
  clock: Clock;
  writer: ClusterWriter;
  log: Logger;
  /** Without a store, a Manual policy carries nothing out (and says so): the safe side. */
  store?: PlanStore;
  namespace: string;
  /** The plans the informer caches (Automatic rounds read these only). */
  cached?: () => ConsolidationPlan[];
}

export interface PlanRound {
  policy: ConsolidationPolicy;
  proposal: Plan;
  snapshot: Snapshot;
  plannerPolicy: PlannerPolicy;
  /** Carries a plan out through the executor (fence, intent records, maxConcurrentMigrations). */
  execute: (plan: Plan) => Promise<ActionResult[]>;
}

export class PlanApprovals {
  constructor(private readonly deps: PlanApprovalDeps) {}

  /**
   * Undefined under Automatic: the caller carries the proposal out as before. Under Manual, what
   * became of the actions run this round (none while a plan waits for approval).
   */
  async round(r: PlanRound): Promise<ActionResult[] | undefined> {
    const name = r.policy.metadata.name;
    if ((r.policy.spec.approval ?? 'Automatic') === 'Automatic') {
      const open = (this.deps.cached?.() ?? []).filter((p) => p.metadata.namespace === this.deps.namespace && p.status?.policy === name);
      await this.apply(supersedeAll(open));
      await this.recordPending(r.policy, undefined);
      return undefined;
    }
    const { store, log } = this.deps;
    if (!store) {
      log.warn(`policy ${name} asks for approval, but this operator keeps no ConsolidationPlans: nothing is carried out`);
      return [];
    }
    const listed = await store.list(this.deps.namespace, name);
    const plans = listed.filter((p) => p.status?.policy === name);
    const steps = decide(plans, r.proposal, (plan) => checkPlan(r.snapshot, r.plannerPolicy, plan));
    await this.apply(steps.transitions);
    let results: ActionResult[] = [];
    let created: ConsolidationPlan | undefined;
    const finished: Transition[] = [];
    if (steps.execute) {
      const ran = await this.run(steps.execute, r.execute);
      results = ran.results;
      if (ran.outcome) finished.push({ name: steps.execute.metadata.name, ...ran.outcome });
    } else if (steps.propose) created = await this.propose(r, steps.propose, new Set(listed.map((p) => p.metadata.name)));
    else if (r.proposal.actions.length > 0 && !needsApproval(r.proposal)) results = await r.execute(r.proposal); // alerts only: Events, nothing to approve
    await this.prune(plans, [...steps.transitions, ...finished], created, r.policy.spec.planHistoryLimit ?? 10);
    // The plan a person is to approve: the one just proposed, or the open one left as it was.
    const touched = new Set(steps.transitions.map((t) => t.name));
    const waiting = created ?? plans.find((p) => isOpen(p) && !p.spec.approved && !touched.has(p.metadata.name));
    await this.recordPending(r.policy, waiting?.metadata.name);
    return results;
  }

  /** The policy's status.pendingPlan, so `kubectl get conspol -o yaml` names the plan to approve; written only when it changed. */
  private async recordPending(policy: ConsolidationPolicy, name: string | undefined): Promise<void> {
    if (policy.status?.pendingPlan === name) return;
    await this.deps.writer
      .updateStatus<ConsolidationPolicyStatus>({ def: CONSOLIDATION_POLICY, name: policy.metadata.name, cached: policy }, (s) => {
        const { pendingPlan: _, ...rest } = s;
        return name ? { ...rest, pendingPlan: name } : rest;
      })
      .catch((err) => this.deps.log.warn(`status.pendingPlan of policy ${policy.metadata.name} not written: ${(err as Error)?.message ?? err}`));
  }

  private async run(plan: ConsolidationPlan, execute: PlanRound['execute']): Promise<{ results: ActionResult[]; outcome?: Omit<Transition, 'name'> }> {
    const name = plan.metadata.name;
    const approvedAt = new Date(this.deps.clock.now()).toISOString();
    this.deps.log.info(`ConsolidationPlan ${name} approved and still valid: carrying it out`);
    // Written before anything runs (or nothing runs): a plan found Executing by a later round was
    // interrupted, and one never marked Executing never ran.
    await this.write(name, (s) => ({ ...s, approvedAt: s.approvedAt ?? approvedAt }), { phase: 'Approved', reason: 'Approved', message: 'approved, and it still holds' });
    const marked = await this.write(name, (s) => s, { phase: 'Executing', reason: 'Executing', message: `carrying out ${plan.status?.actions?.length ?? 0} action(s)` });
    if (!marked) return { results: [] };
    const planned = planOf(plan);
    const results = await execute(planned);
    const verdict = outcome(results);
    const byAction = new Map(results.map((r) => [r.action, r]));
    await this.write(name, (s) => ({
      ...s,
      results: planned.actions.flatMap((a, i) => {
        const r = byAction.get(a);
        return r ? [{ action: i, result: r.result, ...(r.detail ? { detail: r.detail } : {}) }] : [];
      }),
    }), verdict);
    await this.event(name, verdict.phase === 'Succeeded' ? 'Normal' : 'Warning', verdict.phase === 'Succeeded' ? 'PlanSucceeded' : 'PlanFailed', verdict.message);
    return { results, outcome: verdict };
  }

  /** `taken`: the names of the policy's plans now, whoever wrote them (a new name avoids them). */
  private async propose(r: PlanRound, plan: Plan, taken: ReadonlySet<string>): Promise<ConsolidationPlan | undefined> {
    const { store, clock, log, namespace } = this.deps;
    const nowMs = clock.now();
    const status = proposedStatus(r.policy.metadata.name, plan, predict(plan, r.snapshot, r.plannerPolicy.overloadThresholdPercent), new Date(nowMs).toISOString());
    const name = planName(r.policy.metadata.name, nowMs, status.fingerprint!, taken);
    try {
      const created = await store!.create(namespace, name, r.policy);
      await this.write(name, () => status, { phase: 'Proposed', reason: status.reason!, message: status.message! });
      log.info(`ConsolidationPlan ${namespace}/${name} proposed: ${plan.summary} (approve: tide approve ${name})`);
      await this.event(name, 'Normal', 'PlanProposed', `${plan.actions.length} action(s) wait for approval: ${plan.summary}`);
      return { ...created, status };
    } catch (err) {
      log.warn(`ConsolidationPlan ${name} not proposed: ${(err as Error)?.message ?? err}`);
      return undefined;
    }
  }

  private async apply(transitions: Transition[]): Promise<void> {
    for (const t of transitions) {
      this.deps.log.info(`ConsolidationPlan ${t.name}: ${t.phase} (${t.reason}): ${t.message}`);
      await this.write(t.name, (s) => s, t);
      await this.event(t.name, t.reason === 'Invalidated' || t.phase === 'Failed' ? 'Warning' : 'Normal', `Plan${t.phase}`, t.message);
    }
  }

  /** The finished plans beyond the policy's planHistoryLimit, oldest first, deleted. */
  private async prune(before: ConsolidationPlan[], transitions: Transition[], created: ConsolidationPlan | undefined, limit: number): Promise<void> {
    const phases = new Map(transitions.map((t) => [t.name, t.phase]));
    const now = [...before, ...(created ? [created] : [])].map((p) =>
      phases.has(p.metadata.name) ? { ...p, status: { ...p.status, phase: phases.get(p.metadata.name)! } } : p,
    );
    for (const name of toPrune(now, limit)) {
      await this.deps.store!.delete(this.deps.namespace, name).catch((err) => this.deps.log.warn(`old ConsolidationPlan ${name} not deleted: ${(err as Error)?.message ?? err}`));
    }
  }

  /** Writes a phase with its reason, the Ready-style condition and completedAt once finished. */
  private async write(name: string, fields: (s: ConsolidationPlanStatus) => ConsolidationPlanStatus, t: Omit<Transition, 'name'>): Promise<boolean> {
    const nowIso = new Date(this.deps.clock.now()).toISOString();
    const finished = t.phase === 'Succeeded' || t.phase === 'Failed' || t.phase === 'Superseded';
    return this.deps.writer
      .updateStatus<ConsolidationPlanStatus>({ def: CONSOLIDATION_PLAN, name, namespace: this.deps.namespace }, (current) => ({
        ...fields(current),
        phase: t.phase,
        reason: t.reason,
        message: t.message,
        ...(finished ? { completedAt: nowIso } : {}),
        conditions: setCondition(current.conditions, {
          type: 'Succeeded',
          status: t.phase === 'Succeeded' ? 'True' : finished ? 'False' : 'Unknown',
          reason: t.reason,
          message: t.message,
        }, nowIso),
      }))
      .then(() => true, (err) => {
        this.deps.log.warn(`status of ConsolidationPlan ${name} not written: ${(err as Error)?.message ?? err}`);
        return false;
      });
  }

  private event(name: string, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    return recordEvent(this.deps.writer, this.deps.log, { def: CONSOLIDATION_PLAN, name, namespace: this.deps.namespace }, type, reason, message);
  }
}
