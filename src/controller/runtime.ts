/**
 * Starts an operator with everything around it: history store, Prometheus metrics and the
 * /healthz, /readyz, /metrics server. `tide run` (real hosts) and `tide dev` (simulator) differ
 * only in the drivers, the clock and leader election they pass in.
 */
import { setFlagsFromString } from 'node:v8';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../api/clock.ts';
import type { HypervisorDriver, PowerDriver } from '../api/drivers.ts';
import { startMetricsServer, type MetricsServer } from '../metrics/server.ts';
import { TideMetrics } from '../metrics/tide-metrics.ts';
import { plan } from '../planner/plan.ts';
import { openHistoryStore, type StoreSelection } from '../store/open-store.ts';
import type { HistoryStore } from '../store/types.ts';
import { KubeClusterWriter } from './cluster.ts';
import { historyObserver } from './history.ts';
import { leaseNameFor, type LeaderElectionOptions } from './leader-election.ts';
import type { Logger } from './log.ts';
import type { RoundObserver } from './reconciler.ts';
import { tunedKubeConfig } from './kube-client.ts';
import { combineObservers, metricsObserver } from './observers.ts';
import { Operator } from './operator.ts';
import { measuredSavingsWriter } from './savings-status.ts';

export interface RuntimeOptions {
  kubeConfig: KubeConfig;
  clock: Clock;
  hypervisor: HypervisorDriver;
  power: PowerDriver;
  log: Logger;
  /** Tide's own namespace: the leader Lease and the only Secrets it reads. (Events about cluster-scoped objects go to `default`, as Kubernetes requires.) */
  namespace: string;
  identity: string;
  leaderElection: boolean;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  observeIntervalMs: number;
  metricsPort: number;
  metricsHost?: string;
  store: StoreSelection;
  version?: string;
  onLostLeadership?: () => void;
  /** Client-side rate limit of every API request (kube-client.ts; defaults 50 and 100). */
  kubeQps?: number;
  kubeBurst?: number;
  /** Told of every API request as it leaves (method, URL): the fleet benchmark counts them. */
  onKubeRequest?: (method: string, url: string) => void;
  /** Hosts observed at once (default 16). */
  observeConcurrency?: number;
  /** `--policy-selector`: the ConsolidationPolicies this instance owns (all when undefined). */
  policySelector?: string;
  /** `--leader-election-id`: the Lease's name (default: leaseNameFor(policySelector)). */
  leaderElectionId?: string;
  /** One more observer of the rounds, next to the history store and the metrics (benchmarks). */
  observer?: RoundObserver;
}

/**
 * The operator's heap is mostly its informer caches, live for good; each round adds garbage
 * (observations, statuses compared, history samples) that outlives the young generation. V8's
 * own choice let the heap grow to 4× what a full GC kept (1,579 MiB in use against 379 live at
 * 10,000 hosts, bench/operator.bench.ts) before collecting; at 50 % the heap in use peaked at
 * 630 MiB and the decision stayed within its goal at the median. A limit that follows the fleet,
 * not a fixed --max-old-space-size that a larger fleet would hit. A --heap-growing-percent given
 * to node itself wins.
 */
export const HEAP_GROWING_PERCENT = 50;

/** How far V8's heap may grow past what the last full GC kept: HEAP_GROWING_PERCENT, unless node was told. */
function boundHeapGrowth(): void {
  const own = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => /^--heap[-_]growing[-_]percent/.test(a));
  if (!own) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

export interface Runtime {
  operator: Operator;
  metrics: TideMetrics;
  store: HistoryStore;
  metricsServer: MetricsServer;
  stop(): Promise<void>;
}

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  boundHeapGrowth();
  const kubeConfig = tunedKubeConfig(options.kubeConfig, { qps: options.kubeQps, burst: options.kubeBurst, onRequest: options.onKubeRequest });
  const o = { ...options, kubeConfig };
  const store = await openHistoryStore({ ...o.store, log: o.store.log ?? o.log });
  const metrics = new TideMetrics({ version: o.version });
  metrics.watchStore(store);
  const leaderElection: LeaderElectionOptions | undefined = o.leaderElection
    ? { namespace: o.namespace, name: o.leaderElectionId ?? leaseNameFor(o.policySelector), identity: o.identity, leaseDurationMs: o.leaseDurationMs, renewDeadlineMs: o.renewDeadlineMs, retryPeriodMs: o.retryPeriodMs }
    : undefined;
  const writer = new KubeClusterWriter(o.kubeConfig, o.identity);
  const operator = new Operator({
    kubeConfig: o.kubeConfig,
    clock: o.clock,
    hypervisor: o.hypervisor,
    power: o.power,
    writer,
    planner: plan,
    log: o.log,
    namespace: o.namespace,
    // The operator is made below; its policy is asked for only once a saving is measured.
    observer: combineObservers(historyObserver(store, o.log, { onMeasured: (host, m) => onMeasured(host, m) }), metricsObserver(metrics), o.observer),
    observeIntervalMs: o.observeIntervalMs,
    ...(o.observeConcurrency ? { observeConcurrency: o.observeConcurrency } : {}),
    leaderElection,
    ...(o.policySelector !== undefined ? { policySelector: o.policySelector } : {}),
    onLeadershipChange: (leading) => metrics.setLeader(leading),
    onLostLeadership: o.onLostLeadership,
  });
  const onMeasured = measuredSavingsWriter(writer, (host) => operator.reconciler.policyOfHost(host), o.log);
  let metricsServer: MetricsServer | undefined;
  try {
    metricsServer = await startMetricsServer({ port: o.metricsPort, host: o.metricsHost, registry: metrics.registry, isReady: () => operator.ready });
    await operator.start();
  } catch (err) {
    await metricsServer?.stop();
    await store.close();
    throw err;
  }
  return {
    operator,
    metrics,
    store,
    metricsServer,
    async stop() {
      await operator.stop();
      await o.hypervisor.close();
      await metricsServer.stop();
      await store.close();
      kubeConfig.destroy();
    },
  };
}
