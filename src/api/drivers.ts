/**
 * The small interfaces between the controller and the world. The simulator (src/sim), the
 * libvirt-over-SSH driver (src/hypervisor) and the power drivers (src/power) implement them;
 * the controller only ever talks to these.
 *
 * Units: CPU load is a percentage (0–100) of the thing it describes — a host's load is a
 * percentage of all its cores, a domain's load a percentage of its own vCPUs. Memory is in MiB,
 * power in watts, energy in watt-hours, times in milliseconds since the epoch.
 */

/** What a driver needs to know about a host: its name and its PhysicalHost spec. */
export interface HostTarget {
  name: string;
  /** The PhysicalHost spec (see src/api/types.ts). Kept loose here so drivers stay decoupled. */
  spec: HostTargetSpec;
  /** Secret data the host's spec refers to (SSH key, known_hosts, IPMI credentials), already read. */
  secrets?: Record<string, string>;
}

export interface HostTargetSpec {
  address?: string;
  capacity: { cpuCores: number; memoryMiB: number };
  [key: string]: unknown;
}

export type DomainState = 'running' | 'paused' | 'shutoff' | 'migrating' | 'other';

export interface ObservedDomain {
  /** libvirt domain name. */
  name: string;
  state: DomainState;
  vcpus: number;
  memoryMiB: number;
  /** Percentage of the domain's own vCPUs, averaged over the last sampling interval. */
  cpuLoadPercent: number;
}

export type ObservedPowerState = 'on' | 'off' | 'booting' | 'shutting-down' | 'unknown';

export interface ObservedHost {
  name: string;
  /** Could the driver talk to the host's hypervisor at all? */
  reachable: boolean;
  powerState: ObservedPowerState;
  /** Percentage of all the host's cores, when reachable. */
  cpuLoadPercent?: number;
  memoryUsedMiB?: number;
  /**
   * Power draw, when the driver itself can read it (the simulator; a BMC). Hosts with a
   * ZigBee meter (spec.meter) get their watts from the meter agent instead.
   */
  watts?: number;
  domains: ObservedDomain[];
  /** Why the host could not be observed (unreachable, host key refused, bad reply …). */
  error?: string;
  /** A machine-readable reason for `error`, used as a condition reason (e.g. HostKeyMismatch). */
  errorReason?: string;
  observedAtMs: number;
}

/**
 * May the controller trust what this observation says about the host's domains? Only when the
 * hypervisor answered in full. A host whose observation failed in any way (unreachable, refused
 * host key, `virsh` failing while libvirtd restarts, a reply that cannot be parsed) is *not
 * observable*: its empty domain list means "unknown", never "empty". Such a host is never
 * planned as empty, never a migration target and never powered off.
 */
export function isObservable(observed: ObservedHost | undefined): boolean {
  return !!observed && observed.reachable && observed.error === undefined && observed.errorReason === undefined;
}

export interface MigrationRequest {
  domain: string;
  from: HostTarget;
  to: HostTarget;
  timeoutMs: number;
  /** Called as the migration progresses (0–100 % of memory copied, when the driver knows). */
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
}

export interface MigrationOutcome {
  domain: string;
  /** Where the domain was observed running once the attempt ended. */
  runningOn: string | null;
  succeeded: boolean;
  durationMs: number;
  /** Why it failed, when it did. */
  error?: string;
}

export interface HypervisorDriver {
  observeHost(host: HostTarget): Promise<ObservedHost>;
  /** Live-migrates a running domain; resolves with what was observed on both ends afterwards. */
  migrate(request: MigrationRequest): Promise<MigrationOutcome>;
  close(): Promise<void>;
}

/** Raised when a power action is not confirmed by observation within its timeout. */
export class PowerActionError extends Error {
  constructor(
    readonly host: string,
    readonly action: 'on' | 'off',
    message: string,
  ) {
    super(message);
    this.name = 'PowerActionError';
  }
}

/** The ways a host can be woken (PhysicalHost spec.power.onMethod and fallbackOnMethods). */
export type WakeMethod = 'WakeOnLAN' | 'IPMI';

export interface PowerDriver {
  /**
   * Powers the host on and resolves once it is observed up (or rejects with PowerActionError).
   * `method` says which of the host's power-on methods to use (default: its onMethod); a driver
   * with a single way to wake a host may ignore it.
   */
  powerOn(host: HostTarget, signal?: AbortSignal, method?: WakeMethod): Promise<void>;
  /**
   * Powers the host off and resolves once it is observed down. Implementations must refuse
   * (reject) when the hypervisor still reports a domain on the host: no VM is ever powered off.
   */
  powerOff(host: HostTarget, signal?: AbortSignal): Promise<void>;
}

/** One power-meter reading, as a meter source reports it. */
export interface MeterReading {
  /** The meter's id, e.g. a ZigBee IEEE address `0x00124b0001a2b3c4`. */
  meterId: string;
  watts?: number;
  /** Cumulative energy delivered, in watt-hours, when the meter reports it. */
  energyWh?: number;
  atMs: number;
  source: 'serial' | 'mqtt' | 'sim';
}

export interface MeterSource {
  start(onReading: (reading: MeterReading) => void): Promise<void>;
  stop(): Promise<void>;
}
