/**
 * VirtualMachineMigration, carried out: at the start of a plan round, before the planner, the
 * requests still open are decided (planner/manual.ts) and run through the Executor — the same
 * preflight, leadership fence, intent record and concurrency limit as the planner's own moves.
 *
 * Crash safety comes from the placement's migration record, which the executor writes before a
 * migration starts and which names the request (requestedBy: its uid). A request's Running,
 * Succeeded and Failed are only ever read off that record, so an operator that died mid-way
 * finds the story there (settled like any interrupted migration, intents.ts). A request marked
 * Running whose record never got written started nothing, and is decided again.
 *
 * A request that finished is history: it is never decided or run again. One that cannot be run
 * for good (no such placement, pinned, no room …) fails at once with the reason; one that waits
 * for something that passes (no policy, dryRun, the VM busy, no migration slot) stays Pending.
 */
import type { Clock } from '../api/clock.ts';
import { specWithDefaults, VIRTUAL_MACHINE_MIGRATION, VIRTUAL_MACHINE_PLACEMENT } from '../api/crds.ts';
import type { HostTarget } from '../api/drivers.ts';
import { parseDuration } from '../api/schema-helpers.ts';
import type { ConsolidationPolicy, PhysicalHost, VirtualMachineMigration, VirtualMachineMigrationPhase, VirtualMachineMigrationStatus, VirtualMachinePlacement } from '../api/types.ts';
import { planManual, type ManualRequest } from '../planner/manual.ts';
import type { Action, PlannerPolicy, Snapshot } from '../planner/types.ts';
import { recordEvent, type ClusterWriter } from './cluster.ts';
import { setCondition } from './conditions.ts';
import type { ActionResult, Executor } from './executor.ts';
import { isUnfinished } from './intents.ts';
import type { Logger } from './log.ts';

/** What a request's status should say: its phase, with the reason and the sentence. */
export interface Verdict {
  phase: VirtualMachineMigrationPhase;
  reason: string;
  message: string;
  /** Fields copied from the migration record (source, target, times). */
  fields?: Partial<VirtualMachineMigrationStatus>;
}

export function isFinished(vmm: VirtualMachineMigration): boolean {
  return vmm.status?.phase === 'Succeeded' || vmm.status?.phase === 'Failed';
}

/** The request's state as its placement's migration record tells it, when the record is its own. */
export function fromRecord(vmm: VirtualMachineMigration, placement: VirtualMachinePlacement | undefined): Verdict | undefined {
  const record = placement?.status?.migration;
  if (!record || !vmm.metadata.uid || record.requestedBy !== vmm.metadata.uid) return undefined;
  const fields: Partial<VirtualMachineMigrationStatus> = {
    domain: placement!.spec.domain,
    sourceHost: record.from,
    targetHost: record.to,
    migrationId: record.id,
    startedAt: record.startedAt,
    ...(record.completedAt ? { completedAt: record.completedAt } : {}),
    ...(record.durationSeconds !== undefined ? { durationSeconds: record.durationSeconds } : {}),
  };
  if (isUnfinished(record)) return { phase: 'Running', reason: 'Migrating', message: record.message, fields };
  if (record.phase === 'Succeeded') {
    const took = record.durationSeconds !== undefined ? ` in ${record.durationSeconds} s` : '';
    return { phase: 'Succeeded', reason: 'Migrated', message: `${record.from}→${record.to}${took}`, fields };
  }
  return { phase: 'Failed', reason: 'MigrationFailed', message: `${record.from}→${record.to} failed: ${record.error ?? 'unknown error'}`, fields };
}

export interface Context {
  policy: ConsolidationPolicy | undefined;
  hosts: readonly PhysicalHost[];
  /** The hosts `policy` governs, when there are several policies: a VM never moves to another's. */
  governed?: ReadonlySet<string>;
}

/**
 * The checks that need no planner: the placement and target exist, the VM may move at all, Tide
 * may act, the VM is not busy. Undefined: ask the planner.
 */
export function precheck(vmm: VirtualMachineMigration, placement: VirtualMachinePlacement | undefined, ctx: Context): Verdict | undefined {
  const fail = (reason: string, message: string): Verdict => ({ phase: 'Failed', reason, message });
  const wait = (reason: string, message: string): Verdict => ({ phase: 'Pending', reason, message });
  const { namespace } = vmm.metadata;
  const { placement: name, targetHost } = vmm.spec;
  if (!placement || placement.metadata.deletionTimestamp) return fail('PlacementNotFound', `VirtualMachinePlacement ${namespace}/${name} does not exist`);
  const { domain, doNotMigrate, pinnedHost } = placement.spec;
  if (doNotMigrate) return fail('DoNotMigrate', `${domain} is marked doNotMigrate`);
  if (pinnedHost !== undefined && (targetHost ?? pinnedHost) !== pinnedHost) return fail('Pinned', `${domain} is pinned to ${pinnedHost}`);
  if (targetHost !== undefined) {
    const target = ctx.hosts.find((h) => h.metadata.name === targetHost);
    if (!target || target.metadata.deletionTimestamp) return fail('TargetNotFound', `PhysicalHost ${targetHost} does not exist`);
    if (target.spec.maintenance) return fail('TargetInMaintenance', `${targetHost} is in maintenance: it receives no VM`);
    if (ctx.policy && ctx.governed && !ctx.governed.has(targetHost)) {
      return fail('TargetNotGoverned', `${targetHost} is not governed by ConsolidationPolicy ${ctx.policy.metadata.name}, which governs ${domain}'s host: a VM never moves across policies`);
    }
  }
  if (!ctx.policy) return wait('NoPolicy', 'no ConsolidationPolicy: Tide only observes until one is applied');
  if (ctx.policy.spec.dryRun) return wait('DryRun', `ConsolidationPolicy ${ctx.policy.metadata.name} is in dryRun: Tide carries nothing out`);
  if (isUnfinished(placement.status?.migration)) return wait('VMBusy', `${domain} is being migrated already (${placement.status!.migration!.id})`);
  return undefined;
}

/** The status a verdict makes, on top of the current one (conditions per the API conventions). */
export function statusFor(current: VirtualMachineMigrationStatus | undefined, verdict: Verdict, nowIso: string, generation?: number): VirtualMachineMigrationStatus {
  const finished = verdict.phase === 'Succeeded' || verdict.phase === 'Failed';
  return {
    ...current,
    ...verdict.fields,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    phase: verdict.phase,
    reason: verdict.reason,
    message: verdict.message,
    ...(finished && !verdict.fields?.completedAt ? { completedAt: current?.completedAt ?? nowIso } : {}),
    // `Succeeded`, as Knative has it for things that run to completion: Unknown while under way.
    conditions: setCondition(
      current?.conditions,
      { type: 'Succeeded', status: verdict.phase === 'Succeeded' ? 'True' : verdict.phase === 'Failed' ? 'False' : 'Unknown', reason: verdict.reason, message: verdict.message },
      nowIso,
      generation,
    ),
  };
}

function changes(vmm: VirtualMachineMigration, verdict: Verdict): boolean {
  const s = vmm.status;
  return s?.phase !== verdict.phase || s.reason !== verdict.reason || s.message !== verdict.message || (verdict.fields?.migrationId !== undefined && s.migrationId !== verdict.fields.migrationId);
}

export interface ManualMigrationsDeps {
  clock: Clock;
  writer: ClusterWriter;
  log: Logger;
  executor: Executor;
}

export interface ManualRoundInput {
  migrations: VirtualMachineMigration[];
  placements: VirtualMachinePlacement[];
  hosts: PhysicalHost[];
  policy: ConsolidationPolicy | undefined;
  /** Built in this round from fresh observations (only when there is a policy). */
  snapshot?: Snapshot;
  plannerPolicy?: PlannerPolicy;
  /** The hosts `policy` governs (its snapshot's): a request for any other target fails. */
  governed?: ReadonlySet<string>;
  targets: Map<string, HostTarget>;
  placementByDomain: Map<string, VirtualMachinePlacement>;
  signal?: AbortSignal;
}

export class ManualMigrations {
  constructor(private readonly deps: ManualMigrationsDeps) {}

  /**
   * Brings every open request up to date and runs those that may run now. Resolves to the
   * results of the migrations it ran (empty when none ran: the planner may plan this round).
   */
  async round(input: ManualRoundInput): Promise<ActionResult[]> {
    const open = input.migrations
      .filter((m) => !isFinished(m) && !m.metadata.deletionTimestamp)
      .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name));
    if (open.length === 0) return [];
    const placementOf = (vmm: VirtualMachineMigration) =>
      input.placements.find((p) => p.metadata.namespace === vmm.metadata.namespace && p.metadata.name === vmm.spec.placement);
    const ctx: Context = { policy: input.policy, hosts: input.hosts, ...(input.governed ? { governed: input.governed } : {}) };
    const busy = input.placements.filter((p) => isUnfinished(p.status?.migration)).length;
    let slots = Math.max(0, (input.policy?.spec.maxConcurrentMigrations ?? 0) - busy);
    const toPlan: { vmm: VirtualMachineMigration; request: ManualRequest }[] = [];
    for (const cached of open) {
      let vmm: VirtualMachineMigration | undefined = cached;
      let placement = placementOf(vmm);
      let verdict = fromRecord(vmm, placement) ?? precheck(vmm, placement, ctx);
      if (!verdict && slots === 0) {
        await this.write(vmm, { phase: 'Pending', reason: 'WaitingForSlot', message: `maxConcurrentMigrations (${input.policy!.spec.maxConcurrentMigrations}) migrations are running` });
        continue;
      }
      if (!verdict) {
        // About to run it: decide on the objects as the API server has them now. The cache may
        // not show yet that this request already ran (it must never run twice).
        ({ vmm, placement } = await this.fresh(vmm));
        if (!vmm || isFinished(vmm)) continue;
        verdict = fromRecord(vmm, placement) ?? precheck(vmm, placement, ctx);
        // The domain belongs to the placement that claimed it first (another namespace's, maybe).
        const claimant = verdict ? undefined : input.placementByDomain.get(placement!.spec.domain);
        if (claimant && claimant.metadata.uid !== placement!.metadata.uid) {
          verdict = { phase: 'Failed', reason: 'Conflict', message: `${placement!.spec.domain} is claimed by VirtualMachinePlacement ${claimant.metadata.namespace}/${claimant.metadata.name}` };
        }
      }
      if (verdict) {
        await this.write(vmm, verdict);
        continue;
      }
      slots--;
      toPlan.push({ vmm, request: { uid: vmm.metadata.uid ?? '', name: `${vmm.metadata.namespace}/${vmm.metadata.name}`, vm: placement!.spec.domain, ...(vmm.spec.targetHost ? { to: vmm.spec.targetHost } : {}) } });
    }
    if (toPlan.length === 0 || !input.snapshot || !input.plannerPolicy) return [];

    const { plan, verdicts } = planManual(input.snapshot, input.plannerPolicy, toPlan.map((t) => t.request));
    const byUid = new Map(toPlan.map((t) => [t.request.uid, t.vmm]));
    for (const v of verdicts) {
      if (!('refused' in v)) continue;
      const vmm = byUid.get(v.request.uid)!;
      // precheck, on fresh objects, already failed requests for hosts that do not exist and VMs
      // marked doNotMigrate. What the planner refuses besides may pass by the next round: a target
      // or VM out of sight, a VM mid-migration (the snapshot marks it doNotMigrate). A VM stopped is gone.
      const state = placementOf(vmm)?.status?.state;
      const passing = v.refused === 'TargetNotFound' || v.refused === 'DoNotMigrate' || (v.refused === 'VMNotRunning' && state !== 'Stopped' && state !== 'NotFound');
      const reason = v.refused === 'DoNotMigrate' ? 'VMBusy' : passing ? 'NotObservable' : v.refused;
      await this.write(vmm, { phase: passing ? 'Pending' : 'Failed', reason, message: v.message });
    }
    if (plan.actions.length === 0) return [];

    const running: Promise<void>[] = [];
    const results = await this.deps.executor.execute({
      plan,
      snapshot: input.snapshot,
      targets: input.targets,
      hosts: new Map(input.hosts.map((h) => [h.metadata.name, h])),
      placementByDomain: input.placementByDomain,
      policy: input.policy!,
      maxConcurrentMigrations: input.policy!.spec.maxConcurrentMigrations,
      migrationTimeoutMs: parseDuration(input.policy!.spec.migrationTimeout),
      ...(input.signal ? { signal: input.signal } : {}),
      // Running once the intent is recorded: read off the record like every later phase.
      onMigrationStarted: (action) => running.push(this.refresh(byUid.get(requestUid(action))!)),
    });
    await Promise.all(running);
    for (const r of results) {
      const vmm = byUid.get(requestUid(r.action))!;
      if (r.result === 'skipped') await this.write(vmm, { phase: 'Pending', reason: 'NotStarted', message: `not started this round: ${r.detail}` });
      else await this.refresh(vmm);
    }
    return results.filter((r) => r.result !== 'skipped');
  }

  /** The request and its placement as the API server has them now (undefined: gone). */
  private async fresh(vmm: VirtualMachineMigration): Promise<{ vmm?: VirtualMachineMigration; placement?: VirtualMachinePlacement }> {
    const { namespace } = vmm.metadata;
    const now = await this.deps.writer.read<VirtualMachineMigration>({ def: VIRTUAL_MACHINE_MIGRATION, name: vmm.metadata.name, namespace });
    if (!now || now.metadata.uid !== vmm.metadata.uid) return {};
    const placement = await this.deps.writer.read<VirtualMachinePlacement>({ def: VIRTUAL_MACHINE_PLACEMENT, name: now.spec.placement, namespace });
    return { vmm: now, ...(placement ? { placement: { ...placement, spec: specWithDefaults(VIRTUAL_MACHINE_PLACEMENT, placement.spec) } } : {}) };
  }

  /** Reads the placement afresh and writes what its record says about the request. */
  private async refresh(vmm: VirtualMachineMigration): Promise<void> {
    const ref = { def: VIRTUAL_MACHINE_PLACEMENT, name: vmm.spec.placement, namespace: vmm.metadata.namespace };
    const placement = await this.deps.writer.read<VirtualMachinePlacement>(ref).catch(() => undefined);
    const verdict = fromRecord(vmm, placement);
    if (verdict) await this.write(vmm, verdict);
  }

  /** Writes a verdict that changes something, with an Event; a finished request is never written again. */
  private async write(vmm: VirtualMachineMigration, verdict: Verdict): Promise<void> {
    const { writer, log, clock } = this.deps;
    if (!changes(vmm, verdict)) return;
    const ref = { def: VIRTUAL_MACHINE_MIGRATION, name: vmm.metadata.name, namespace: vmm.metadata.namespace, uid: vmm.metadata.uid };
    const nowIso = new Date(clock.now()).toISOString();
    let wrote = false;
    try {
      await writer.updateStatus<VirtualMachineMigrationStatus>(ref, (s, obj) => {
        const fresh = { ...vmm, status: s } as VirtualMachineMigration;
        // The object may have moved on since the cache saw it (a finished request stays finished).
        if (obj.metadata.uid !== vmm.metadata.uid || isFinished(fresh) || !changes(fresh, verdict)) return s;
        wrote = true;
        return statusFor(s, verdict, nowIso, obj.metadata.generation);
      });
    } catch (err) {
      log.warn(`status of VirtualMachineMigration ${vmm.metadata.namespace}/${vmm.metadata.name} not written: ${(err as Error)?.message ?? err}`);
      return;
    }
    // Remember what was written: the cache may show the old status for a moment.
    vmm.status = statusFor(vmm.status, verdict, nowIso, vmm.metadata.generation);
    if (!wrote) return;
    log.info(`VirtualMachineMigration ${vmm.metadata.namespace}/${vmm.metadata.name}: ${verdict.phase} (${verdict.reason}): ${verdict.message}`);
    await recordEvent(writer, log, ref, verdict.phase === 'Failed' ? 'Warning' : 'Normal', verdict.reason, verdict.message, 'Migrate');
  }
}

function requestUid(action: Action): string {
  return action.type === 'migrate' ? action.requestUid ?? '' : '';
}

