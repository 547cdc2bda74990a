/**
 * One vCPU runs on one core, so a VM whose vCPUs ask more than a host's core gives is short of
 * CPU however idle the host is — an overload the host's regression never sees, since it sums
 * the whole host. Where hosts differ in core speed (CloudSim's G4 cores give 1,860 MIPS, its
 * G5 cores 2,660; a 2,500-MIPS vCPU outgrows a G4 core at 75 %), tide treats it like a host
 * overload, with the same hysteresis:
 *
 * - detect: a vCPU whose demand now × the detection factor exceeds its core moves;
 * - admit: a host with slower cores than the vCPU's nominal speed takes the VM only if the
 *   VM's busiest recent sample × the admission factor fits its core, so a VM placed now is
 *   not pushed out again by its next peak.
 *
 * Only when both speeds are known (HostSnapshot.coreMips, VmSnapshot.vcpuMips).
 */
import { listNames, num } from '../explain.ts';
import { vmBlocked } from '../filters.ts';
import { describePlacement, findPowerAwareHost, type PlacementRules } from './placement.ts';
import { powerOnForStuckVms } from './power.ts';
import type { ClusterState, HostState, VmState } from '../cluster.ts';

/** MIPS one vCPU asks for at `loadPercent`. */
function vcpuDemandMips(vm: VmState, loadPercent: number): number {
  return (Math.max(0, loadPercent) / 100) * (vm.snap.vcpuMips ?? 0);
}

/** Does the VM's vCPU demand now × `factor` exceed the host's core? */
export function outgrowsCore(host: HostState, vm: VmState, factor: number): boolean {
  const core = host.snap.coreMips;
  return core !== undefined && vm.snap.vcpuMips !== undefined && vcpuDemandMips(vm, vm.snap.cpuLoadPercent) * factor > core;
}

export class CoreAdmission {
  private readonly peaks = new Map<VmState, number>();

  /**
   * @param window samples of the VM's history that count; @param factor headroom on the core;
   * @param coldFactor headroom while the VM has fewer than `window` samples (its peaks are
   * not known yet; Infinity: not on a slower core at all).
   */
  constructor(readonly window: number, readonly factor: number, readonly coldFactor: number) {}

  /** The VM's busiest vCPU demand over the last `window` samples and now, MIPS. */
  peakMips(vm: VmState): number {
    let peak = this.peaks.get(vm);
    if (peak === undefined) {
      const history = vm.snap.cpuHistory ?? [];
      let load = vm.snap.cpuLoadPercent;
      for (let i = Math.max(0, history.length - this.window); i < history.length; i++) load = Math.max(load, history[i]);
      peak = vcpuDemandMips(vm, load);
      this.peaks.set(vm, peak);
    }
    return peak;
  }

  /** May `host` take `vm` as far as its cores go? Hosts as fast as the VM's vCPUs always may. */
  admits(host: HostState, vm: VmState): boolean {
    const core = host.snap.coreMips;
    const nominal = vm.snap.vcpuMips;
    if (core === undefined || nominal === undefined || core >= nominal) return true;
    const known = (vm.snap.cpuHistory?.length ?? 0) >= this.window;
    return this.peakMips(vm) * (known ? this.factor : this.coldFactor) <= core;
  }
}

export interface CoreRelief {
  /** Hosts that received VMs: not emptied in the same plan. */
  receivers: Set<HostState>;
  summary: string | null;
}

/** Moves every VM whose vCPUs outgrow their host's cores to a host whose cores serve them. */
export function relieveOutgrownCores(c: ClusterState, place: PlacementRules, detectFactor: number): CoreRelief {
  const receivers = new Set<HostState>();
  const stuck: VmState[] = [];
  let moved = 0;
  const outgrown = c.vms.filter((vm) => vm.host.powerState === 'on' && outgrowsCore(vm.host, vm, detectFactor) && !vmBlocked(c, vm));
  for (const vm of outgrown.sort((a, b) => b.demand - a.demand || (a.name < b.name ? -1 : 1))) {
    if (c.migrationCapReached()) break;
    const from = vm.host;
    const target = findPowerAwareHost(place, vm, new Set([from]));
    if (!target) {
      stuck.push(vm);
      continue;
    }
    const asks = num(vcpuDemandMips(vm, vm.snap.cpuLoadPercent));
    c.migrate(vm, target.host, 'Overloaded',
      `migrate ${vm.name} ${from.name}→${target.host.name}: a vCPU of ${vm.name} asks ${asks} MIPS (×${detectFactor}) of ${from.name}'s ${num(from.snap.coreMips ?? 0)}-MIPS cores; ${describePlacement(target, place)}`);
    receivers.add(target.host);
    moved++;
  }
  const waking = powerOnForStuckVms(place, stuck);
  if (stuck.length) c.alert('Blocked', `no host with cores fast enough can take ${listNames(stuck.map((vm) => vm.name))}: they stay on cores slower than they ask (${waking})`);
  const summary = moved || stuck.length ? `${moved} VMs moved to faster cores${stuck.length ? `, ${stuck.length} found none` : ''}` : null;
  return { receivers, summary };
}
