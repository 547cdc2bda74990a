/**
 * The operator's side of a PhysicalHost's life beyond observation, and of whether the policy can
 * be met at all: it puts its finalizer on governed hosts, lets a host being deleted go once the
 * verdict of removal.ts says so (writing conditions and Events while it waits), reports how the
 * evacuation of a host in maintenance or to be kept off goes (evacuation.ts), and reports a
 * policy whose constraints the hosts cannot meet. Events go out once per change of what they
 * say — decided on the object as the API server has it, not on the informer cache, which may
 * not show this replica's last write yet.
 */
import type { Clock } from '../api/clock.ts';
import { CONSOLIDATION_POLICY, PHYSICAL_HOST } from '../api/crds.ts';
import type { ObservedHost } from '../api/drivers.ts';
import type { EvacuationProgress } from '../api/physical-host.ts';
import type { Condition, ConsolidationPolicy, ConsolidationPolicyStatus, PhysicalHost, PhysicalHostStatus, VirtualMachinePlacement } from '../api/types.ts';
import type { EvacuationReport } from '../planner/types.ts';
import { REQUESTS_IN_FLIGHT, runBounded } from './bounded.ts';
import { recordEvent, type ClusterWriter, type EventType, type ObjectRef } from './cluster.ts';
import { findCondition, setConditions, type ConditionUpdate } from './conditions.ts';
import { evacuationAsked, evacuationVerdict, type EvacuationVerdict } from './evacuation.ts';
import type { FinalizerWriter } from './finalizers.ts';
import type { Logger } from './log.ts';
import { beingRemoved, HOST_FINALIZER, needsFinalizer, removalVerdict, type PolicyState } from './removal.ts';
import { satisfiability } from './satisfiable.ts';

export interface HostLifecycleDeps {
  clock: Clock;
  writer: ClusterWriter;
  finalizers: FinalizerWriter;
  log: Logger;
}

export interface RemovalRound {
  /** Every PhysicalHost (the informer cache). */
  hosts: PhysicalHost[];
  observed: Map<string, ObservedHost>;
  placements: VirtualMachinePlacement[];
  /** The policy that governs each host, as removal and evacuation see it (none, dry run, active; or governed by no policy of several). */
  policyOf(host: PhysicalHost): PolicyState;
  /** The round's plan reports; undefined outside a plan round: then hosts are only let go, never reported on. */
  evacuations?: EvacuationReport[];
}

const sameCondition = (a: Condition | undefined, b: ConditionUpdate) => !!a && a.status === b.status && a.reason === b.reason && a.message === b.message;

export class HostLifecycle {
  constructor(private readonly deps: HostLifecycleDeps) {}

  /**
   * Puts the finalizer on every governed host that lacks it (a host being deleted may not get one).
   * On a fleet's first start that is every host: REQUESTS_IN_FLIGHT at a time, each started when
   * one ends (all at once, they held a connection each while the rate limit let a few through).
   */
  async protect(hosts: PhysicalHost[]): Promise<void> {
    const { finalizers, log } = this.deps;
    await runBounded(
      hosts.filter(needsFinalizer).map((host) => () =>
        finalizers
          .updateFinalizers(host.metadata.name, (f, fresh) => (fresh.metadata.deletionTimestamp || f.includes(HOST_FINALIZER) ? f : [...f, HOST_FINALIZER]))
          .catch((err) => log.warn(`finalizer ${HOST_FINALIZER} not added to ${host.metadata.name}: ${(err as Error)?.message ?? err}`)),
      ),
      REQUESTS_IN_FLIGHT,
    );
  }

  /**
   * Decides for every host being deleted under Tide's finalizer: let it go, or say what it waits
   * for; then reports the evacuation of every other host asked to be emptied.
   */
  async reconcileRemovals(round: RemovalRound): Promise<void> {
    await this.removals(round);
    await this.evacuations(round);
  }

  private async removals(round: RemovalRound): Promise<void> {
    for (const host of round.hosts.filter(beingRemoved)) {
      const name = host.metadata.name;
      const verdict = removalVerdict({
        host,
        observed: round.observed.get(name),
        placements: round.placements,
        policy: round.policyOf(host),
        ...(round.evacuations?.find((e) => e.host === name) ? { evacuation: round.evacuations.find((e) => e.host === name)! } : {}),
      });
      const ref = { def: PHYSICAL_HOST, name, uid: host.metadata.uid };
      try {
        if (verdict.release) {
          // Announced only by the round that took the finalizer off: the cache may show the host a
          // round longer, and that round would say it again.
          let held = false;
          await this.deps.finalizers.updateFinalizers(name, (f) => ((held = f.includes(HOST_FINALIZER)), f.filter((x) => x !== HOST_FINALIZER)));
          if (!held) continue;
          const left = verdict.left.length ? ` (placements left: ${verdict.left.join(', ')})` : '';
          this.deps.log.info(`${verdict.message}${left}`);
          await this.event(ref, verdict.reason === 'ForceRemoved' ? 'Warning' : 'Normal', verdict.reason, verdict.message);
          continue;
        }
        if (!round.evacuations && round.policyOf(host).kind === 'active') continue; // only a plan round reports an evacuation
        let changed = false;
        const nowIso = new Date(this.deps.clock.now()).toISOString();
        await this.deps.writer.updateStatus<PhysicalHostStatus>(ref, (s) => {
          changed = !sameCondition(findCondition(s.conditions, 'Removing'), verdict.removing);
          return { ...withProgress(s, verdict.progress), conditions: setConditions(s.conditions, [verdict.removing, verdict.evacuated], nowIso, host.metadata.generation) };
        });
        if (changed) {
          this.deps.log.info(`${name} being removed: ${verdict.removing.message}`);
          await this.event(ref, verdict.warning ? 'Warning' : 'Normal', verdict.removing.reason, verdict.removing.message);
        }
      } catch (err) {
        this.deps.log.warn(`removal of ${name} not reconciled this round: ${(err as Error)?.message ?? err}`);
      }
    }
  }

  /**
   * Hosts in maintenance or under powerPolicy Off: the Evacuated condition and status.evacuation,
   * and an Event whenever what the condition says changes but for the count of VMs still to
   * move (one per stage, not one per migration). Reported in plan rounds, as removals are, since
   * only a plan says why a VM finds no room; a host no longer asked is cleared at any round.
   */
  private async evacuations(round: RemovalRound): Promise<void> {
    for (const host of round.hosts.filter((h) => !h.metadata.deletionTimestamp)) {
      const name = host.metadata.name;
      const ref = { def: PHYSICAL_HOST, name, uid: host.metadata.uid };
      if (!evacuationAsked(host)) {
        if (host.status?.evacuation || findCondition(host.status?.conditions, 'Evacuated')) await this.clearEvacuation(ref, host);
        continue;
      }
      const policy = round.policyOf(host);
      // Only a plan round reports an evacuation Tide carries out; without a policy, or in a dry run, any round says why nothing moves.
      const reporting = !!round.evacuations || policy.kind !== 'active';
      if (!reporting || (policy.kind !== 'none' && !policy.governs) || !round.observed.has(name)) continue;
      const evacuation = round.evacuations?.find((e) => e.host === name);
      const verdict = evacuationVerdict({ host, observed: round.observed.get(name), placements: round.placements, policy, ...(evacuation ? { evacuation } : {}) });
      if (sameCondition(findCondition(host.status?.conditions, 'Evacuated'), verdict.evacuated) && sameJson(host.status?.evacuation, verdict.progress)) continue;
      let before: Condition | undefined;
      const nowIso = new Date(this.deps.clock.now()).toISOString();
      try {
        await this.deps.writer.updateStatus<PhysicalHostStatus>(ref, (s) => {
          before = findCondition(s.conditions, 'Evacuated');
          return { ...withProgress(s, verdict.progress), conditions: setConditions(s.conditions, [verdict.evacuated], nowIso, host.metadata.generation) };
        });
      } catch (err) {
        this.deps.log.warn(`evacuation of ${name} not reported this round: ${(err as Error)?.message ?? err}`);
        continue;
      }
      if (stage(before) === stage(verdict.evacuated)) continue;
      this.deps.log.info(`${name} evacuation: ${verdict.evacuated.message}`);
      await this.event(ref, verdict.warning ? 'Warning' : 'Normal', eventReason(verdict), `${name}: ${verdict.evacuated.message}`);
    }
  }

  private async clearEvacuation(ref: ObjectRef & { uid?: string }, host: PhysicalHost): Promise<void> {
    try {
      // Decided on the object as the server has it: a cache a write behind would end it twice.
      let had = false;
      await this.deps.writer.updateStatus<PhysicalHostStatus>(ref, (s) => {
        had = !!s.evacuation || !!findCondition(s.conditions, 'Evacuated');
        const { evacuation: _, ...rest } = s;
        return { ...rest, conditions: (s.conditions ?? []).filter((c) => c.type !== 'Evacuated') };
      });
      if (had) await this.event(ref, 'Normal', 'EvacuationEnded', `${host.metadata.name} is neither in maintenance nor to be kept off: it takes VMs again`);
    } catch (err) {
      this.deps.log.warn(`evacuation status of ${host.metadata.name} not cleared: ${(err as Error)?.message ?? err}`);
    }
  }

  /** Writes the policy's Satisfiable condition; a Warning Event when what it says changes to a new problem. */
  async reportSatisfiability(policy: ConsolidationPolicy, hosts: PhysicalHost[]): Promise<void> {
    const update = satisfiability(policy, hosts);
    if (sameCondition(findCondition(policy.status?.conditions, 'Satisfiable'), update)) return;
    const ref = { def: CONSOLIDATION_POLICY, name: policy.metadata.name, uid: policy.metadata.uid };
    let before: Condition | undefined;
    const nowIso = new Date(this.deps.clock.now()).toISOString();
    try {
      await this.deps.writer.updateStatus<ConsolidationPolicyStatus>(ref, (s) => {
        before = findCondition(s.conditions, 'Satisfiable');
        return { ...s, conditions: setConditions(s.conditions, [update], nowIso, policy.metadata.generation) };
      });
    } catch (err) {
      this.deps.log.warn(`Satisfiable condition of ${policy.metadata.name} not written: ${(err as Error)?.message ?? err}`);
      return;
    }
    if (sameCondition(before, update)) return;
    if (update.status === 'False') {
      this.deps.log.warn(`ConsolidationPolicy ${policy.metadata.name} cannot be met: ${update.message}`);
      await this.event(ref, 'Warning', update.reason, update.message);
    } else if (before?.status === 'False') {
      await this.event(ref, 'Normal', update.reason, update.message);
    }
  }

  private async event(ref: ObjectRef & { uid?: string }, type: EventType, reason: string, message: string): Promise<void> {
    await recordEvent(this.deps.writer, this.deps.log, ref, type, reason, message);
  }
}

/** The Event's reason: the condition's, said the way a person reads a host's Events. */
function eventReason(v: EvacuationVerdict): string {
  if (v.evacuated.status === 'True') return v.progress?.cannotMove.length ? 'EvacuationBlocked' : 'Evacuated';
  return v.evacuated.reason;
}

/** What an evacuation Event is about: the condition without the count of VMs still to move. */
function stage(c: Pick<Condition, 'status' | 'reason' | 'message'> | undefined): string {
  return c ? `${c.status}/${c.reason}/${c.message.replace(/^\d+ VMs? still to move/, '')}` : '';
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

function withProgress(s: PhysicalHostStatus, progress: EvacuationProgress | undefined): PhysicalHostStatus {
  if (progress) return { ...s, evacuation: progress };
  const { evacuation: _, ...rest } = s;
  return rest;
}
