/**
 * plan(snapshot, policy) → Plan: the planner's one entry point. Pure and deterministic: same
 * input, same plan; no clock but `snapshot.atMs`, no I/O, no randomness.
 */
import { ClusterState } from './cluster.ts';
import { checkPlan } from './invariants.ts';
import { evacuateHosts, finishEvacuationReports, powerOffKeptOff, withEvacuation } from './rules/evacuate.ts';
import { STRATEGIES } from './strategies/index.ts';
import type { Plan, PlannerPolicy, Snapshot } from './types.ts';

/** The paper's figures (§3.2) and safe defaults for the rest. */
export const DEFAULT_POLICY: PlannerPolicy = {
  strategy: 'paper',
  overloadThresholdPercent: 80,
  consolidationThresholdPercent: 80,
  balanceThresholdPercent: 10,
  minHostsOn: 1,
  maxMigrationsPerPlan: 0,
  migrationCooldownMs: 0,
  powerCooldownMs: 0,
  consolidationAllowed: true,
};

/** Raised when a strategy produced a plan that breaks an invariant: a bug, never user error. */
export class PlanInvariantError extends Error {
  constructor(readonly violations: string[]) {
    super(`planner bug, plan breaks its invariants: ${violations.join('; ')}`);
    this.name = 'PlanInvariantError';
  }
}

export function plan(snapshot: Snapshot, policy: PlannerPolicy): Plan {
  const strategy = STRATEGIES.get(policy.strategy);
  if (!strategy) {
    const known = [...STRATEGIES.keys()].join(', ');
    const message = `strategy ${policy.strategy} is not available in this version of Tide (known: ${known}); nothing planned`;
    return { strategy: policy.strategy, actions: [{ type: 'alert', reason: 'Blocked', message }], summary: message };
  }
  const state = new ClusterState(withEvacuationAsMaintenance(snapshot), policy);
  // Evacuation comes before any strategy's own rules, whichever strategy: the VMs it places take
  // their room first, and a strategy cannot forget it.
  const evacuation = evacuateHosts(state);
  const planned = withEvacuation(evacuation, strategy.plan(state));
  // Last: a host to be kept off goes off once every rule has had its say about the VMs on it.
  const keptOff = powerOffKeptOff(state);
  const summary = keptOff ? `${planned}; ${keptOff}` : planned;
  finishEvacuationReports(state);
  const result: Plan = { strategy: policy.strategy, actions: state.actions, summary, ...(state.evacuations.length ? { evacuations: state.evacuations } : {}) };
  // Cheap (linear) and the last line of defence: a broken plan is never handed to the executor.
  const violations = checkPlan(snapshot, policy, result);
  if (violations.length) throw new PlanInvariantError(violations.map((v) => v.message));
  return result;
}

/**
 * A host being evacuated is, for every rule, a host in maintenance (it receives nothing and is
 * never powered on or off); only rules/evacuate.ts looks at `evacuate` itself. The invariants
 * check the original snapshot, so a rule that forgot would still be caught.
 */
function withEvacuationAsMaintenance(snapshot: Snapshot): Snapshot {
  if (!snapshot.hosts.some((h) => h.evacuate && !h.maintenance)) return snapshot;
  return { ...snapshot, hosts: snapshot.hosts.map((h) => (h.evacuate ? { ...h, maintenance: true } : h)) };
}
