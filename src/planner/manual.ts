/**
 * Moves a person asked for (VirtualMachineMigration), planned under the rules of the planner's
 * own moves: the same host filters (on, not in maintenance or being evacuated, memory, CPU,
 * anti-affinity), pinning and doNotMigrate, and checkPlan() on the result. Two differences, both
 * because a person asked: the VM's migration cooldown does not hold it back (it guards against
 * Tide's own ping-pong; the move itself starts a new cooldown, so the planner leaves the VM where
 * it was put), and a named target may be filled up to 100 % CPU, not only to Th1.
 * Without a named target, the spread rule of evacuation picks one: the least loaded host that
 * stays under Th1 with the VM, else the least loaded one with room at all.
 * Pure: snapshot, policy and requests in; a plan and a verdict per request out.
 */
import { ClusterState, type HostState, type VmState } from './cluster.ts';
import { pct } from './explain.ts';
import { antiAffinity, cpuFits, hostIsOn, memoryFits, notInMaintenance, notSameHost, type HostFilter } from './filters.ts';
import { checkPlan } from './invariants.ts';
import { PlanInvariantError } from './plan.ts';
import { leastLoadedFit } from './scoring.ts';
import type { MigrateAction, Plan, PlannerPolicy, Snapshot } from './types.ts';

const FULL = 100;

export interface ManualRequest {
  /** uid of the VirtualMachineMigration, carried into the migration record. */
  uid: string;
  /** namespace/name of the VirtualMachineMigration, for the messages. */
  name: string;
  vm: string;
  to?: string;
}

export type ManualRefusalReason = 'VMNotRunning' | 'AlreadyMoving' | 'Pinned' | 'DoNotMigrate' | 'TargetNotFound' | 'AlreadyOnTarget' | 'TargetNotAvailable' | 'NoRoom' | 'AntiAffinity';

export type ManualVerdict = { request: ManualRequest; action: MigrateAction } | { request: ManualRequest; refused: ManualRefusalReason; message: string };

/** The host filters in the order they are tried, each with the reason its refusal is reported as. */
const TARGET_FILTERS: [HostFilter, ManualRefusalReason][] = [
  [notSameHost, 'AlreadyOnTarget'],
  [hostIsOn, 'TargetNotAvailable'],
  [notInMaintenance, 'TargetNotAvailable'],
  [memoryFits, 'NoRoom'],
  [cpuFits, 'NoRoom'],
  [antiAffinity, 'AntiAffinity'],
];

export function planManual(snapshot: Snapshot, policy: PlannerPolicy, requests: readonly ManualRequest[]): { plan: Plan; verdicts: ManualVerdict[] } {
  // A host being evacuated receives nothing, as in plan(): for the filters, it is in maintenance.
  const hosts = snapshot.hosts.map((h) => (h.evacuate ? { ...h, maintenance: true } : h));
  const c = new ClusterState({ ...snapshot, hosts }, policy);
  const verdicts = requests.map((request) => decide(c, request));
  const plan: Plan = { strategy: policy.strategy, actions: c.actions, summary: `${c.actions.length} of ${requests.length} requested migration(s) planned` };
  // The planner's own invariants, less the two rules a request may pass (see the file comment).
  const violations = checkPlan(snapshot, { ...policy, migrationCooldownMs: 0, maxMigrationsPerPlan: 0 }, plan);
  if (violations.length) throw new PlanInvariantError(violations.map((v) => v.message));
  return { plan, verdicts };
}

function decide(c: ClusterState, request: ManualRequest): ManualVerdict {
  const refuse = (refused: ManualRefusalReason, message: string): ManualVerdict => ({ request, refused, message });
  const vm = c.vmByName.get(request.vm);
  if (!vm) return refuse('VMNotRunning', `${request.vm} is not running on any host Tide can observe`);
  if (vm.moved) return refuse('AlreadyMoving', `${request.vm} already moves in this round`);
  const pinned = vm.snap.pinnedHost;
  if (pinned !== undefined && (pinned === vm.host.name || (request.to ?? pinned) !== pinned)) return refuse('Pinned', `${request.vm} is pinned to ${pinned}`);
  if (vm.snap.doNotMigrate) return refuse('DoNotMigrate', `${request.vm} may not be migrated (doNotMigrate, or not Tide's)`);
  const wanted = request.to ?? pinned;
  if (wanted !== undefined) {
    const to = c.hostByName.get(wanted);
    if (!to) return refuse('TargetNotFound', `${wanted} is not a PhysicalHost Tide governs and can observe now`);
    for (const [filter, reason] of TARGET_FILTERS) {
      const why = filter(c, vm, to, FULL);
      if (why) return refuse(reason, why);
    }
    return move(c, request, vm, to);
  }
  const to = leastLoadedFit(c, vm, c.policy.overloadThresholdPercent) ?? leastLoadedFit(c, vm, FULL);
  if (!to) return refuse('NoRoom', `no host on takes ${vm.name} (${vm.snap.vcpus} vCPUs, ${vm.snap.memoryMiB} MiB) without passing 100 % CPU, its memory or anti-affinity`);
  return move(c, request, vm, to);
}

function move(c: ClusterState, request: ManualRequest, vm: VmState, to: HostState): ManualVerdict {
  const from = vm.host.name;
  const after = to.load + c.weightOn(vm, to);
  c.migrate(vm, to, 'Manual', `migrate ${vm.name} ${from}→${to.name}: asked for by VirtualMachineMigration ${request.name}; ${to.name} ${pct(to.load)} → ${pct(after)}`);
  const action = { ...(c.actions[c.actions.length - 1] as MigrateAction), requestUid: request.uid };
  c.actions[c.actions.length - 1] = action;
  return { request, action };
}
