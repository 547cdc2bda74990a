/**
 * Where the evacuation of a host stands, as DRS maintenance mode reports it: a host in
 * maintenance, one whose powerPolicy is Off, and one being deleted (removal.ts) alike. Which VMs
 * Tide manages are still there, which can still leave, which cannot and why — summed up as the
 * Evacuated condition (`kubectl wait --for=condition=Evacuated ph/NAME`) and status.evacuation.
 * The planner moves the VMs (planner/rules/evacuate.ts); this only reads the outcome.
 * Pure: the host, what was observed and what the plan said in; a verdict out.
 */
import { isObservable, type ObservedHost } from '../api/drivers.ts';
import type { EvacuationProgress } from '../api/physical-host.ts';
import type { PhysicalHost, VirtualMachinePlacement } from '../api/types.ts';
import { listNames } from '../planner/explain.ts';
import { NO_ROOM } from '../planner/rules/evacuate.ts';
import type { EvacuationReport } from '../planner/types.ts';
import type { ConditionUpdate } from './conditions.ts';
import { effectivePowerState } from './status.ts';

/** The policy in force as evacuation sees it: none (Tide only observes), a dry run, or active; and whether it governs the host. */
export type PolicyState = { kind: 'none' } | { kind: 'dry-run' | 'active'; name: string; governs: boolean };

export interface EvacuationInput {
  host: PhysicalHost;
  observed: ObservedHost | undefined;
  /** Every VirtualMachinePlacement: a domain with one is a VM Tide manages. */
  placements: VirtualMachinePlacement[];
  policy: PolicyState;
  /** The plan's evacuation report for this host, when a plan was made this round. */
  evacuation?: EvacuationReport;
}

/** Is the host to be emptied while it stays a PhysicalHost: in maintenance, or to be kept off? */
export function evacuationAsked(host: PhysicalHost): boolean {
  return host.spec.maintenance || host.spec.powerPolicy === 'Off';
}

/** Why a VM stays that no waiting will change: it is pinned here, marked doNotMigrate, or nothing has room. */
const STUCK = /pinned to|doNotMigrate|do-not-migrate|^no room/;

export interface VmsOnHost {
  /** Running domains with a VirtualMachinePlacement, sorted. */
  managed: string[];
  /** Running domains without one, sorted: not Tide's to move. */
  unmanaged: string[];
}

/** The running domains of a host observed in full; undefined when its VMs are unknown. */
export function vmsOnHost(observed: ObservedHost | undefined, placements: VirtualMachinePlacement[]): VmsOnHost | undefined {
  if (!observed || !isObservable(observed)) return undefined;
  const domains = new Set(placements.map((p) => p.spec.domain));
  const running = observed.domains.filter((d) => d.state !== 'shutoff').map((d) => d.name).sort();
  return { managed: running.filter((d) => domains.has(d)), unmanaged: running.filter((d) => !domains.has(d)) };
}

export interface Progress {
  /** Every managed VM still there, with why it is there. */
  reasons: { vm: string; why: string }[];
  cannotMove: { vm: string; why: string }[];
  movable: number;
}

/**
 * Why each managed VM is still on the host: what its placement says first (the planner sees a VM
 * mid-migration or marked doNotMigrate alike), then the plan's words.
 */
export function progressOf(input: EvacuationInput, managed: string[]): Progress {
  const name = input.host.metadata.name;
  const byDomain = new Map(input.placements.map((p) => [p.spec.domain, p]));
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
  const reasons = managed.map((vm) => ({ vm, why: why(vm) }));
  const cannotMove = reasons.filter((r) => STUCK.test(r.why));
  return { reasons, cannotMove, movable: reasons.length - cannotMove.length };
}

const listed = (xs: { vm: string; why: string }[]) => xs.map((r) => `${r.vm} (${r.why})`).join(', ');

/** True once no VM that can move is left (those that cannot are named); False while some still can. */
export function evacuatedCondition(p: Progress, unmanaged: string[] = []): ConditionUpdate {
  const others = unmanaged.length ? `; ${listNames(unmanaged)} run${unmanaged.length === 1 ? 's' : ''} there without a VirtualMachinePlacement (not Tide's to move)` : '';
  if (p.movable === 0) {
    const what = p.reasons.length === 0 ? 'no VM Tide manages is left' : `no VM that can move is left; ${listed(p.cannotMove)} cannot move`;
    return { type: 'Evacuated', status: 'True', reason: 'NoMovableVMs', message: `${what}${others}` };
  }
  const cannot = p.cannotMove.length ? `; cannot move: ${listed(p.cannotMove)}` : '';
  return { type: 'Evacuated', status: 'False', reason: 'Evacuating', message: `${p.movable} VM${p.movable === 1 ? '' : 's'} still to move${cannot}${others}` };
}

export function progressStatus(p: Progress, unmanaged: string[] = []): EvacuationProgress {
  return {
    vmsLeft: p.reasons.length,
    movable: p.movable,
    cannotMove: p.cannotMove.map((r) => ({ vm: r.vm, reason: r.why })),
    ...(unmanaged.length ? { unmanaged } : {}),
  };
}

export interface EvacuationVerdict {
  evacuated: ConditionUpdate;
  /** Absent while the host's VMs are unknown. */
  progress?: EvacuationProgress;
  /** Worth a Warning Event: VMs that cannot move, or nothing lets Tide move them. */
  warning: boolean;
}

/** The Evacuated condition of a host in maintenance or to be kept off (a host being deleted: removal.ts). */
export function evacuationVerdict(input: EvacuationInput): EvacuationVerdict {
  const { host, observed, policy } = input;
  const name = host.metadata.name;
  const empty: EvacuationProgress = { vmsLeft: 0, movable: 0, cannotMove: [] };
  if (effectivePowerState(host, observed) === 'Off') {
    return { evacuated: { type: 'Evacuated', status: 'True', reason: 'HostOff', message: `${name} is off: no VM runs there` }, progress: empty, warning: false };
  }
  const vms = vmsOnHost(observed, input.placements);
  if (!vms) {
    const why = observed?.error ?? 'not observed yet';
    return { evacuated: { type: 'Evacuated', status: 'False', reason: 'NotObservable', message: `${name} cannot be observed (${why}): its VMs are unknown` }, warning: true };
  }
  const still = `${name} still runs ${vms.managed.length} VM${vms.managed.length === 1 ? '' : 's'} Tide manages (${listNames(vms.managed, 5)})`;
  if (vms.managed.length > 0 && policy.kind !== 'active') {
    const message = policy.kind === 'none'
      ? `${still} and no ConsolidationPolicy lets Tide move them: apply one, or move them yourself`
      : `${still}; ConsolidationPolicy ${policy.name} is a dry run, so Tide moves nothing: set dryRun: false, or move them yourself`;
    const progress = progressOf({ host, observed, placements: input.placements, policy }, vms.managed);
    return { evacuated: { type: 'Evacuated', status: 'False', reason: policy.kind === 'none' ? 'NoPolicy' : 'DryRun', message }, progress: progressStatus(progress, vms.unmanaged), warning: true };
  }
  const progress = progressOf(input, vms.managed);
  return { evacuated: evacuatedCondition(progress, vms.unmanaged), progress: progressStatus(progress, vms.unmanaged), warning: progress.cannotMove.length > 0 };
}
