import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { systemClock, type Clock } from '../../api/clock.ts';
import { parseDuration } from '../../api/schema-helpers.ts';
import type { HypervisorDriver, PowerDriver } from '../../api/drivers.ts';
import { createLogger } from '../../controller/log.ts';
import { DEFAULT_KUBE_BURST, DEFAULT_KUBE_QPS } from '../../controller/kube-client.ts';
import { realDrivers } from '../../controller/real-drivers.ts';
import { startRuntime } from '../../controller/runtime.ts';
import { defaultDataDir } from '../../store/open-store.ts';
import { SimClock } from '../../sim/clock.ts';
import { SimHypervisorDriver, SimPowerDriver } from '../../sim/drivers.ts';
import { createDataCentre } from '../../sim/run.ts';
import { UserError, type CliCommand } from '../command.ts';
import { loadKubeConfig } from '../kubeconfig.ts';
import { startupError } from '../startup-errors.ts';
import { leaderElectionIdFlag, logFormatFlag, policySelectorFlag, scenarioFlag } from '../operator-flags.ts';

const HELP = `usage: tide run [flags]

Runs the Tide operator against a Kubernetes API server: it watches PhysicalHost,
VirtualMachinePlacement and ConsolidationPolicy resources, observes the hosts over SSH
(libvirt), and carries out migrations and power actions. On SIGINT/SIGTERM it aborts the
running round, waits for it to end, and only then releases the leader Lease.

flags:
  --kubeconfig FILE       kubeconfig (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)
  --namespace NS          namespace of the leader Lease
                          (default: $POD_NAMESPACE or tide-system)
  --identity ID           this replica's name in the Lease (default: $POD_NAME or the host name)
  --leader-elect          elect a leader among replicas on a Lease (default true; --no-leader-elect)
  --lease-duration D      (default 15s)   --renew-deadline D (default 10s)   --retry-period D (default 2s)
  --policy-selector SEL   own only the ConsolidationPolicies this label selector matches
                          (e.g. rack=r1; kubectl -l syntax): observe and act only on the hosts they
                          select; one Lease per selector (scale-out: docs/operator.md)
  --leader-election-id ID the Lease's name (default tide-operator, or tide-operator-HASH of the
                          --policy-selector)
  --observe-interval D    how often every host is observed (default 30s)
  --kube-qps N            API requests per second, sustained (default 50; client-go's token bucket)
  --kube-burst N          API requests at once after a quiet spell (default 100)
  --observe-concurrency N hosts observed at once (default 16; each observation takes ≥ 1 s)
  --metrics-port N        /metrics, /healthz, /readyz (default 8080)
  --metrics-address A     (default 0.0.0.0)
  --data-dir DIR          embedded history store (default .tide/history); MONGODB_URI selects MongoDB
  --log-format text|json  (default json)
  --verbose               debug lines too
  --simulate SCENARIO     drive a simulated data centre instead of real hosts (try Tide on a
                          cluster without hypervisors); --speed N runs it N× faster (default 1)`;

function duration(flag: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new UserError(`--${flag}: ${(err as Error).message}`);
  }
}

export const command: CliCommand = {
  name: 'run',
  summary: 'run the operator against a Kubernetes cluster (in-cluster or --kubeconfig)',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      allowNegative: true,
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string', default: process.env.POD_NAMESPACE ?? 'tide-system' },
        identity: { type: 'string', default: process.env.POD_NAME ?? hostname() },
        'leader-elect': { type: 'boolean', default: true },
        'lease-duration': { type: 'string', default: '15s' },
        'renew-deadline': { type: 'string', default: '10s' },
        'retry-period': { type: 'string', default: '2s' },
        'observe-interval': { type: 'string', default: '30s' },
        'policy-selector': { type: 'string' },
        'leader-election-id': { type: 'string' },
        'kube-qps': { type: 'string', default: String(DEFAULT_KUBE_QPS) },
        'kube-burst': { type: 'string', default: String(DEFAULT_KUBE_BURST) },
        'observe-concurrency': { type: 'string', default: '16' },
        'metrics-port': { type: 'string', default: '8080' },
        'metrics-address': { type: 'string', default: '0.0.0.0' },
        'data-dir': { type: 'string' },
        'log-format': { type: 'string', default: 'json' },
        verbose: { type: 'boolean', default: false },
        simulate: { type: 'string' },
        speed: { type: 'string', default: '1' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const format = logFormatFlag(values['log-format']);
    const metricsPort = Number(values['metrics-port']);
    if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535) throw new UserError(`--metrics-port: expected a port number, got '${values['metrics-port']}'`);
    const leaseDurationMs = duration('lease-duration', values['lease-duration']!);
    const renewDeadlineMs = duration('renew-deadline', values['renew-deadline']!);
    // A deposed leader must have stopped before a standby may take over (docs/operator.md).
    if (renewDeadlineMs >= leaseDurationMs) throw new UserError('--renew-deadline must be shorter than --lease-duration');
    const kubeQps = Number(values['kube-qps']);
    if (!(kubeQps > 0) || !Number.isFinite(kubeQps)) throw new UserError(`--kube-qps: expected a positive number, got '${values['kube-qps']}'`);
    const kubeBurst = Number(values['kube-burst']);
    if (!Number.isInteger(kubeBurst) || kubeBurst < 1) throw new UserError(`--kube-burst: expected a whole number ≥ 1, got '${values['kube-burst']}'`);
    const observeConcurrency = Number(values['observe-concurrency']);
    if (!Number.isInteger(observeConcurrency) || observeConcurrency < 1) throw new UserError(`--observe-concurrency: expected a whole number ≥ 1, got '${values['observe-concurrency']}'`);

    const policySelector = policySelectorFlag(values['policy-selector']);
    const leaderElectionId = leaderElectionIdFlag(values['leader-election-id']);
    const kubeConfig = loadKubeConfig(values.kubeconfig);

    let clock: Clock = systemClock;
    let drivers: { hypervisor: HypervisorDriver; power: PowerDriver };
    let stopSimulation = () => {};
    if (values.simulate) {
      const sim = new SimClock(createDataCentre(scenarioFlag(values.simulate)));
      stopSimulation = sim.runRealtime(Number(values.speed) || 1);
      clock = sim;
      drivers = { hypervisor: new SimHypervisorDriver(sim), power: new SimPowerDriver(sim) };
    } else {
      drivers = realDrivers({ clock });
    }
    const log = createLogger({ format, verbose: values.verbose });
    let runtime;
    try {
      runtime = await startRuntime({
        kubeConfig,
        clock,
        ...drivers,
        log,
        namespace: values.namespace!,
        identity: values.identity!,
        leaderElection: values['leader-elect']!,
        leaseDurationMs,
        renewDeadlineMs,
        retryPeriodMs: duration('retry-period', values['retry-period']!),
        observeIntervalMs: duration('observe-interval', values['observe-interval']!),
        kubeQps,
        kubeBurst,
        observeConcurrency,
        ...(policySelector !== undefined ? { policySelector } : {}),
        ...(leaderElectionId !== undefined ? { leaderElectionId } : {}),
        metricsPort,
        metricsHost: values['metrics-address'],
        store: { dataDir: values['data-dir'] ?? defaultDataDir() },
        // Like controller-runtime: a replica that lost its lease exits, and is restarted clean.
        onLostLeadership: () => {
          log.error('lost the leader lease: exiting');
          process.exit(1);
        },
      });
    } catch (err) {
      stopSimulation();
      throw startupError(err, { '--metrics-port': metricsPort });
    }
    log.info(`tide operator ${values.identity} started`, { metricsPort: runtime.metricsServer.port, leaderElection: values['leader-elect'], ...(policySelector !== undefined ? { policySelector } : {}) });
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    log.info('stopping: aborting the running round, then releasing the leader Lease');
    await runtime.stop();
    stopSimulation();
    return 0;
  },
};
