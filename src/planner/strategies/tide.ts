/**
 * tide: Tide's own consolidation strategy, built to beat lr-mmt on ESV (energy × SLA
 * violation) with fewer migrations. It keeps Beloglazov's skeleton — relieve hosts the
 * regression calls overloaded, then empty underloaded hosts — and changes what makes lr-mmt
 * churn:
 *
 * - Hysteresis through headroom: a host counts as overloaded when the regression × 1.1
 *   reaches 100 %, but takes a VM only if the regression × 1.6 stays below 100 % with the VM
 *   on it. The band between the two keeps a VM placed now from overloading its new host next
 *   round and being moved again (ping-pong): without it the PlanetLab days take about eight
 *   times the migrations, and every migration costs SLA twice in CloudSim's metrics (PDM on
 *   the VM, SLATAH on the target while it receives).
 * - Only underloaded hosts (below 60 %) are emptied: emptying a busier host costs more moves
 *   than its idle watts are worth, and its VMs are the ones most likely to overload a target.
 * - A host of idle VMs is not "off" (as CloudSim counts it): it draws idle watts, so it is
 *   emptied like any underloaded host.
 * - Best fit on memory too: among targets that add about the same watts, the one whose memory
 *   the VM fills best (10 W per host's worth of memory left free). When memory is enforced it is
 *   what binds, and packing it tightly is what leaves whole hosts to switch off.
 * - Waking a host costs its idle watts: VMs leaving an overloaded host go to a host already
 *   on when one has headroom, and only then to an empty one (lr-mmt counts only the watts the
 *   VM adds, so it wakes hosts freely).
 * - A vCPU gets one core: a VM whose vCPU outgrows a slower host's core is short of CPU however
 *   idle the host is, which the host's regression does not see. Such a VM moves to faster cores,
 *   and a slower core takes a VM only if its busiest recent sample × 1.2 fits, never while its
 *   history is too short to know its peaks (core-fit.ts). In the realistic mode, where memory
 *   packs hosts with VMs, this was most of tide's SLA violation.
 * - The underloaded hosts with the fewest VMs are emptied first: as many hosts freed for fewer
 *   migrations (each costs SLA on its VM and its target).
 * - When memory, not CPU, decides how many hosts must run, a host's idle watts are the price of
 *   its memory: a target is also charged the VM's share of its idle watts (by the memory the VM
 *   takes), so between hosts that add about the same watts the one that idles cheaper per MiB
 *   takes the VM. Where CPU binds (CloudSim's world) nothing changes.
 *
 * Tuned on the three shared PlanetLab days (docs/strategies.md has the table); the policy's
 * migration cooldown and cap apply as in every strategy.
 */
import { OverloadDetector, LR_DEFAULTS } from '../power-aware/overload.ts';
import { evacuateUnderloadedHosts, relieveOverloadedHosts } from '../power-aware/consolidation.ts';
import { powerOffEmptyHosts } from '../power-aware/power.ts';
import { wattsAt, type PlacementRules } from '../power-aware/placement.ts';
import { CoreAdmission, relieveOutgrownCores } from '../power-aware/core-fit.ts';
import type { ClusterState, HostState, VmState } from '../cluster.ts';
import type { Strategy } from '../strategy.ts';

export interface TideParameters {
  /** Safety factor of the regression that detects overload (lr-mmt: 1.2). */
  detectSafety: number;
  /** Safety factor a target must pass with the VM on it (headroom; lr-mmt: 1.2). */
  targetSafety: number;
  /** Only hosts below this load (%) are emptied (lr-mmt: every host below 100 %). */
  evacuateBelowPercent: number;
  /** Cost of waking an empty host, as a share of its idle watts (lr-mmt: 0). */
  wakeCostShare: number;
  /** Watts charged for a whole host's memory left free by a placement: best fit on memory (lr-mmt: 0). */
  memoryFitWatts: number;
  /** A vCPU moves when its demand × this exceeds its core (core-fit.ts; 0: never). */
  coreDetectSafety: number;
  /** A slower core takes a vCPU only if its busiest recent sample × this fits (0: no check). */
  coreAdmitSafety: number;
  /** Samples of a VM's history whose peak counts for core admission. */
  coreWindow: number;
  /** Headroom on a slower core while a VM has fewer than coreWindow samples (Infinity: not at all). */
  coreColdSafety: number;
  /** Empty the underloaded hosts with the fewest VMs first (then the least utilised): fewer moves per host freed. */
  fewestVmsFirst: boolean;
  /**
   * When memory binds (the VMs fill a larger share of the hosts' memory than of their CPU), a
   * target is charged this share of its idle watts × the share of its memory the VM takes (0: never).
   */
  memoryIdleShare: number;
}

export const TIDE_DEFAULTS: Readonly<TideParameters> = Object.freeze({
  detectSafety: 1.1,
  targetSafety: 1.6,
  evacuateBelowPercent: 60,
  wakeCostShare: 1,
  memoryFitWatts: 10,
  coreDetectSafety: 1,
  coreAdmitSafety: 1.2,
  coreWindow: 10,
  coreColdSafety: Infinity,
  fewestVmsFirst: true,
  memoryIdleShare: 1,
});

/** Do the VMs fill a larger share of the hosts' memory than of their CPU (all hosts, on or off)? */
export function memoryBinds(c: ClusterState): boolean {
  let memory = 0;
  let cores = 0;
  for (const h of c.hosts) {
    memory += h.snap.memoryMiB;
    cores += h.cores;
  }
  let usedMemory = 0;
  let usedCores = 0;
  for (const vm of c.vms) {
    usedMemory += vm.snap.memoryMiB;
    usedCores += vm.demand;
  }
  return memory > 0 && cores > 0 && usedMemory / memory > usedCores / cores;
}

export function tideRules(c: ClusterState, p: TideParameters): { detect: PlacementRules; place: PlacementRules } {
  const startLoad = new Map(c.hosts.map((h) => [h, h.load]));
  const idleShare = p.memoryIdleShare > 0 && memoryBinds(c) ? p.memoryIdleShare : 0;
  const cores = p.coreAdmitSafety > 0 ? new CoreAdmission(p.coreWindow, p.coreAdmitSafety, p.coreColdSafety) : null;
  const detect: PlacementRules = { c, startLoad, overload: new OverloadDetector({ ...LR_DEFAULTS, safety: p.detectSafety }) };
  const place: PlacementRules = {
    c,
    startLoad,
    overload: new OverloadDetector({ ...LR_DEFAULTS, safety: p.targetSafety }),
    headroom: `keeps headroom (regression ×${p.targetSafety} < 100 %)`,
    extraCost: (host, vm) => {
      const wake = host.vms.length === 0 && (startLoad.get(host) ?? 0) === 0 ? p.wakeCostShare * wattsAt(host, 0) : 0;
      const memory = host.snap.memoryMiB;
      const freeAfter = memory > 0 ? (memory - host.memoryUsedMiB - vm.snap.memoryMiB) / memory : 0;
      const idle = memory > 0 ? idleShare * wattsAt(host, 0) * (vm.snap.memoryMiB / memory) : 0;
      return wake + p.memoryFitWatts * freeAfter + idle;
    },
    ...(cores && { admits: (host: HostState, vm: VmState) => cores.admits(host, vm) }),
  };
  return { detect, place };
}

export const tide: Strategy = {
  name: 'tide',
  description: 'Tide: regression overload detection, headroom on targets and on slower cores (hysteresis), empties only underloaded hosts (fewest VMs first), waking a host costs its idle watts, and where memory binds so does the memory a VM takes',
  plan: (c) => planTide(c, TIDE_DEFAULTS),
};

export function planTide(c: ClusterState, p: TideParameters): string {
  const { detect, place } = tideRules(c, p);
  const cores = p.coreDetectSafety > 0 ? relieveOutgrownCores(c, place, p.coreDetectSafety) : null;
  const relief = relieveOverloadedHosts(detect, place);
  const receivers = new Set([...relief.receivers, ...(cores?.receivers ?? [])]);
  const evacuation = evacuateUnderloadedHosts(place, relief.overloaded, receivers, {
    belowPercent: p.evacuateBelowPercent,
    idleIsOff: false,
    ...(p.fewestVmsFirst && { order: { compare: (a: HostState, b: HostState) => a.vms.length - b.vms.length, describe: 'the underloaded host with the fewest VMs left' } }),
  });
  return `tide: ${cores?.summary ? `${cores.summary}; ` : ''}${relief.summary}; ${evacuation}; ${powerOffEmptyHosts(c)}`;
}
