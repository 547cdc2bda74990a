/**
 * A CloudSim-compatible data centre driven by PlanetLab traces: hosts of SPECpower models,
 * one VM per trace, a planning round every scheduling interval, live migrations that take
 * RAM / bandwidth time and degrade the migrating VM by 10 %, hosts that draw nothing while
 * empty. Time advances interval by interval; inside an interval it stops only where CloudSim
 * updates its hosts (when a migration ends), so metrics and energy match its bookkeeping.
 *
 * Realistic mode changes the world, not the bookkeeping: migrations are pre-copy rounds over
 * host links they share (migration-model.ts; a busy VM, or one moving beside others through
 * the same host, takes longer), and a host boots for its type's bootSeconds before it takes
 * VMs and draws idle watts for shutdownSeconds after it is powered off.
 *
 * Snapshot units: the planner weighs a VM on a host as load × vCPUs / cores. CloudSim's hosts
 * and VMs differ in MIPS, so snapshots give cores and vCPUs in units of 1,000 MIPS (a G4 host
 * with 2 × 1,860 MIPS has 3.72 such cores, a 2,500-MIPS VM 2.5 such vCPUs), which makes that
 * weight the VM's share of the host's MIPS exactly. Hosts also carry their core's MIPS and
 * SPECpower curve, VMs their vCPU's MIPS, for the per-core limit and power-aware scoring.
 *
 * Memory: in realistic mode a VM's footprint (what it holds on its host, what a migration
 * copies, what the planner sees) follows its trace's memory column when there is one, and is
 * its full size otherwise; the initial placement reserves the full size, as CloudSim does. In
 * compatibility mode memory never limits a move, so the memory column is ignored.
 */
import { allocateHost, type MigrationRole, type VmRequest } from './allocation.ts';
import { placeInitially, type InitialPlacement } from './placement.ts';
import { DEFAULT_BOOT_SECONDS, DEFAULT_SHUTDOWN_SECONDS, hostTypeOf, migrationSeconds, vmTypeOf, type DatacentreSetup, type HostType, type VmType } from './setup.ts';
import { dirtyMiBps, linkMiBps, PreCopyNetwork, REALISTIC_PRECOPY } from './migration-model.ts';
import { tablePower, type PowerModel } from '../power-model.ts';
import { memoryFootprintMiB, sampleAt, type Trace } from '../trace.ts';
import type { HostSnapshot, Plan, Snapshot, VmSnapshot } from '../../planner/types.ts';
import type { SpanRecorder } from '../metrics/recorder.ts';

/** MIPS per snapshot "core" (see the header). */
export const SNAPSHOT_MIPS_PER_CORE = 1000;
/** Samples of history a VM carries in snapshots (CloudSim's PowerVm.HISTORY_LENGTH). */
export const HISTORY_LENGTH = 30;
/** CloudSim's scheduling events run at 300.1 s, 600.1 s, …: the broker submits at 0.1 s. */
const CLOUDSIM_UPDATE_OFFSET_SECONDS = 0.1;

export interface DcHost {
  readonly index: number;
  readonly name: string;
  readonly type: HostType;
  readonly power: PowerModel;
  readonly capacityMips: number;
  /** Realistic mode only: in compatibility mode every host is available, off exactly when empty. */
  powerState: 'on' | 'off' | 'booting' | 'shutting-down';
  /** Realistic mode: when a booting host takes VMs, and when a shutting-down one is off (simulated seconds). */
  bootEndsAt?: number;
  offAt?: number;
  /** VMs running here, those migrating out included. */
  resident: DcVm[];
  incoming: DcVm[];
  /** Was the host active at its last recorded span (for CloudSim's host-shutdown count)? */
  wasActive: boolean;
  /** A plan powered the host off while its VMs were still migrating away. */
  offWhenEmpty?: boolean;
}

export interface DcVm {
  readonly index: number;
  readonly name: string;
  readonly type: VmType;
  readonly samples: readonly number[];
  /** Memory use in % of the VM's size, per sample, when the trace has a memory column. */
  readonly memory?: readonly number[];
  host: DcHost;
  migration?: { to: DcHost; startedAt: number; endsAt: number };
  lastMigratedAtMs?: number;
}

export class TraceDatacentre {
  readonly hosts: DcHost[];
  readonly vms: DcVm[];
  readonly intervals: number;
  private readonly totalVmMemoryMiB: number;
  /** VMs CloudSim would have removed (compatibility mode): no longer placed or planned. */
  readonly retired = new Set<DcVm>();
  /** Seconds each finished migration took, in the order they ended (the benchmark reports them). */
  readonly migrationSeconds: number[] = [];
  /** Realistic mode's migrations in flight, keyed by VM index. */
  private readonly network?: PreCopyNetwork;

  constructor(
    traces: readonly Trace[],
    readonly setup: DatacentreSetup,
    initialPlacement: InitialPlacement = 'power-aware',
    /** Epoch ms of simulated time 0, for the snapshots' clock. */
    readonly epochMs = 0,
  ) {
    const types = traces.map((_, i) => vmTypeOf(setup, i, traces.length));
    const placement = placeInitially(setup, types, initialPlacement, traces.map((t) => t.name));
    this.hosts = Array.from({ length: setup.hostCount }, (_, i) => {
      const type = hostTypeOf(setup, i);
      const off = setup.hostsOffAtStart?.includes(i) ?? false;
      const name = setup.hostNames?.[i] ?? `host-${i}`;
      return { index: i, name, type, power: tablePower(type.watts, type.model), capacityMips: type.coreMips * type.cores, powerState: off ? 'off' : 'on', resident: [], incoming: [], wasActive: !off };
    });
    this.vms = traces.map((trace, i) => {
      const host = this.hosts[placement[i]];
      const vm: DcVm = { index: i, name: trace.name, type: types[i], samples: trace.samples, ...(trace.memory && { memory: trace.memory }), host };
      host.resident.push(vm);
      return vm;
    });
    const shortest = Math.min(...traces.map((t) => t.samples.length));
    this.intervals = Math.min(shortest, Math.floor(setup.durationSeconds / setup.intervalSeconds));
    this.totalVmMemoryMiB = types.reduce((sum, t) => sum + t.memoryMiB, 0);
    if (!setup.cloudsimCompat) {
      const params = setup.migration ?? REALISTIC_PRECOPY;
      this.network = new PreCopyNetwork((h) => linkMiBps(this.hosts[h].type.bandwidthMbps, params), params);
    }
  }

  /** Sample `k` of a VM's trace in %, interpolated toward the next one by `phase` ∈ [0, 1]. */
  loadAt(vm: DcVm, k: number, phase = 0): number {
    const here = sampleAt(vm.samples, k);
    if (phase === 0) return here;
    return here + (sampleAt(vm.samples, k + 1) - here) * phase;
  }

  /** MiB the VM holds during interval `k` (see the header: its full size in compatibility mode). */
  footprintMiB(vm: DcVm, k: number): number {
    return this.setup.cloudsimCompat ? vm.type.memoryMiB : memoryFootprintMiB(vm.type.memoryMiB, vm.memory, k);
  }

  requestedMips(vm: DcVm, k: number, phase = 0): number {
    return (this.loadAt(vm, k, phase) / 100) * vm.type.mips * vm.type.vcpus;
  }

  atMs(k: number): number {
    return this.epochMs + k * this.setup.intervalSeconds * 1000;
  }

  /** What the planner sees at the start of interval `k`. */
  snapshot(k: number): Snapshot {
    const hosts: HostSnapshot[] = this.hosts.map((h) => ({
      name: h.name,
      cpuCores: h.capacityMips / SNAPSHOT_MIPS_PER_CORE,
      // CloudSim compatibility: placed VMs request no RAM, so memory never limits a move.
      memoryMiB: this.setup.cloudsimCompat ? this.totalVmMemoryMiB : h.type.memoryMiB,
      powerState: h.offWhenEmpty ? 'shutting-down' : h.powerState,
      standbyAllowed: true,
      maintenance: false,
      idleWatts: h.power.idleWatts,
      peakWatts: h.power.peakWatts,
      powerCurveWatts: [...h.type.watts],
      coreMips: h.type.coreMips,
    }));
    const vms: VmSnapshot[] = this.vms.filter((vm) => !this.retired.has(vm)).map((vm) => ({
      name: vm.name,
      host: vm.host.name,
      vcpus: (vm.type.mips * vm.type.vcpus) / SNAPSHOT_MIPS_PER_CORE,
      vcpuMips: vm.type.mips,
      memoryMiB: this.footprintMiB(vm, k),
      cpuLoadPercent: this.loadAt(vm, k),
      // A VM still copying its memory cannot start another migration.
      doNotMigrate: vm.migration !== undefined,
      cpuHistory: vm.samples.slice(Math.max(0, k + 1 - HISTORY_LENGTH), k + 1),
      ...(vm.lastMigratedAtMs !== undefined ? { lastMigratedAtMs: vm.lastMigratedAtMs } : {}),
    }));
    return { atMs: this.atMs(k), hosts, vms };
  }

  /** Starts a plan's migrations and power actions at the start of interval `k`; returns migrations started. */
  apply(plan: Plan, k: number): number {
    const now = k * this.setup.intervalSeconds;
    const hostByName = new Map(this.hosts.map((h) => [h.name, h]));
    const vmByName = new Map(this.vms.map((v) => [v.name, v]));
    let started = 0;
    for (const action of plan.actions) {
      if (action.type === 'migrate') {
        const vm = vmByName.get(action.vm);
        const to = hostByName.get(action.to);
        if (!vm || !to) throw new Error(`plan names an unknown VM or host: ${action.vm} → ${action.to}`);
        if (vm.migration || vm.host.name !== action.from || to.powerState !== 'on' || to === vm.host) {
          throw new Error(`cannot start migration of ${vm.name} ${action.from}→${action.to}: VM on ${vm.host.name}${vm.migration ? ', already migrating' : ''}, target ${to.powerState}`);
        }
        if (this.network) {
          const request = { id: vm.index, source: vm.host.index, destination: to.index, memoryMiB: this.footprintMiB(vm, k), dirtyMiBps: dirtyMiBps(this.loadAt(vm, k), vm.type.vcpus, this.network.params) };
          this.network.start(now, request);
          // When it ends depends on what else moves through its hosts: set once all have started.
          vm.migration = { to, startedAt: now, endsAt: Infinity };
        } else {
          vm.migration = { to, startedAt: now, endsAt: now + migrationSeconds(this.footprintMiB(vm, k), to.type.bandwidthMbps) };
        }
        to.incoming.push(vm);
        started++;
      } else if (action.type === 'power-off' || action.type === 'power-on') {
        const host = hostByName.get(action.host);
        if (!host) throw new Error(`plan powers an unknown host ${action.host}`);
        // CloudSim has no power states: a host is off exactly while it is empty, and wakes
        // instantly for a VM. Compatibility mode keeps that, so power actions change nothing.
        if (this.setup.cloudsimCompat) continue;
        if (action.type === 'power-on') {
          // It takes VMs from the first round after its boot (the next one, for a boot shorter than a round).
          host.powerState = 'booting';
          host.bootEndsAt = now + (host.type.bootSeconds ?? DEFAULT_BOOT_SECONDS);
          host.offWhenEmpty = false;
          host.offAt = undefined;
        } else if (host.incoming.length || host.resident.some((vm) => !vm.migration)) {
          throw new Error(`cannot power off ${host.name}: it holds VMs that are not leaving`);
        } else if (host.resident.length) {
          // The plan empties the host first: it goes off when its last migration ends.
          host.offWhenEmpty = true;
        } else {
          this.shutDown(host, now);
        }
      }
    }
    // Rates change only when a migration starts or ends, so these ends hold until the next round's starts.
    if (this.network && started > 0) for (const end of this.network.predict()) this.vms[end.id].migration!.endsAt = end.endsAt;
    return started;
  }

  /** Realistic mode: the host draws idle watts for its shutdown time, then nothing. */
  private shutDown(host: DcHost, at: number): void {
    host.powerState = 'shutting-down';
    host.offAt = at + (host.type.shutdownSeconds ?? DEFAULT_SHUTDOWN_SECONDS);
    host.offWhenEmpty = false;
  }

  /** Runs interval `k` to its end, reporting every span to `record`. */
  run(k: number, record: SpanRecorder): void {
    const interval = this.setup.intervalSeconds;
    const start = k * interval;
    const end = start + interval;
    const stops = [...new Set(this.vms.filter((v) => v.migration && v.migration.endsAt < end).map((v) => v.migration!.endsAt))].sort((a, b) => a - b);
    let from = start;
    for (const to of [...stops, end]) {
      this.recordSpan(k, from - start, to - start, record);
      this.finishMigrations(to);
      if (this.setup.cloudsimCompat) this.retireIdleVms(to);
      for (const host of this.hosts) if (host.powerState === 'shutting-down' && host.offAt! <= to) host.powerState = 'off';
      from = to;
    }
    for (const host of this.hosts) if (host.powerState === 'booting' && host.bootEndsAt! <= end) host.powerState = 'on';
  }

  private recordSpan(k: number, fromOffset: number, toOffset: number, record: SpanRecorder): void {
    const interval = this.setup.intervalSeconds;
    const seconds = toOffset - fromOffset;
    if (seconds <= 0) return;
    for (const host of this.hosts) {
      const members = [...host.resident, ...host.incoming];
      if (members.length === 0) {
        if (host.wasActive) record.shutdown();
        host.wasActive = false;
        // Realistic mode: an empty host that is on, booting or shutting down still draws its idle watts.
        if (!this.setup.cloudsimCompat && host.powerState !== 'off') {
          const poweredSeconds = host.powerState === 'shutting-down' ? Math.min(seconds, host.offAt! - (k * interval + fromOffset)) : seconds;
          if (poweredSeconds > 0) record.idle(host, poweredSeconds);
        }
        continue;
      }
      const roles: MigrationRole[] = members.map((vm) => (vm.host !== host ? 'in' : vm.migration ? 'out' : 'resident'));
      const requests = (phase: number): VmRequest[] =>
        members.map((vm, i) => ({ requestedMips: this.requestedMips(vm, k, phase), vcpus: vm.type.vcpus, role: roles[i] }));
      const degradation = this.setup.migrationDegradation;
      const startRequests = requests(fromOffset / interval);
      const atStart = allocateHost(host.capacityMips, host.type.coreMips, startRequests, degradation);
      const atEnd = allocateHost(host.capacityMips, host.type.coreMips, requests(toOffset / interval), degradation);
      const active = atStart.utilisationMips > 0;
      if (this.overCapacity(host, members, k, atStart.unservedMips, atEnd.unservedMips)) record.overCapacity(seconds);
      if (host.wasActive && !active) record.shutdown();
      host.wasActive = active;
      record.host(host, seconds, atStart, atEnd.utilisationMips / host.capacityMips);
      members.forEach((_vm, i) => {
        // CloudSim records a migrating VM's history on its source only.
        if (roles[i] !== 'in') record.vm(seconds, atStart.allocated[i], startRequests[i].requestedMips, roles[i] === 'out');
      });
    }
  }

  /**
   * Did the host hold more than it has during a span: VMs asking more CPU than it gave them (at
   * the span's start or end, which is where energy is measured; a vCPU asking more than a core
   * included), or, in realistic mode, more VM memory than its RAM (a VM migrating in holds its
   * memory on both hosts)? The oracle's lower bound holds for runs that never do
   * (oracle/lower-bound.ts).
   */
  private overCapacity(host: DcHost, members: readonly DcVm[], k: number, unservedAtStart: number, unservedAtEnd: number): boolean {
    const tolerance = 1e-6 * host.capacityMips;
    if (unservedAtStart > tolerance || unservedAtEnd > tolerance) return true;
    if (this.setup.cloudsimCompat) return false;
    return members.reduce((sum, vm) => sum + this.footprintMiB(vm, k), 0) > host.type.memoryMiB;
  }

  /**
   * CloudSim's PowerDatacenter removes, at every update, each VM that is not migrating and
   * requests exactly 0 MIPS ("Remove completed VMs": HostDynamicWorkload.getCompletedVms):
   * a PlanetLab VM whose trace touches 0 % at an update leaves the simulation for good. Its
   * figures, energy included, depend on that, so compatibility mode does the same. CloudSim's
   * updates fall 0.1 s after each interval boundary, so "exactly 0" means the trace is 0 at
   * both samples around that instant.
   */
  private retireIdleVms(atSeconds: number): void {
    const interval = this.setup.intervalSeconds;
    const when = atSeconds + CLOUDSIM_UPDATE_OFFSET_SECONDS;
    const k = Math.floor(when / interval);
    const phase = when / interval - k;
    for (const host of this.hosts) {
      if (host.resident.length === 0) continue;
      host.resident = host.resident.filter((vm) => {
        const idle = !vm.migration && this.requestedMips(vm, k, phase) === 0;
        if (idle) this.retired.add(vm);
        return !idle;
      });
    }
  }

  private finishMigrations(at: number): void {
    for (const vm of this.vms) {
      const m = vm.migration;
      if (!m || m.endsAt > at) continue;
      const from = vm.host;
      from.resident.splice(from.resident.indexOf(vm), 1);
      m.to.incoming.splice(m.to.incoming.indexOf(vm), 1);
      m.to.resident.push(vm);
      vm.host = m.to;
      vm.migration = undefined;
      this.migrationSeconds.push(at - m.startedAt);
      if (this.network) {
        // The network ends it at the same instant (the same arithmetic that predicted `endsAt`);
        // it must see the link busy until then, so it is advanced rather than told to drop it.
        this.network.advance(at);
        if (this.network.remove(vm.index)) throw new Error(`migration of ${vm.name} ended at ${at} s, but the link model still has it in flight`);
      }
      if (from.offWhenEmpty && from.resident.length === 0) this.shutDown(from, at);
      vm.lastMigratedAtMs = this.epochMs + Math.round(at * 1000);
    }
  }
}
