/**
 * The planner's input and output: plain data, no I/O, no clock. A snapshot is what the
 * controller (or the simulator) observed; a plan is what the planner wants done, in order,
 * each action with a machine-readable reason and one sentence a person can check.
 *
 * Units: a host's `cpuLoadPercent` is a percentage of all its cores; a VM's `cpuLoadPercent`
 * a percentage of its own vCPUs. A VM therefore weighs `cpuLoadPercent × vcpus / cpuCores`
 * points on a host — the unit the paper's d/2 rule is applied in (see planner README section).
 */

export type HostPowerState = 'on' | 'off' | 'booting' | 'shutting-down';

export interface HostSnapshot {
  name: string;
  cpuCores: number;
  memoryMiB: number;
  powerState: HostPowerState;
  /** May the planner power this host off to save energy? A host off without it is powered on. */
  standbyAllowed: boolean;
  /** Can Tide power this host on at all (a power-on method is configured)? Default true. */
  canPowerOn?: boolean;
  /**
   * Wakes of this host that failed in a row (every method tried). A host off with more is woken
   * only after those with fewer: when a wake fails, another standby host is woken instead.
   */
  failedWakes?: number;
  /**
   * Its last wakes all failed (the WakeFailing condition): it is not put in standby
   * (standbyAllowed is false), yet, unlike a host whose standby is not allowed, one that is off
   * is not powered on for that alone — only when load needs a host.
   */
  wakeFailing?: boolean;
  /** A host in maintenance receives no VM and is never powered on by the planner. */
  maintenance: boolean;
  /**
   * Move every VM that may move off this host (rules/evacuate.ts): a PhysicalHost being removed,
   * in maintenance, or whose powerPolicy is Off. Implies what maintenance implies: the host
   * receives nothing and the planner never powers it on or off.
   */
  evacuate?: boolean;
  /**
   * Keep this host off (PhysicalHost powerPolicy: Off): it is evacuated as `evacuate` says, then
   * powered off once no VM at all runs on it (reason PowerPolicyOff, an administrator's order: no
   * cooldown, off-peak window, standbyAllowed or minHostsOn holds it), and never powered on.
   */
  keepOff?: boolean;
  /** Measured load of the whole host, when known; otherwise derived from its VMs. */
  cpuLoadPercent?: number;
  /** Power model for strategies that weigh watts (idle and full-load watts). */
  idleWatts?: number;
  peakWatts?: number;
  /**
   * Optional, for the power-aware strategies (lr-mmt, tide); the paper's rules ignore them.
   * powerCurveWatts: watts at 0 %, 10 %, … 100 % CPU (a SPECpower table, 11 figures), used
   * instead of the straight line from idle to peak. coreMips: MIPS of one core; with
   * VmSnapshot.vcpuMips it keeps a vCPU off a core slower than what it asks for (hosts that
   * differ in speed, as in CloudSim's PlanetLab data centre; see docs/strategies.md).
   */
  powerCurveWatts?: number[];
  coreMips?: number;
  /** Epoch ms of the host's last power action, for cooldowns. */
  lastPowerActionAtMs?: number;
}

export interface VmSnapshot {
  name: string;
  host: string;
  vcpus: number;
  memoryMiB: number;
  cpuLoadPercent: number;
  /** Host the VM must run on; a pinned VM never moves. */
  pinnedHost?: string;
  doNotMigrate: boolean;
  /** Mid-migration (its record unfinished, or its domain seen on two hosts): set with doNotMigrate, so that a plan can say why it stays. */
  migrating?: boolean;
  /** VMs sharing an affinity group prefer one host; sharing an anti-affinity group, different hosts. */
  affinityGroup?: string;
  antiAffinityGroup?: string;
  priority?: number;
  /** Epoch ms the VM last finished a migration, for cooldowns. */
  lastMigratedAtMs?: number;
  /** Recent load samples (oldest first), for strategies that forecast. */
  cpuHistory?: number[];
  /** Optional: MIPS of one vCPU (see HostSnapshot.coreMips). */
  vcpuMips?: number;
}

export interface Snapshot {
  /** The moment the snapshot describes (epoch ms). The planner's only notion of time. */
  atMs: number;
  hosts: HostSnapshot[];
  vms: VmSnapshot[];
}

export type StrategyName = 'paper' | 'lr-mmt' | 'npa' | 'tide';

export interface PlannerPolicy {
  strategy: StrategyName;
  /** Th1: average load of active hosts above which a host is powered on (paper: 80). */
  overloadThresholdPercent: number;
  /** Th2: consolidate when total load fits under this share of N−1 hosts' capacity (paper: 80). */
  consolidationThresholdPercent: number;
  /** Balance while hmax − hmin ≥ this many points (paper: 10). */
  balanceThresholdPercent: number;
  /** Never fewer active hosts than this. */
  minHostsOn: number;
  /** Cap on migrations in one plan (0 = no cap). */
  maxMigrationsPerPlan: number;
  /** A VM migrated less than this long ago is not moved again (ms; 0 = no cooldown). */
  migrationCooldownMs: number;
  /** A host powered on/off less than this long ago is not powered again (ms). */
  powerCooldownMs: number;
  /** Is consolidation (and powering hosts off) allowed now? False outside off-peak windows. */
  consolidationAllowed: boolean;
}

export type ActionType = 'migrate' | 'power-on' | 'power-off' | 'alert';

/** Machine-readable reasons; the human sentence is in `message`. */
export type ReasonCode =
  | 'Overloaded'          // average load over Th1: power a host on
  | 'OverloadedNoStandby' // over Th1 with no host to power on: alert
  | 'Consolidate'         // under Th2: evacuate the least-loaded host
  | 'EmptyHost'           // host emptied by consolidation: power it off
  | 'Balance'             // differencing balance: hmax − hmin ≥ d
  | 'HostOverCapacity'    // a host is over its CPU or memory capacity
  | 'PinnedElsewhere'     // a pinned VM is not on its pinned host
  | 'StandbyNotAllowed'   // a host is off although standby is no longer allowed: power it on
  | 'Evacuate'            // a host marked evacuate is emptied (migrate), or needs a standby host's room (power-on)
  | 'PowerPolicyOff'      // a host whose powerPolicy is Off is empty: power it off
  | 'Manual'              // asked for by a VirtualMachineMigration (planner/manual.ts)
  | 'Blocked';            // a wanted action could not be taken (alert explains why)

interface ActionBase {
  type: ActionType;
  reason: ReasonCode;
  /** One sentence with the numbers that drove the decision. */
  message: string;
}

export interface MigrateAction extends ActionBase {
  type: 'migrate';
  vm: string;
  from: string;
  to: string;
  /** uid of the VirtualMachineMigration that asked for it (reason Manual); absent for the planner's own moves. */
  requestUid?: string;
}

export interface PowerOnAction extends ActionBase {
  type: 'power-on';
  host: string;
}

export interface PowerOffAction extends ActionBase {
  type: 'power-off';
  host: string;
}

export interface AlertAction extends ActionBase {
  type: 'alert';
  host?: string;
}

export type Action = MigrateAction | PowerOnAction | PowerOffAction | AlertAction;

/** Where the evacuation of one host stands after a plan: what leaves now, what stays and why. */
export interface EvacuationReport {
  host: string;
  /** VMs this plan migrates off the host. */
  moving: string[];
  /** VMs left on the host, each with why it does not move in this plan. */
  staying: { vm: string; why: string }[];
}

export interface Plan {
  strategy: StrategyName;
  actions: Action[];
  /** Why nothing (more) was done, e.g. "balanced: d = 4 < 10". Always set, even with actions. */
  summary: string;
  /** One report per on host marked `evacuate` (absent when there is none). */
  evacuations?: EvacuationReport[];
}
