/**
 * Plans approved by a person (ConsolidationPolicy `approval: Manual`), the decisions: what a
 * round's proposal becomes, which ConsolidationPlan runs, which are superseded, which old ones
 * go. Pure — the plans, the proposal and a validity check in, the steps out; plan-approval.ts
 * does the reading and writing.
 *
 * The rule that keeps an approval safe: a plan runs only as it was shown, and only while it still
 * holds. Before it runs it is replayed through the planner's invariants (checkPlan) on the
 * snapshot of the round that would run it; any violation — a VM no longer on its source, a target
 * gone, off or in maintenance, a capacity or cooldown broken — supersedes it for good.
 */
import { createHash } from 'node:crypto';
import type { ConsolidationPlan, ConsolidationPlanStatus, PlanPhase, PlannedAction, PlanPrediction } from '../api/types.ts';
import { applyPlan } from '../planner/apply.ts';
import type { Violation } from '../planner/invariants.ts';
import type { Action, Plan, Snapshot } from '../planner/types.ts';
import { predictedSaving, SAVING_WINDOW_MS } from '../savings/predict.ts';

/** The label naming a plan's ConsolidationPolicy (the plans of one policy are listed by it). */
export const PLAN_POLICY_LABEL = 'tide.dev/policy';

const OPEN: readonly PlanPhase[] = ['Proposed', 'Approved'];
const FINISHED: readonly PlanPhase[] = ['Succeeded', 'Failed', 'Superseded'];

export const isOpen = (p: ConsolidationPlan) => OPEN.includes(p.status?.phase as PlanPhase);
export const isFinished = (p: ConsolidationPlan) => FINISHED.includes(p.status?.phase as PlanPhase);

/** A plan needs approval when it changes something: alerts alone only raise Events. */
export const needsApproval = (plan: Plan) => plan.actions.some((a) => a.type !== 'alert');

/**
 * What makes two proposals the same: the actions, not their messages (the loads they quote
 * move every round). Order counts: the executor powers on first, but migrations keep theirs.
 */
export function fingerprint(actions: readonly Action[]): string {
  const keys = actions.map((a) => [a.type, a.reason, a.type === 'migrate' ? [a.vm, a.from, a.to] : 'host' in a ? a.host ?? '' : '']);
  return createHash('sha256').update(JSON.stringify(keys)).digest('hex').slice(0, 16);
}

export function toPlanned(a: Action): PlannedAction {
  const base = { type: a.type, reason: a.reason, message: a.message };
  if (a.type === 'migrate') return { ...base, vm: a.vm, from: a.from, to: a.to };
  return a.host !== undefined ? { ...base, host: a.host } : base;
}

/** The stored action back as the planner's; throws, naming the action, on one that lacks a field. */
export function fromPlanned(p: PlannedAction, index: number): Action {
  const need = (field: 'vm' | 'from' | 'to' | 'host'): string => {
    const value = p[field];
    if (!value) throw new Error(`status.actions[${index}] (${p.type}) has no ${field}`);
    return value;
  };
  const base = { reason: p.reason as Action['reason'], message: p.message };
  switch (p.type) {
    case 'migrate': return { ...base, type: 'migrate', vm: need('vm'), from: need('from'), to: need('to') };
    case 'power-on': return { ...base, type: 'power-on', host: need('host') };
    case 'power-off': return { ...base, type: 'power-off', host: need('host') };
    default: return { ...base, type: 'alert', ...(p.host ? { host: p.host } : {}) };
  }
}

/** The plan a ConsolidationPlan stands for, as the executor takes it. */
export function planOf(plan: ConsolidationPlan): Plan {
  const s = plan.status ?? {};
  return { strategy: (s.strategy ?? 'paper') as Plan['strategy'], summary: s.summary ?? '', actions: (s.actions ?? []).map(fromPlanned) };
}

/**
 * Watts and energy the plan saves, and its SLA risk, on the round's snapshot: the idle watts of
 * the hosts powered off less those powered on; the hosts over Th1 once the plan is applied to
 * the loads observed now (applyPlan), held over the window.
 */
export function predict(plan: Plan, snapshot: Snapshot, overloadThresholdPercent: number, windowMs = SAVING_WINDOW_MS): PlanPrediction {
  const idle = new Map(snapshot.hosts.map((h) => [h.name, h.idleWatts ?? 0]));
  let watts = 0;
  for (const a of plan.actions) {
    if (a.type === 'power-off') watts += idle.get(a.host) ?? 0;
    if (a.type === 'power-on') watts -= idle.get(a.host) ?? 0;
  }
  const saving = predictedSaving(watts, windowMs);
  const after = applyPlan(snapshot, plan);
  const over = after.hosts.filter((h) => h.powerState === 'on' && (h.cpuLoadPercent ?? 0) > overloadThresholdPercent).map((h) => h.name).sort();
  const round1 = (x: number) => Math.round(x * 10) / 10;
  return {
    windowSeconds: Math.round(windowMs / 1000),
    wattsSaved: round1(saving.watts),
    energySavedWh: round1(saving.energyWh),
    hostsOverThreshold: over,
    minutesOverloaded: round1((over.length * windowMs) / 60_000),
  };
}

/**
 * A name that sorts by time and tells plans of one second apart: POLICY-YYYYMMDD-HHMMSS-HASH.
 * The same proposal made again in the same second (the last one finished at once) would get the
 * same name and be refused as AlreadyExists until the next round: `taken` (the names the API
 * server has now) makes it POLICY-…-HASH-2, -3, … — still the same name for the same inputs.
 */
export function planName(policy: string, nowMs: number, print: string, taken: ReadonlySet<string> = new Set()): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15).toLowerCase();
  // A policy's name is a DNS subdomain; cut, it must still end in a letter or digit.
  const base = `${policy.slice(0, 200).replace(/[^a-z0-9]+$/, '')}-${stamp}-${print.slice(0, 6)}`;
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
  return name;
}

/** The status of a new proposal. */
export function proposedStatus(policy: string, plan: Plan, prediction: PlanPrediction, nowIso: string): ConsolidationPlanStatus {
  return {
    phase: 'Proposed',
    reason: 'AwaitingApproval',
    message: `${plan.actions.length} action(s) wait for spec.approved: true`,
    policy,
    strategy: plan.strategy,
    summary: plan.summary,
    fingerprint: fingerprint(plan.actions),
    proposedAt: nowIso,
    actions: plan.actions.map(toPlanned),
    prediction,
  };
}

export interface Transition {
  name: string;
  phase: PlanPhase;
  reason: string;
  message: string;
}

export interface PlanSteps {
  /** Phase changes to write first (supersessions, interrupted runs). */
  transitions: Transition[];
  /** The approved plan to carry out this round. */
  execute?: ConsolidationPlan;
  /** The round's proposal, to be written as a new ConsolidationPlan. */
  propose?: Plan;
}

const newestFirst = (a: ConsolidationPlan, b: ConsolidationPlan) =>
  (b.status?.proposedAt ?? '').localeCompare(a.status?.proposedAt ?? '') || b.metadata.name.localeCompare(a.metadata.name);

/**
 * One decision round under `approval: Manual`. `plans` are this policy's, read fresh; `check`
 * replays a plan on the round's snapshot and policy (checkPlan). Plans Tide did not write (no
 * status.phase) are never touched and never run.
 */
export function decide(plans: readonly ConsolidationPlan[], proposal: Plan, check: (plan: Plan) => Violation[]): PlanSteps {
  const transitions: Transition[] = [];
  // Executing at the start of a round: the process carrying it out is gone (a round runs one
  // plan to its end). Its migrations and power actions are settled from their own records.
  for (const p of plans.filter((x) => x.status?.phase === 'Executing')) {
    transitions.push({ name: p.metadata.name, phase: 'Failed', reason: 'Interrupted', message: 'the operator stopped while carrying it out; each action it started was settled from its record' });
  }
  const valid: ConsolidationPlan[] = [];
  for (const p of plans.filter(isOpen).sort(newestFirst)) {
    let violations: Violation[];
    try {
      violations = check(planOf(p));
    } catch (err) {
      violations = [{ rule: 'readable', message: (err as Error).message }];
    }
    if (violations.length > 0) {
      transitions.push({ name: p.metadata.name, phase: 'Superseded', reason: 'Invalidated', message: `no longer holds: ${violations.slice(0, 3).map((v) => v.message).join('; ')}` });
    } else valid.push(p);
  }
  const [open, ...older] = valid;
  for (const p of older) transitions.push({ name: p.metadata.name, phase: 'Superseded', reason: 'NewProposal', message: `${open!.metadata.name} is newer` });
  if (open?.spec.approved) return { transitions, execute: open };
  const wanted = needsApproval(proposal);
  if (open && wanted && open.status?.fingerprint === fingerprint(proposal.actions)) return { transitions };
  if (open) {
    transitions.push(wanted
      ? { name: open.metadata.name, phase: 'Superseded', reason: 'NewProposal', message: `the round's plan differs: ${proposal.summary}` }
      : { name: open.metadata.name, phase: 'Superseded', reason: 'NoLongerProposed', message: `the round's plan changes nothing now: ${proposal.summary}` });
  }
  return wanted ? { transitions, propose: proposal } : { transitions };
}

/** Under `approval: Automatic` nothing waits for approval: every open plan is superseded. */
export function supersedeAll(plans: readonly ConsolidationPlan[]): Transition[] {
  return plans.filter(isOpen).map((p) => ({ name: p.metadata.name, phase: 'Superseded', reason: 'ApprovalAutomatic', message: 'the policy no longer asks for approval (approval: Automatic)' }));
}

/** The finished plans beyond `limit`, oldest first: the ones to delete. */
export function toPrune(plans: readonly ConsolidationPlan[], limit: number): string[] {
  const finished = plans.filter(isFinished).sort(newestFirst);
  return finished.slice(limit).map((p) => p.metadata.name).reverse();
}

/** What the executor's results make of a plan that ran. */
export function outcome(results: readonly { action: Action; result: string; detail?: string }[]): Omit<Transition, 'name'> {
  const bad = results.filter((r) => r.result !== 'succeeded');
  if (bad.length === 0) return { phase: 'Succeeded', reason: 'Executed', message: `${results.length} action(s) carried out` };
  return { phase: 'Failed', reason: 'ActionsFailed', message: `${bad.length} of ${results.length} action(s) not carried out: ${bad.slice(0, 3).map((r) => `${r.action.message.split(':')[0]} (${r.result}${r.detail ? `: ${r.detail}` : ''})`).join('; ')}` };
}
