/**
 * Every Prometheus metric the operator exports, in one place, on a registry of its own (never
 * prom-client's global one, so tests and embedded uses do not collide). Names follow the
 * Prometheus conventions: `tide_` prefix, base units in the name (seconds, watts, watt-hours,
 * a 0–1 ratio), `_total` on counters. docs/metrics.md lists them.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { intervalEnergy } from '../report/energy.ts';
import type { StoreStats } from '../store/types.ts';

export type HostPowerState = 'on' | 'off' | 'booting' | 'shutting-down' | 'unknown';
const POWER_STATES: HostPowerState[] = ['on', 'off', 'booting', 'shutting-down', 'unknown'];

export type ActionType = 'migrate' | 'power-on' | 'power-off' | 'alert';
export type ActionResult = 'succeeded' | 'failed' | 'skipped' | 'dry-run';

/** What the controller observed of one host in a reconcile round. */
export interface HostObservation {
  name: string;
  powerState: HostPowerState;
  watts?: number;
  /** Percentage of all the host's cores (0–100), as everywhere else in Tide. */
  cpuLoadPercent?: number;
  vms?: number;
  /** The host's idle power from its PhysicalHost spec; otherwise the lowest reading seen while on. */
  idleWatts?: number;
}

export interface TideMetricsOptions {
  /** Also export the process_* and nodejs_* metrics (default true). */
  processMetrics?: boolean;
  version?: string;
}

export class TideMetrics {
  readonly registry = new Registry();

  private readonly reconcileDuration = new Histogram({
    name: 'tide_reconcile_duration_seconds',
    help: 'Time one reconcile round took (observe, plan, execute, record), in seconds.',
    labelNames: ['result'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  private readonly reconcileLast = new Gauge({
    name: 'tide_last_reconcile_timestamp_seconds',
    help: 'Unix time the last reconcile round ended.',
    registers: [this.registry],
  });
  private readonly actions = new Counter({
    name: 'tide_actions_total',
    help: 'Actions carried out (or not) by type and result.',
    labelNames: ['type', 'result'] as const,
    registers: [this.registry],
  });
  private readonly plannedActions = new Counter({
    name: 'tide_planned_actions_total',
    help: 'Actions the planner asked for, by type and reason code.',
    labelNames: ['type', 'reason'] as const,
    registers: [this.registry],
  });
  private readonly migrationDuration = new Histogram({
    name: 'tide_migration_duration_seconds',
    help: 'Wall time of live migrations, in seconds, by result.',
    labelNames: ['result'] as const,
    buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
    registers: [this.registry],
  });
  private readonly migrationsInProgress = new Gauge({
    name: 'tide_migrations_in_progress',
    help: 'Live migrations running now.',
    registers: [this.registry],
  });
  private readonly hosts = new Gauge({
    name: 'tide_hosts',
    help: 'Managed physical hosts by power state.',
    labelNames: ['power_state'] as const,
    registers: [this.registry],
  });
  private readonly hostWatts = new Gauge({
    name: 'tide_host_power_watts',
    help: 'Power drawn by a host, in watts (last reading).',
    labelNames: ['host'] as const,
    registers: [this.registry],
  });
  private readonly hostLoad = new Gauge({
    name: 'tide_host_cpu_load_ratio',
    help: 'CPU load of a host as a ratio of all its cores (0–1).',
    labelNames: ['host'] as const,
    registers: [this.registry],
  });
  private readonly hostVms = new Gauge({
    name: 'tide_host_vms',
    help: 'VMs running on a host.',
    labelNames: ['host'] as const,
    registers: [this.registry],
  });
  private readonly clusterWatts = new Gauge({
    name: 'tide_cluster_power_watts',
    help: 'Power drawn by all managed hosts together, in watts.',
    registers: [this.registry],
  });
  private readonly energyUsed = new Counter({
    name: 'tide_energy_consumed_watt_hours_total',
    help: 'Energy used by the managed hosts since the operator started, in watt-hours.',
    registers: [this.registry],
  });
  private readonly energySaved = new Counter({
    name: 'tide_energy_saved_watt_hours_total',
    help: 'Energy saved against keeping all hosts powered on (an off host would have drawn its idle power), in watt-hours.',
    registers: [this.registry],
  });
  private readonly leader = new Gauge({
    name: 'tide_leader',
    help: '1 while this replica holds the leader lease, 0 otherwise.',
    registers: [this.registry],
  });

  /** The previous round's observation per host, for integrating energy between rounds. */
  private previous = new Map<string, { atMs: number; host: HostObservation; idleWatts?: number }>();

  constructor(options: TideMetricsOptions = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'tide_build_info',
      help: 'Always 1; the version label says which Tide is running.',
      labelNames: ['version'] as const,
      registers: [this.registry],
    }).set({ version: options.version ?? 'unknown' }, 1);
    for (const state of POWER_STATES) this.hosts.set({ power_state: state }, 0);
    this.leader.set(0);
    this.migrationsInProgress.set(0);
  }

  /** Times a reconcile round: `const done = m.startReconcile(); …; done('success')`. */
  startReconcile(): (result: 'success' | 'error') => void {
    const end = this.reconcileDuration.startTimer();
    return (result) => {
      end({ result });
      this.reconcileLast.set(Date.now() / 1000);
    };
  }

  countPlannedAction(type: ActionType, reason: string): void {
    this.plannedActions.inc({ type, reason });
  }

  countAction(type: ActionType, result: ActionResult): void {
    this.actions.inc({ type, result });
  }

  /** Call when a migration starts; call the returned function when it ends. */
  startMigration(): (result: 'succeeded' | 'failed') => void {
    this.migrationsInProgress.inc();
    const end = this.migrationDuration.startTimer();
    return (result) => {
      this.migrationsInProgress.dec();
      end({ result });
    };
  }

  setLeader(isLeader: boolean): void {
    this.leader.set(isLeader ? 1 : 0);
  }

  /**
   * Sets the per-host gauges to what this round observed (hosts no longer present disappear) and
   * adds the energy used and saved since the previous round, each host's previous reading held
   * until now (see src/report/energy.ts: the same accounting as `tide report`).
   */
  observeHosts(atMs: number, hosts: HostObservation[]): void {
    const counts = new Map<HostPowerState, number>(POWER_STATES.map((s) => [s, 0]));
    const next = new Map<string, { atMs: number; host: HostObservation; idleWatts?: number }>();
    let clusterWatts = 0;
    for (const host of hosts) {
      counts.set(host.powerState, (counts.get(host.powerState) ?? 0) + 1);
      const prev = this.previous.get(host.name);
      if (prev && atMs > prev.atMs) {
        const e = intervalEnergy(prev.host, atMs - prev.atMs, prev.idleWatts);
        this.energyUsed.inc(e.usedWh);
        if (e.allOnWh > e.usedWh) this.energySaved.inc(e.allOnWh - e.usedWh);
      }
      next.set(host.name, { atMs, host, idleWatts: host.idleWatts ?? learnIdle(prev?.idleWatts, host) });
      setOrRemove(this.hostWatts, host.name, host.watts);
      setOrRemove(this.hostLoad, host.name, host.cpuLoadPercent === undefined ? undefined : host.cpuLoadPercent / 100);
      setOrRemove(this.hostVms, host.name, host.vms);
      clusterWatts += host.watts ?? 0;
    }
    for (const name of this.previous.keys()) {
      if (!next.has(name)) for (const g of [this.hostWatts, this.hostLoad, this.hostVms]) g.remove({ host: name });
    }
    this.previous = next;
    for (const [state, n] of counts) this.hosts.set({ power_state: state }, n);
    this.clusterWatts.set(clusterWatts);
  }

  /** Exports the history store's buffer and drops (tide_store_*), read at each scrape. */
  watchStore(store: { stats(): StoreStats }): void {
    new Gauge({
      name: 'tide_store_buffered_samples',
      help: 'Samples waiting to be written to the history store.',
      registers: [this.registry],
      collect() {
        this.set(store.stats().bufferedSamples);
      },
    });
    new Counter({
      name: 'tide_store_dropped_samples_total',
      help: 'Samples dropped (oldest first) because the history store could not be written and its buffer was full.',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(store.stats().droppedSamples);
      },
    });
  }
}

function setOrRemove(gauge: Gauge<'host'>, host: string, value: number | undefined): void {
  if (value === undefined) gauge.remove({ host });
  else gauge.set({ host }, value);
}

/** Without a configured idle power, the lowest reading seen while on stands in for it. */
function learnIdle(previous: number | undefined, host: HostObservation): number | undefined {
  if (host.powerState !== 'on' || host.watts === undefined) return previous;
  return previous === undefined ? host.watts : Math.min(previous, host.watts);
}
