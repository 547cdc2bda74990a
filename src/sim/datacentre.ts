/**
 * A simulated data centre: hosts with power models, boot and shutdown times; VMs with load
 * timelines; live migrations that take time and draw extra power; energy integrated exactly
 * over simulated time. The core is synchronous and event-driven: advanceTo(t) walks from
 * event to event (migration done, boot done, a load change), so a day of 800 hosts costs
 * work per event and per load change, never per millisecond.
 *
 * Load model: a host's utilisation is Σ VM load × vCPUs / cores (capped at 100 %), plus
 * `migration.cpuPercent` points on each end of every live migration while it copies memory —
 * the extra power the paper measured during migrations comes from that CPU work.
 * Power states: off draws `offWatts`, booting and shutting down draw idle watts, on follows
 * the power model.
 */
import type { PowerModel } from './power-model.ts';
import type { LoadTimeline } from './load.ts';

export type SimPowerState = 'on' | 'off' | 'booting' | 'shutting-down';

export interface SimHostSpec {
  name: string;
  cpuCores: number;
  memoryMiB: number;
  power: PowerModel;
  offWatts: number;
  bootSeconds: number;
  shutdownSeconds: number;
  powerState: 'on' | 'off';
  standbyAllowed: boolean;
  maintenance: boolean;
  /** Meter id the simulated meter reports this host's watts under (like a ZigBee IEEE address). */
  meterId: string;
}

export interface SimVmSpec {
  name: string;
  host: string;
  vcpus: number;
  memoryMiB: number;
  load: LoadTimeline;
  pinnedHost?: string;
  doNotMigrate: boolean;
  antiAffinityGroup?: string;
}

export interface MigrationModel {
  /** Link speed available to one live migration, Mbit/s. */
  bandwidthMbps: number;
  /** Fixed cost of a migration (connection, final stop-and-copy, resume), seconds. */
  overheadSeconds: number;
  /** Points of CPU load a migration adds on its source and its target while it runs. */
  cpuPercent: number;
}

export interface SimHost {
  readonly spec: SimHostSpec;
  powerState: SimPowerState;
  vms: Set<SimVm>;
  /** Live migrations running from or to this host. */
  migrations: number;
  /** Memory promised to migrations on their way in. */
  incomingMiB: number;
  /** Utilisation in % of all cores, capped at 100 (what a meter and `top` would see). */
  utilisation: number;
  watts: number;
  /** Energy up to `since`; the meter adds watts × (now − since) on top. */
  energyWh: number;
  since: number;
  lastPowerActionAtMs?: number;
  /** Called when a boot or shutdown completes. */
  pendingPower?: { done: (error?: Error) => void; eventId: number };
}

export interface SimVm {
  readonly spec: SimVmSpec;
  host: SimHost;
  /** Current load, % of the VM's vCPUs. */
  load: number;
  migration?: SimMigration;
  lastMigratedAtMs?: number;
}

export interface SimMigration {
  vm: SimVm;
  from: SimHost;
  to: SimHost;
  startedAtMs: number;
  endsAtMs: number;
  eventId: number;
  done: (outcome: MigrationResult) => void;
}

export interface MigrationResult {
  succeeded: boolean;
  durationMs: number;
  error?: string;
}

export interface PowerSample {
  atMs: number;
  watts: number;
}

interface SimEvent {
  atMs: number;
  id: number;
  fire: () => void;
}

/** MiB → megabits: 1 MiB = 8 × 1.048576 Mbit. */
const MEGABITS_PER_MIB = 8.388608;

export class SimDataCentre {
  readonly hosts = new Map<string, SimHost>();
  readonly vms = new Map<string, SimVm>();
  /** Total watts as a step function: one sample each time the total changes. */
  readonly powerSeries: PowerSample[] = [];
  private events: SimEvent[] = [];
  private nextEventId = 1;
  private nowMs: number;
  private nextLoadChangeMs = Infinity;
  private totalWatts = 0;
  private totalEnergyWh = 0;

  constructor(
    hosts: readonly SimHostSpec[],
    vms: readonly SimVmSpec[],
    readonly migrationModel: MigrationModel,
    readonly startMs: number,
  ) {
    this.nowMs = startMs;
    for (const spec of hosts) {
      if (this.hosts.has(spec.name)) throw new Error(`host ${spec.name} is defined twice`);
      this.hosts.set(spec.name, { spec, powerState: spec.powerState, vms: new Set(), migrations: 0, incomingMiB: 0, utilisation: 0, watts: 0, energyWh: 0, since: startMs });
    }
    for (const spec of vms) {
      const host = this.hosts.get(spec.host);
      if (!host) throw new Error(`VM ${spec.name} is on unknown host ${spec.host}`);
      if (this.vms.has(spec.name)) throw new Error(`VM ${spec.name} is defined twice`);
      if (host.powerState !== 'on') throw new Error(`VM ${spec.name} is on ${spec.host}, which is off`);
      const vm: SimVm = { spec, host, load: 0 };
      host.vms.add(vm);
      this.vms.set(spec.name, vm);
    }
    this.refreshLoads();
  }

  now(): number {
    return this.nowMs;
  }

  /** Seconds since the simulation started. */
  elapsedSeconds(): number {
    return (this.nowMs - this.startMs) / 1000;
  }

  /** When the next thing happens on its own: an event or a load change (epoch ms; Infinity: never). */
  nextEventAt(): number {
    return Math.min(this.events.length ? this.events[0].atMs : Infinity, this.nextLoadChangeMs);
  }

  /** When the next VM load changes (epoch ms; Infinity: never). */
  nextLoadChangeAt(): number {
    return this.nextLoadChangeMs;
  }

  watts(): number {
    return this.totalWatts;
  }

  /** Energy drawn since the start, all hosts, in watt-hours (up to now). */
  energyWh(): number {
    return this.totalEnergyWh;
  }

  /** Energy one host drew since the start (its meter's cumulative reading). */
  hostEnergyWh(host: SimHost): number {
    return host.energyWh + (host.watts * (this.nowMs - host.since)) / 3_600_000;
  }

  /** Runs the simulation up to `t` (epoch ms), firing every event due on the way, in order. */
  advanceTo(t: number): void {
    if (t < this.nowMs) throw new Error(`cannot go back in time from ${this.nowMs} to ${t}`);
    for (;;) {
      const next = Math.min(this.events.length ? this.events[0].atMs : Infinity, this.nextLoadChangeMs);
      if (next > t) return this.integrateTo(t);
      this.integrateTo(next);
      if (next === this.nextLoadChangeMs) this.refreshLoads();
      while (this.events.length && this.events[0].atMs <= next) this.events.shift()!.fire();
    }
  }

  migrationSeconds(memoryMiB: number): number {
    const m = this.migrationModel;
    return m.overheadSeconds + (memoryMiB * MEGABITS_PER_MIB) / m.bandwidthMbps;
  }

  /** Starts a live migration; `done` is called when it completes (or fails) in simulated time. */
  startMigration(vmName: string, toName: string, done: (outcome: MigrationResult) => void = () => {}): SimMigration {
    const vm = this.vms.get(vmName);
    const to = this.hosts.get(toName);
    if (!vm) throw new Error(`no VM ${vmName}`);
    if (!to) throw new Error(`no host ${toName}`);
    if (vm.migration) throw new Error(`${vmName} is already migrating to ${vm.migration.to.spec.name}`);
    if (vm.host === to) throw new Error(`${vmName} already runs on ${toName}`);
    if (to.powerState !== 'on') throw new Error(`cannot migrate ${vmName} to ${toName}: the host is ${to.powerState}`);
    const free = to.spec.memoryMiB - this.memoryUsedMiB(to) - to.incomingMiB;
    if (vm.spec.memoryMiB > free) throw new Error(`cannot migrate ${vmName} to ${toName}: needs ${vm.spec.memoryMiB} MiB, ${free} MiB free`);
    const durationMs = Math.round(this.migrationSeconds(vm.spec.memoryMiB) * 1000);
    const from = vm.host;
    const migration: SimMigration = { vm, from, to, startedAtMs: this.nowMs, endsAtMs: this.nowMs + durationMs, eventId: 0, done };
    migration.eventId = this.schedule(migration.endsAtMs, () => this.finishMigration(migration));
    vm.migration = migration;
    from.migrations++;
    to.migrations++;
    to.incomingMiB += vm.spec.memoryMiB;
    this.updateHosts(from, to);
    return migration;
  }

  /** Aborts a running migration: the VM stays on its source, as libvirt leaves it. */
  abortMigration(vmName: string, why: string): void {
    const migration = this.vms.get(vmName)?.migration;
    if (!migration) return;
    this.events = this.events.filter((e) => e.id !== migration.eventId);
    this.endMigration(migration);
    migration.done({ succeeded: false, durationMs: this.nowMs - migration.startedAtMs, error: why });
  }

  /** Starts booting a host that is off; `done` is called once it is up. */
  powerOn(hostName: string, done: (error?: Error) => void = () => {}): void {
    const host = this.requireHost(hostName);
    if (host.powerState === 'on' || host.powerState === 'booting') return done();
    if (host.powerState === 'shutting-down') throw new Error(`${hostName} is shutting down; power it on once it is off`);
    this.setPowerState(host, 'booting');
    const eventId = this.schedule(this.nowMs + host.spec.bootSeconds * 1000, () => {
      this.setPowerState(host, 'on');
      host.pendingPower = undefined;
      done();
    });
    host.pendingPower = { done, eventId };
  }

  /** Shuts an empty host down; refuses while it holds or receives a VM. */
  powerOff(hostName: string, done: (error?: Error) => void = () => {}): void {
    const host = this.requireHost(hostName);
    if (host.powerState === 'off' || host.powerState === 'shutting-down') return done();
    if (host.powerState === 'booting') throw new Error(`${hostName} is still booting`);
    if (host.vms.size > 0 || host.migrations > 0) {
      throw new Error(`refusing to power off ${hostName}: it runs ${[...host.vms].map((v) => v.spec.name).join(', ') || 'an incoming migration'}`);
    }
    this.setPowerState(host, 'shutting-down');
    const eventId = this.schedule(this.nowMs + host.spec.shutdownSeconds * 1000, () => {
      this.setPowerState(host, 'off');
      host.pendingPower = undefined;
      done();
    });
    host.pendingPower = { done, eventId };
  }

  memoryUsedMiB(host: SimHost): number {
    let used = 0;
    for (const vm of host.vms) used += vm.spec.memoryMiB;
    return used;
  }

  private requireHost(name: string): SimHost {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no host ${name}`);
    return host;
  }

  private finishMigration(migration: SimMigration): void {
    const { vm, from, to } = migration;
    this.endMigration(migration);
    from.vms.delete(vm);
    to.vms.add(vm);
    vm.host = to;
    vm.lastMigratedAtMs = this.nowMs;
    this.updateHosts(from, to);
    migration.done({ succeeded: true, durationMs: this.nowMs - migration.startedAtMs });
  }

  private endMigration(migration: SimMigration): void {
    migration.vm.migration = undefined;
    migration.from.migrations--;
    migration.to.migrations--;
    migration.to.incomingMiB -= migration.vm.spec.memoryMiB;
    this.updateHosts(migration.from, migration.to);
  }

  private setPowerState(host: SimHost, state: SimPowerState): void {
    host.powerState = state;
    host.lastPowerActionAtMs = this.nowMs;
    this.updateHosts(host);
  }

  private schedule(atMs: number, fire: () => void): number {
    const event = { atMs, id: this.nextEventId++, fire };
    // Events are few at a time; keep them sorted by (time, id) with a binary insert.
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid].atMs <= atMs) lo = mid + 1;
      else hi = mid;
    }
    this.events.splice(lo, 0, event);
    return event.id;
  }

  /** Accumulates energy up to `t` at the current (constant since the last change) watts. */
  private integrateTo(t: number): void {
    if (t <= this.nowMs) return;
    this.totalEnergyWh += (this.totalWatts * (t - this.nowMs)) / 3_600_000;
    this.nowMs = t;
  }

  /** Re-reads every VM's load from its timeline: at a load change, O(VMs + hosts). */
  private refreshLoads(): void {
    const seconds = this.elapsedSeconds();
    let next = Infinity;
    for (const vm of this.vms.values()) {
      vm.load = vm.spec.load.at(seconds);
      next = Math.min(next, vm.spec.load.nextChange(seconds));
    }
    this.nextLoadChangeMs = next === Infinity ? Infinity : this.startMs + Math.round(next * 1000);
    this.updateHosts(...this.hosts.values());
    // Re-sum now and then so the running total carries no floating-point drift.
    let total = 0;
    for (const host of this.hosts.values()) total += host.watts;
    this.totalWatts = total;
  }

  private updateHosts(...hosts: SimHost[]): void {
    const before = this.totalWatts;
    for (const host of hosts) {
      // Settle the host's own meter at its old watts before they change.
      host.energyWh += (host.watts * (this.nowMs - host.since)) / 3_600_000;
      host.since = this.nowMs;
      let demand = 0;
      for (const vm of host.vms) demand += (vm.load * vm.spec.vcpus) / host.spec.cpuCores;
      const migrating = host.migrations * this.migrationModel.cpuPercent;
      host.utilisation = host.powerState === 'on' ? Math.min(100, demand + migrating) : 0;
      const watts = wattsOf(host);
      this.totalWatts += watts - host.watts;
      host.watts = watts;
    }
    if (this.totalWatts !== before || this.powerSeries.length === 0) this.recordPower();
  }

  private recordPower(): void {
    const series = this.powerSeries;
    const last = series[series.length - 1];
    if (last && last.atMs === this.nowMs) {
      // Several changes at one instant (a migration lands, the next starts): keep the outcome.
      last.watts = this.totalWatts;
      if (series.length > 1 && series[series.length - 2].watts === last.watts) series.pop();
    } else if (!last || last.watts !== this.totalWatts) {
      series.push({ atMs: this.nowMs, watts: this.totalWatts });
    }
  }
}

function wattsOf(host: SimHost): number {
  switch (host.powerState) {
    case 'off':
      return host.spec.offWatts;
    case 'booting':
    case 'shutting-down':
      return host.spec.power.idleWatts;
    case 'on':
      return host.spec.power.watts(host.utilisation);
  }
}
