/**
 * Power-aware best fit (Beloglazov & Buyya's PABFD, CloudSim's
 * PowerVmAllocationPolicyMigrationAbstract.findHostForVm): among hosts that can take the VM
 * and would not be overloaded with it, the one whose power grows least. CloudSim measures the
 * growth from the host's power at the start of the round, not from its tentative state.
 *
 * Watts come from the host's power curve when the snapshot carries one (SPECpower: watts at
 * 0 %, 10 %, … 100 %), else linearly between its idle and peak watts. The curve matters: with
 * a straight line every host of a model adds the same watts for a VM, and best fit degrades
 * into first fit.
 */
import { hostRefuses } from '../filters.ts';
import { num } from '../explain.ts';
import { EPSILON } from '../units.ts';
import type { ClusterState, HostState, VmState } from '../cluster.ts';
import type { OverloadVerdict } from './overload.ts';
import type { HostSnapshot } from '../types.ts';

/**
 * One vCPU runs on one core: a host whose cores are slower than what one of the VM's vCPUs
 * asks for now cannot serve it (CloudSim's Host.isSuitableForVm). Only when both speeds are known.
 */
export function coreTooSlow(host: HostState, vm: VmState): boolean {
  const coreMips = host.snap.coreMips;
  const vcpuMips = vm.snap.vcpuMips;
  return coreMips !== undefined && vcpuMips !== undefined && (Math.max(0, vm.snap.cpuLoadPercent) / 100) * vcpuMips > coreMips;
}

export function wattsAt(host: HostState, points: number): number {
  const u = Math.min(100, Math.max(0, points));
  const curve = host.snap.powerCurveWatts;
  if (curve && curve.length === 11) {
    const x = u / 10;
    const i = Math.min(9, Math.floor(x));
    return curve[i] + (curve[i + 1] - curve[i]) * (x - i);
  }
  const idle = host.snap.idleWatts ?? 0;
  const peak = host.snap.peakWatts ?? 100;
  return idle + ((peak - idle) * u) / 100;
}

export interface PlacementRules {
  c: ClusterState;
  /** Each host's load (points) when the round started. */
  startLoad: ReadonlyMap<HostState, number>;
  /** Would `host` be overloaded as it is now / if it also took `vm` / holding exactly `vms`? */
  overload: {
    now(host: HostState): OverloadVerdict;
    with(host: HostState, vm: VmState): OverloadVerdict;
    of(host: HostState, vms: readonly VmState[]): OverloadVerdict;
  };
  /** How the target's admission reads in messages, e.g. "keeps headroom (…)". */
  headroom?: string;
  /** Extra cost in watt-equivalents of choosing a target (Tide: waking an empty host). */
  extraCost?(host: HostState, vm: VmState): number;
  /** A further admission test a target must pass (Tide: headroom on slower cores, core-fit.ts). */
  admits?(host: HostState, vm: VmState): boolean;
}

export interface Placement {
  host: HostState;
  deltaWatts: number;
}

/** Snapshot-identical hosts that are empty give the same answer: only the first is tried. */
const modelKeys = new WeakMap<HostSnapshot, string>();
function modelKey(h: HostState): string {
  let key = modelKeys.get(h.snap);
  if (key === undefined) {
    const s = h.snap;
    key = `${s.cpuCores}|${s.memoryMiB}|${s.idleWatts}|${s.peakWatts}|${s.powerCurveWatts?.join(',')}`;
    modelKeys.set(h.snap, key);
  }
  return key;
}

/**
 * The best target among `targets` (default: every host) minus `excluded`. Callers that search
 * many times pass only the hosts that can still be targets: the search is O(targets).
 */
/** Could `host`, once on, take `vm` under these rules (room, memory, core speed, no overload)? */
export function couldTake(rules: PlacementRules, host: HostState, vm: VmState): boolean {
  const { c } = rules;
  return host.load + c.weightOn(vm, host) <= 100 + EPSILON && host.memoryUsedMiB + vm.snap.memoryMiB <= host.snap.memoryMiB && !coreTooSlow(host, vm) && (rules.admits?.(host, vm) ?? true) && !rules.overload.with(host, vm).overloaded;
}

export function findPowerAwareHost(rules: PlacementRules, vm: VmState, excluded: ReadonlySet<HostState>, targets: readonly HostState[] = rules.c.hosts): Placement | null {
  const { c } = rules;
  let best: Placement | null = null;
  let bestScore = Infinity;
  const emptySeen = new Set<string>();
  for (const host of targets) {
    if (excluded.has(host)) continue;
    const startLoad = rules.startLoad.get(host) ?? 0;
    const empty = host.vms.length === 0 && startLoad === 0;
    if (empty && emptySeen.has(modelKey(host))) continue;
    // Cheap checks first: the filters' refusals build explanations, too slow for 800 × 1,000.
    if (host.powerState !== 'on' || host.load + c.weightOn(vm, host) > 100 + EPSILON) continue;
    if (host.memoryUsedMiB + vm.snap.memoryMiB > host.snap.memoryMiB || coreTooSlow(host, vm)) continue;
    if (rules.admits && !rules.admits(host, vm)) continue;
    if (hostRefuses(c, vm, host, 100)) continue;
    // CloudSim skips this check on an empty host; a VM that alone looks overloaded would then
    // bounce from empty host to empty host every round. We check every target.
    if (rules.overload.with(host, vm).overloaded) continue;
    if (empty) emptySeen.add(modelKey(host));
    const deltaWatts = wattsAt(host, host.load + c.weightOn(vm, host)) - wattsAt(host, startLoad);
    const score = deltaWatts + (rules.extraCost?.(host, vm) ?? 0);
    if (score < bestScore) {
      bestScore = score;
      best = { host, deltaWatts };
    }
  }
  return best;
}

export function describePlacement(p: Placement, rules: PlacementRules): string {
  const watts = `${p.host.name} adds the least power (${p.deltaWatts >= 0 ? '+' : ''}${num(p.deltaWatts)} W)`;
  return rules.headroom ? `${watts} and ${rules.headroom}` : watts;
}
