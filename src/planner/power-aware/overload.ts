/**
 * Overload detection by local regression (Beloglazov & Buyya 2012, CloudSim's
 * PowerVmAllocationPolicyMigrationLocalRegression): fit a line through the host's last 10
 * utilisation samples, extend it past the time the slowest migration off the host would take,
 * multiply by the safety parameter, and call the host overloaded when that reaches 100 %.
 * With fewer than 10 samples CloudSim falls back to a static threshold of 70 % on the load now.
 *
 * A host's history is rebuilt from the VMs on it (their whole history counts, wherever they
 * ran: CloudSim's PowerHostUtilizationHistory). Placement asks "overloaded with this VM
 * too?" for every host and VM, so each host's own sum is cached until its VMs change.
 */
import { fitLine, valueAt } from '../forecast/regression.ts';
import { pointsOn, vmDemandCores } from '../units.ts';
import type { HostState, VmState } from '../cluster.ts';

export const LR_WINDOW = 10;
export const LR_SAFETY = 1.2;
export const FALLBACK_THRESHOLD = 0.7;
/** CloudSim's setup: 5-minute rounds, migrations over half of a 1 Gbit/s link. */
export const ROUND_SECONDS = 300;
export const MIGRATION_LINK_MBPS = 1000;

export interface OverloadVerdict {
  overloaded: boolean;
  /** Predicted utilisation × safety (or the load now, for the fallback), as a fraction. */
  value: number;
  /** Too little history: the static threshold decided, on the load now. */
  fallback: boolean;
  opts: OverloadOptions;
}

/** "regression predicts 107 % ≥ 100 % (×1.2)" — for the action's message. (Built only when needed: placement judges thousands of hosts a round.) */
export function describeVerdict(v: OverloadVerdict): string {
  if (v.fallback) return `load ${pct(v.value)} ${v.overloaded ? '>' : '≤'} ${pct(v.opts.fallbackThreshold)} (fewer than ${v.opts.window} samples)`;
  return `regression predicts ${pct(v.value)} ${v.overloaded ? '≥' : '<'} 100 % (×${v.opts.safety})`;
}

export interface OverloadOptions {
  safety: number;
  fallbackThreshold: number;
  window: number;
}

export const LR_DEFAULTS: OverloadOptions = { safety: LR_SAFETY, fallbackThreshold: FALLBACK_THRESHOLD, window: LR_WINDOW };

/** Newest-first utilisation sums (fractions) of a set of VMs on a host, untrimmed. */
interface History {
  sums: number[];
  /** Samples at least one VM has. */
  length: number;
  /** Utilisation now. */
  now: number;
  maxMemoryMiB: number;
}

function emptyHistory(window: number): History {
  return { sums: new Array<number>(window).fill(0), length: 0, now: 0, maxMemoryMiB: 0 };
}

function addVm(history: History, host: HostState, vm: VmState): void {
  const h = vm.snap.cpuHistory ?? [];
  const n = Math.min(history.sums.length, h.length);
  const share = pointsOn(vmDemandCores({ cpuLoadPercent: 100, vcpus: vm.snap.vcpus }), host.snap) / 100 / 100;
  for (let i = 0; i < n; i++) history.sums[i] += h[h.length - 1 - i] * share;
  history.length = Math.max(history.length, n);
  history.now += pointsOn(vmDemandCores(vm.snap), host.snap) / 100;
  history.maxMemoryMiB = Math.max(history.maxMemoryMiB, vm.snap.memoryMiB);
}

export function migrationRounds(maxMemoryMiB: number): number {
  const seconds = maxMemoryMiB / ((MIGRATION_LINK_MBPS * 1000) / (2 * 8000));
  return Math.ceil(seconds / ROUND_SECONDS);
}

/**
 * The same load summed in another order can differ in its last bits (0.1 + 0.2 ≠ 0.3): a target
 * a placement judged at exactly 70 % was judged just over it the next round, with its VMs summed
 * in the order they then sat in, and relieved of the VM it had just taken — ping-pong, found by
 * the convergence property in test/planner/evacuate.test.ts. Both comparisons allow for that.
 */
const ROUNDING = 1e-9;

function judge(history: History, opts: OverloadOptions): OverloadVerdict {
  let n = history.length;
  // CloudSim trims the zeros at the old end of the summed history (MathUtil.trimZeroTail).
  while (n > 0 && history.sums[n - 1] === 0) n--;
  if (n < opts.window) {
    return { overloaded: history.now > opts.fallbackThreshold + ROUNDING, value: history.now, fallback: true, opts };
  }
  const line = fitLine(history.sums, opts.window, true)!;
  const predicted = valueAt(line, opts.window + migrationRounds(history.maxMemoryMiB)) * opts.safety;
  return { overloaded: predicted >= 1 - ROUNDING, value: predicted, fallback: false, opts };
}

/** Is `host` overloaded if it held exactly `vms`? */
export function detectOverload(host: HostState, vms: readonly VmState[], opts: OverloadOptions = LR_DEFAULTS): OverloadVerdict {
  const history = emptyHistory(opts.window);
  for (const vm of vms) addVm(history, host, vm);
  return judge(history, opts);
}

/** Per-round cache of each host's own history; valid while its VMs stay the same. */
export class OverloadDetector {
  private readonly cache = new Map<HostState, { vms: VmState[]; history: History }>();

  constructor(readonly opts: OverloadOptions = LR_DEFAULTS) {}

  private own(host: HostState): History {
    const hit = this.cache.get(host);
    if (hit && sameVms(hit.vms, host.vms)) return hit.history;
    const history = emptyHistory(this.opts.window);
    for (const vm of host.vms) addVm(history, host, vm);
    this.cache.set(host, { vms: [...host.vms], history });
    return history;
  }

  /** Overloaded as it is now. */
  now(host: HostState): OverloadVerdict {
    return judge(this.own(host), this.opts);
  }

  private readonly scratch: History = emptyHistory(LR_DEFAULTS.window);

  /** Overloaded if it also took `vm`? (Called for every host and VM: no allocation.) */
  with(host: HostState, vm: VmState): OverloadVerdict {
    const own = this.own(host);
    const h = this.scratch;
    if (h.sums.length !== own.sums.length) h.sums = new Array<number>(own.sums.length);
    for (let i = 0; i < own.sums.length; i++) h.sums[i] = own.sums[i];
    h.length = own.length;
    h.now = own.now;
    h.maxMemoryMiB = own.maxMemoryMiB;
    addVm(h, host, vm);
    return judge(h, this.opts);
  }

  /** Overloaded if it held exactly `vms`? (uncached) */
  of(host: HostState, vms: readonly VmState[]): OverloadVerdict {
    return detectOverload(host, vms, this.opts);
  }
}

function sameVms(a: readonly VmState[], b: readonly VmState[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function pct(fraction: number): string {
  return `${Math.round(fraction * 1000) / 10} %`;
}
