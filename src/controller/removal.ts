/**
 * Removing a PhysicalHost the Kubernetes way: the operator puts a finalizer on every host it
 * governs, so `kubectl delete ph NAME` only marks the host. The host is then evacuated (the
 * planner's rules/evacuate.ts) and let go once no VM Tide manages runs there — as a node is
 * drained before it is deleted, and a vSphere host leaves its cluster from maintenance mode.
 * Pure: the host, what was observed and what the plan said in; a verdict out.
 */
import { isObservable, type ObservedHost } from '../api/drivers.ts';
import type { PhysicalHost, VirtualMachinePlacement } from '../api/types.ts';
import { listNames } from '../planner/explain.ts';
import { NO_ROOM } from '../planner/rules/evacuate.ts';
import type { EvacuationReport } from '../planner/types.ts';
import type { ConditionUpdate } from './conditions.ts';
import { effectivePowerState } from './status.ts';

/** Held on every governed PhysicalHost; removed once the host may go. */
export const HOST_FINALIZER = 'tide.dev/host-protection';
/** `kubectl annotate ph NAME tide.dev/force-remove=true`: let a host being deleted go at once. */
export const FORCE_REMOVE_ANNOTATION = 'tide.dev/force-remove';

/** Is this host being deleted and held by Tide's finalizer (Tide's to let go)? */
export function beingRemoved(host: PhysicalHost): boolean {
  return !!host.metadata.deletionTimestamp && (host.metadata.finalizers ?? []).includes(HOST_FINALIZER);
}

/** Should the operator add its finalizer? Not to a host being deleted: the API server forbids it. */
export function needsFinalizer(host: PhysicalHost): boolean {
  return !host.metadata.deletionTimestamp && !(host.metadata.finalizers ?? []).includes(HOST_FINALIZER);
}

/** The policy in force as removal sees it: none (Tide only observes), a dry run, or active; and whether it governs the host. */
export type PolicyState = { kind: 'none' } | { kind: 'dry-run' | 'active'; name: string; governs: boolean };

export interface RemovalInput {
  host: PhysicalHost;
  observed: ObservedHost | undefined;
  /** Every VirtualMachinePlacement: a domain with one is a VM Tide manages. */
  placements: VirtualMachinePlacement[];
  policy: PolicyState;
  /** The plan's evacuation report for this host, when a plan was made this round. */
  evacuation?: EvacuationReport;
}

export type RemovalVerdict =
  | { release: true; reason: 'ForceRemoved' | 'Removed'; message: string; /** Placements whose VM may still run there. */ left: string[] }
  | { release: false; removing: ConditionUpdate; evacuated: ConditionUpdate; warning: boolean };

/** Why a VM stays that no waiting will change: it is pinned here, marked doNotMigrate, or nothing has room. */
const STUCK = /pinned to|doNotMigrate|do-not-migrate|^no room/;

export function removalVerdict(input: RemovalInput): RemovalVerdict {
  const { host, observed, placements, policy } = input;
  const name = host.metadata.name;
  const byDomain = new Map(placements.map((p) => [p.spec.domain, p]));
  const full = isObservable(observed) ? observed : undefined;
  const running = full?.domains.filter((d) => d.state !== 'shutoff').map((d) => d.name);
  const managed = (running ?? host.status?.vms ?? []).filter((d) => byDomain.has(d)).sort();
  const placementName = (d: string) => `${byDomain.get(d)!.metadata.namespace}/${byDomain.get(d)!.metadata.name}`;

  if (host.metadata.annotations?.[FORCE_REMOVE_ANNOTATION] === 'true') {
    const what = managed.length
      ? `; the placements of ${listNames(managed)} now read Unknown (HostUnmanaged) and Tide no longer moves them or counts their capacity`
      : '';
    return { release: true, reason: 'ForceRemoved', message: `${name} removed at once (annotation ${FORCE_REMOVE_ANNOTATION}=true), not evacuated${what}`, left: managed.map(placementName) };
  }
  if (policy.kind !== 'none' && !policy.governs) {
    return { release: true, reason: 'Removed', message: `${name} removed: ConsolidationPolicy ${policy.name} does not govern it (hostSelector), so Tide manages no VM there`, left: managed.map(placementName) };
  }
  if (effectivePowerState(host, observed) === 'Off') return { release: true, reason: 'Removed', message: `${name} removed: it is off, so no VM runs there`, left: [] };
  if (!full) {
    const why = observed?.error ?? 'not observed yet';
    return wait('HostNotObservable', true, `${name} cannot be observed (${why}): its VMs are unknown, so it is not let go; once libvirt answers it is evacuated, or annotate ${FORCE_REMOVE_ANNOTATION}=true to remove it now`, undefined);
  }
  if (managed.length === 0) {
    const others = running!.length ? `; ${listNames(running!)} run there without a VirtualMachinePlacement (not Tide's to move)` : '';
    return { release: true, reason: 'Removed', message: `${name} removed: no VM Tide manages runs there${others}`, left: [] };
  }
  const vms = `${managed.length} VM${managed.length === 1 ? '' : 's'} Tide manages (${listNames(managed, 5)})`;
  const force = `or annotate ${FORCE_REMOVE_ANNOTATION}=true to remove it now`;
  if (policy.kind === 'none') return wait('NoPolicy', true, `${name} still runs ${vms} and no ConsolidationPolicy lets Tide move them: apply one, move them yourself, ${force}`, undefined);
  if (policy.kind === 'dry-run') return wait('DryRun', true, `${name} still runs ${vms}; ConsolidationPolicy ${policy.name} is a dry run, so Tide moves nothing: set dryRun: false, move them yourself, ${force}`, undefined);

  // Why each VM is still there: what the placement says first (the planner sees a VM mid-migration
  // or marked doNotMigrate alike), then the plan's words.
  const staying = new Map(input.evacuation?.staying.map((x) => [x.vm, x.why]));
  const why = (d: string): string => {
    const p = byDomain.get(d)!;
    if (p.spec.doNotMigrate) return 'doNotMigrate';
    if (p.status?.migration?.phase === 'Running' || p.status?.migration?.phase === 'Pending') return `migrating to ${p.status.migration.to}`;
    if (p.spec.pinnedHost === name) return `pinned to ${name}`;
    const planned = staying.get(d);
    if (planned) return planned.startsWith(NO_ROOM) ? NO_ROOM : planned.replace(`${d} `, '');
    if (input.evacuation?.moving.includes(d)) return 'its migration did not complete this round (see its placement)';
    return 'waiting for the next round';
  };
  const reasons = managed.map((d) => ({ vm: d, why: why(d) }));
  const stuck = reasons.filter((r) => STUCK.test(r.why));
  const listed = reasons.map((r) => `${r.vm} (${r.why})`).join(', ');
  const progress = { cannotMove: stuck, movable: reasons.length - stuck.length };
  if (progress.movable === 0) {
    return wait('EvacuationBlocked', true, `${name} stays: ${stuck.length === 1 ? 'its last VM' : `its ${stuck.length} VMs`} Tide manages cannot move: ${listed}; unpin them, move them yourself, ${force}`, progress);
  }
  return wait('Evacuating', false, `${name} is being evacuated before it is removed: waiting for ${listed}`, progress);
}

function wait(
  reason: string,
  warning: boolean,
  message: string,
  progress: { cannotMove: { vm: string; why: string }[]; movable: number } | undefined,
): RemovalVerdict {
  const cannot = progress?.cannotMove.map((r) => `${r.vm} (${r.why})`).join(', ');
  const left = progress?.movable;
  return {
    release: false,
    warning,
    removing: { type: 'Removing', status: 'True', reason, message },
    // Issue 14's condition: True once no VM that can move is left; names the ones that cannot.
    evacuated:
      left === undefined
        ? { type: 'Evacuated', status: 'False', reason: reason === 'HostNotObservable' ? 'NotObservable' : 'NotEvacuating', message: `not evacuating: ${reason}` }
        : left === 0
          ? { type: 'Evacuated', status: 'True', reason: 'NoMovableVMs', message: `no VM that can move is left; ${cannot} cannot move` }
          : { type: 'Evacuated', status: 'False', reason: 'Evacuating', message: `${left} VM${left === 1 ? '' : 's'} still to move${cannot ? `; cannot move: ${cannot}` : ''}` },
  };
}
