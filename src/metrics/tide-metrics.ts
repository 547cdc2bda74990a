/**
 * Every Prometheus metric the operator exports, in one place, on a registry of its own (never
 * prom-client's global one, so tests and embedded uses do not collide). Names follow the
 * Prometheus conventions: `tide_` prefix, base units in the name (seconds, watts, joules,
 * a 0–1 ratio), `_total` on counters. Label values are the words of Tide's CRDs (a host's
 * `status.powerState`, a power action's `type`, a migration's `phase`), so a query reads like
 * `kubectl get`. docs/metrics.md lists them.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { EnergyTally } from '../report/energy.ts';
import type { StoreStats } from '../store/types.ts';

export type HostPowerState = 'on' | 'off' | 'booting' | 'shutting-down' | 'unknown';
/** PhysicalHost `status.powerState` for each word the controller observes in. */
const POWER_STATE_LABEL: Record<HostPowerState, string> = { on: 'On', off: 'Off', booting: 'PoweringOn', 'shutting-down': 'PoweringOff', unknown: 'Unknown' };

export type ActionType = 'migrate' | 'power-on' | 'power-off' | 'alert';
export type ActionResult = 'succeeded' | 'failed' | 'skipped' | 'dry-run';
/** A power action's `type` in PhysicalHost status, and the same casing for the others. */
const ACTION_TYPE_LABEL: Record<ActionType, string> = { migrate: 'Migrate', 'power-on': 'PowerOn', 'power-off': 'PowerOff', alert: 'Alert' };
/** The `phase` words of migrations and power actions, and the same casing for the others. */
const RESULT_LABEL: Record<ActionResult, string> = { succeeded: 'Succeeded', failed: 'Failed', skipped: 'Skipped', 'dry-run': 'DryRun' };
const JOULES_PER_WATT_HOUR = 3600;

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
  /**
   * Registered at the end of the first round, not before: an unlabelled gauge reads 0 until set,
   * and a standby replica's 0 ("last round in 1970") would trip every staleness alert.
   */
  private readonly reconcileLast = new Gauge({
    name: 'tide_last_reconcile_timestamp_seconds',
    help: 'Unix time the last reconcile round ended (absent until this replica has run one).',
    registers: [],
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
  /** By method and outcome only: a label per host would grow with the fleet. */
  private readonly wakeLatency = new Histogram({
    name: 'tide_wake_latency_seconds',
    help: 'Time from a power-on command until the host was observed up (outcome Succeeded) or given up on at its boot timeout (Failed), in seconds, by method (WakeOnLAN, IPMI) and outcome.',
    labelNames: ['method', 'outcome'] as const,
    buckets: [5, 10, 20, 30, 60, 90, 120, 180, 300, 600, 1200],
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
    name: 'tide_energy_consumed_joules_total',
    help: 'Energy used by the managed hosts since the operator started, in joules.',
    registers: [this.registry],
  });
  private readonly energySaved = new Counter({
    name: 'tide_energy_saved_joules_total',
    help: 'Energy saved against keeping all hosts powered on (an off host would have drawn its idle power), in joules.',
    registers: [this.registry],
  });
  private readonly leader = new Gauge({
    name: 'tide_leader',
    help: '1 while this replica holds the leader lease, 0 otherwise.',
    registers: [this.registry],
  });

  /** Energy between rounds, each host's previous reading held (src/report/energy.ts). */
  private readonly energy = new EnergyTally();
  private readonly observedHosts = new Set<string>();

  constructor(options: TideMetricsOptions = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'tide_build_info',
      help: 'Always 1; the version label says which Tide is running.',
      labelNames: ['version'] as const,
      registers: [this.registry],
    }).set({ version: options.version ?? 'unknown' }, 1);
    for (const state of Object.values(POWER_STATE_LABEL)) this.hosts.set({ power_state: state }, 0);
    this.leader.set(0);
    this.migrationsInProgress.set(0);
  }

  /** Times a reconcile round: `const done = m.startReconcile(); …; done('success')`. */
  startReconcile(): (result: 'success' | 'error') => void {
    const end = this.reconcileDuration.startTimer();
    return (result) => {
      end({ result });
      if (!this.registry.getSingleMetric('tide_last_reconcile_timestamp_seconds')) this.registry.registerMetric(this.reconcileLast);
      this.reconcileLast.set(Date.now() / 1000);
    };
  }

  countPlannedAction(type: ActionType, reason: string): void {
    this.plannedActions.inc({ type: ACTION_TYPE_LABEL[type], reason });
  }

  countAction(type: ActionType, result: ActionResult): void {
    this.actions.inc({ type: ACTION_TYPE_LABEL[type], result: RESULT_LABEL[result] });
  }

  /** Call when a migration starts; call the returned function when it ends. */
  startMigration(): (result: 'succeeded' | 'failed') => void {
    this.migrationsInProgress.inc();
    const end = this.migrationDuration.startTimer();
    return (result) => {
      this.migrationsInProgress.dec();
      end({ result: RESULT_LABEL[result] });
    };
  }

  /** One wake attempt (PhysicalHost status.wakeAttempts[]): its method, outcome and latency. */
  observeWake(method: 'WakeOnLAN' | 'IPMI', outcome: 'Succeeded' | 'Failed', latencySeconds: number): void {
    this.wakeLatency.observe({ method, outcome }, latencySeconds);
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
    const counts = new Map(Object.values(POWER_STATE_LABEL).map((s) => [s, 0]));
    let clusterWatts = 0;
    for (const host of hosts) {
      const state = POWER_STATE_LABEL[host.powerState];
      counts.set(state, (counts.get(state) ?? 0) + 1);
      setOrRemove(this.hostWatts, host.name, host.watts);
      setOrRemove(this.hostLoad, host.name, host.cpuLoadPercent === undefined ? undefined : host.cpuLoadPercent / 100);
      setOrRemove(this.hostVms, host.name, host.vms);
      clusterWatts += host.watts ?? 0;
    }
    const added = this.energy.observe(atMs, hosts);
    this.energyUsed.inc(added.usedWh * JOULES_PER_WATT_HOUR);
    this.energySaved.inc(added.savedWh * JOULES_PER_WATT_HOUR);
    const names = new Set(hosts.map((h) => h.name));
    for (const name of this.observedHosts) {
      if (!names.has(name)) for (const g of [this.hostWatts, this.hostLoad, this.hostVms]) g.remove({ host: name });
    }
    this.observedHosts.clear();
    for (const name of names) this.observedHosts.add(name);
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
