/**
 * Removing a PhysicalHost the Kubernetes way: the operator puts a finalizer on every host it
 * governs, so `kubectl delete ph NAME` only marks the host. The host is then evacuated (the
 * planner's rules/evacuate.ts) and let go once no VM Tide manages runs there — as a node is
 * drained before it is deleted, and a vSphere host leaves its cluster from maintenance mode.
 * How far the evacuation got is worked out as for maintenance (evacuation.ts). Pure: the host, what was observed and what the plan said in; a verdict out.
 */
import { isObservable } from '../api/drivers.ts';
import type { EvacuationProgress } from '../api/physical-host.ts';
import type { PhysicalHost } from '../api/types.ts';
import { listNames } from '../planner/explain.ts';
import type { ConditionUpdate } from './conditions.ts';
import { evacuatedCondition, progressOf, progressStatus, type EvacuationInput, type PolicyState, type Progress } from './evacuation.ts';
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

export type { PolicyState };

export type RemovalInput = EvacuationInput;

export type RemovalVerdict =
  | { release: true; reason: 'ForceRemoved' | 'Removed'; message: string; /** Placements whose VM may still run there. */ left: string[] }
  | { release: false; removing: ConditionUpdate; evacuated: ConditionUpdate; progress?: EvacuationProgress; warning: boolean };

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
    return { release: true, reason: 'Removed', message: `${name} removed: no ConsolidationPolicy (${policy.name}) governs it (hostSelector), so Tide manages no VM there`, left: managed.map(placementName) };
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

  const progress = progressOf(input, managed);
  const listed = progress.reasons.map((r) => `${r.vm} (${r.why})`).join(', ');
  if (progress.movable === 0) {
    const stuck = progress.cannotMove.length;
    return wait('EvacuationBlocked', true, `${name} stays: ${stuck === 1 ? 'its last VM' : `its ${stuck} VMs`} Tide manages cannot move: ${listed}; unpin them, move them yourself, ${force}`, progress);
  }
  return wait('Evacuating', false, `${name} is being evacuated before it is removed: waiting for ${listed}`, progress);
}

function wait(reason: string, warning: boolean, message: string, progress: Progress | undefined): RemovalVerdict {
  return {
    release: false,
    warning,
    removing: { type: 'Removing', status: 'True', reason, message },
    // Issue 14's condition: True once no VM that can move is left; names the ones that cannot.
    evacuated: progress
      ? evacuatedCondition(progress)
      : { type: 'Evacuated', status: 'False', reason: reason === 'HostNotObservable' ? 'NotObservable' : 'NotEvacuating', message: `not evacuating: ${reason}` },
    ...(progress ? { progress: progressStatus(progress) } : {}),
  };
}
