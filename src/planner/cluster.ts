/**
 * The planner's working copy of a snapshot. Strategies move VMs and power hosts in it, one
 * action at a time; every change is recorded as an Action, so the state after the last action
 * is exactly what the plan leads to. Mutable inside, but plan() builds a fresh one per call, so
 * plan() stays a pure function of (snapshot, policy).
 *
 * Hosts that take part in placement (on, not in maintenance, not being emptied) sit in an
 * ordered set keyed by (load, name): the least and most loaded host, and "the most loaded host
 * that still has room for w points", are O(log n) away. That keeps the balance loop and
 * consolidation fast on 10,000 hosts.
 */
import { OrderedSet } from 'js-sdsl';
import { EPSILON, overheadPoints, pointsOn, vmDemandCores } from './units.ts';
import type { Action, EvacuationReport, HostSnapshot, PlannerPolicy, ReasonCode, Snapshot, VmSnapshot } from './types.ts';

export interface HostState {
  readonly snap: HostSnapshot;
  readonly name: string;
  readonly cores: number;
  powerState: HostSnapshot['powerState'];
  /** Current load in points (% of the host's cores), VMs plus overhead. */
  load: number;
  memoryUsedMiB: number;
  /** VMs on the host, heaviest demand first (ties by name). */
  vms: VmState[];
  /** Anti-affinity group → VMs of it on this host. */
  antiAffinity: Map<string, number>;
  /** The host's key in the placement set while it takes part in placement. */
  entry: HostEntry | null;
  /** Powered on or off by this plan. */
  powerChanged: boolean;
}

export interface VmState {
  readonly snap: VmSnapshot;
  readonly name: string;
  readonly demand: number;
  host: HostState;
  moved: boolean;
}

/** Immutable key of a host in the placement set; replaced when the host's load changes. */
export interface HostEntry {
  readonly load: number;
  readonly host: HostState;
}

export function compareEntries(a: HostEntry, b: HostEntry): number {
  return a.load - b.load || (a.host.name < b.host.name ? -1 : a.host.name > b.host.name ? 1 : 0);
}

function compareVms(a: VmState, b: VmState): number {
  return b.demand - a.demand || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

export class ClusterState {
  readonly hosts: HostState[] = [];
  readonly hostByName = new Map<string, HostState>();
  readonly vms: VmState[] = [];
  readonly vmByName = new Map<string, VmState>();
  readonly actions: Action[] = [];
  /** What became of each host marked evacuate (rules/evacuate.ts). */
  readonly evacuations: EvacuationReport[] = [];
  /** Hosts taking part in placement, ordered by (load, name). */
  readonly placement = new OrderedSet<HostEntry>([], compareEntries);
  migrations = 0;
  /** Cores of the biggest host: a VM weighs least there, which bounds searches by weight. */
  readonly maxCores: number;

  constructor(
    readonly snapshot: Snapshot,
    readonly policy: PlannerPolicy,
  ) {
    const vmsByHost = new Map<string, VmSnapshot[]>();
    for (const vm of snapshot.vms) {
      const list = vmsByHost.get(vm.host) ?? [];
      list.push(vm);
      vmsByHost.set(vm.host, list);
    }
    for (const snap of snapshot.hosts) {
      const host: HostState = {
        snap,
        name: snap.name,
        cores: snap.cpuCores,
        powerState: snap.powerState,
        load: overheadPoints(snap, vmsByHost.get(snap.name) ?? []),
        memoryUsedMiB: 0,
        vms: [],
        antiAffinity: new Map(),
        entry: null,
        powerChanged: false,
      };
      this.hosts.push(host);
      this.hostByName.set(host.name, host);
    }
    for (const snap of snapshot.vms) {
      const host = this.hostByName.get(snap.host);
      // A VM on a host the snapshot does not list cannot be planned for; invariants ignore it too.
      if (!host) continue;
      const vm: VmState = { snap, name: snap.name, demand: vmDemandCores(snap), host, moved: false };
      this.vms.push(vm);
      this.vmByName.set(vm.name, vm);
      this.addVm(host, vm, false);
    }
    this.maxCores = this.hosts.reduce((max, h) => Math.max(max, h.cores), 1);
    for (const host of this.hosts) {
      host.vms.sort(compareVms);
      if (host.powerState === 'on' && !host.snap.maintenance) this.enterPlacement(host);
    }
  }

  weightOn(vm: VmState, host: HostState): number {
    return pointsOn(vm.demand, host.snap);
  }

  /** Hosts that are on and not in maintenance (whether or not being emptied). */
  activeHosts(): HostState[] {
    return this.hosts.filter((h) => h.powerState === 'on' && !h.snap.maintenance);
  }

  migrationCapReached(): boolean {
    return this.policy.maxMigrationsPerPlan > 0 && this.migrations >= this.policy.maxMigrationsPerPlan;
  }

  migrate(vm: VmState, to: HostState, reason: ReasonCode, message: string): void {
    const from = vm.host;
    this.removeVm(from, vm);
    this.addVm(to, vm, true);
    vm.host = to;
    vm.moved = true;
    this.migrations++;
    this.actions.push({ type: 'migrate', vm: vm.name, from: from.name, to: to.name, reason, message });
  }

  /** A mark to roll tentative migrations back to (see rollback). */
  checkpoint(): number {
    return this.actions.length;
  }

  /** Undoes the migrations recorded since `mark` (only migrations may follow a checkpoint). */
  rollback(mark: number): void {
    while (this.actions.length > mark) {
      const action = this.actions.pop()!;
      if (action.type !== 'migrate') throw new Error(`cannot roll back a ${action.type} action`);
      const vm = this.vmByName.get(action.vm)!;
      const from = this.hostByName.get(action.from)!;
      this.removeVm(vm.host, vm);
      this.addVm(from, vm, true);
      vm.host = from;
      vm.moved = false;
      this.migrations--;
    }
  }

  powerOn(host: HostState, reason: ReasonCode, message: string): void {
    host.powerState = 'booting';
    host.powerChanged = true;
    this.actions.push({ type: 'power-on', host: host.name, reason, message });
  }

  powerOff(host: HostState, reason: ReasonCode, message: string): void {
    this.leavePlacement(host);
    host.powerState = 'off';
    host.powerChanged = true;
    this.actions.push({ type: 'power-off', host: host.name, reason, message });
  }

  alert(reason: ReasonCode, message: string, host?: HostState): void {
    this.actions.push(host ? { type: 'alert', host: host.name, reason, message } : { type: 'alert', reason, message });
  }

  enterPlacement(host: HostState): void {
    if (host.entry) return;
    host.entry = { load: host.load, host };
    this.placement.insert(host.entry);
  }

  leavePlacement(host: HostState): void {
    if (!host.entry) return;
    this.placement.eraseElementByKey(host.entry);
    host.entry = null;
  }

  /** The most loaded placement host whose load is at most `maxLoad`, then the next ones down. */
  *hostsDownFrom(maxLoad: number): Generator<HostState> {
    const it = this.placement.reverseLowerBound({ load: maxLoad + EPSILON, host: LAST_NAME });
    // js-sdsl hands back a forward iterator positioned on the bound (or end() when none): walk it backwards.
    if (it.equals(this.placement.end())) return;
    for (;;) {
      yield it.pointer.host;
      if (it.equals(this.placement.begin())) return;
      it.pre();
    }
  }

  private addVm(host: HostState, vm: VmState, keepSorted: boolean): void {
    host.load += this.weightOn(vm, host);
    host.memoryUsedMiB += vm.snap.memoryMiB;
    const group = vm.snap.antiAffinityGroup;
    if (group) host.antiAffinity.set(group, (host.antiAffinity.get(group) ?? 0) + 1);
    if (!keepSorted) host.vms.push(vm);
    else host.vms.splice(insertionIndex(host.vms, vm), 0, vm);
    this.reposition(host);
  }

  private removeVm(host: HostState, vm: VmState): void {
    host.load = Math.max(0, host.load - this.weightOn(vm, host));
    host.memoryUsedMiB -= vm.snap.memoryMiB;
    const group = vm.snap.antiAffinityGroup;
    if (group) host.antiAffinity.set(group, (host.antiAffinity.get(group) ?? 1) - 1);
    host.vms.splice(host.vms.indexOf(vm), 1);
    this.reposition(host);
  }

  private reposition(host: HostState): void {
    if (!host.entry) return;
    this.leavePlacement(host);
    this.enterPlacement(host);
  }
}

/** A host name that sorts after every real one, for bound searches by load alone. */
const LAST_NAME = { name: '\u{10FFFF}' } as HostState;

function insertionIndex(vms: VmState[], vm: VmState): number {
  let lo = 0;
  let hi = vms.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareVms(vms[mid], vm) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first VM (heaviest first) whose demand is at most `maxDemand`. */
export function firstAtMost(vms: readonly VmState[], maxDemand: number): number {
  let lo = 0;
  let hi = vms.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (vms[mid].demand > maxDemand + EPSILON) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
