/**
 * `tide dev`: the embedded API server, Tide's CRDs, a scenario on the simulator, the ZigBee
 * meter agent reading the simulated meters, and the operator — all in one process, with a
 * kubeconfig so kubectl can watch and change it live. For development and demos only.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Registry } from 'prom-client';
import { customResourceDefinition, RESOURCES } from '../../api/crds.ts';
import { startApiServer, type ApiServer } from '../../kube/apiserver/index.ts';
import type { KubeObject } from '../../kube/apiserver/types.ts';
import type { Logger } from '../../controller/log.ts';
import { startRuntime, type Runtime } from '../../controller/runtime.ts';
import { KubeHostStore } from '../../power/agent/kube-host-store.ts';
import { MeterDirectory } from '../../power/agent/meter-directory.ts';
import { MeterFreshness } from '../../power/agent/meter-freshness.ts';
import { ZigbeeAgent } from '../../power/agent/zigbee-agent.ts';
import { RejectionRecorder } from '../../power/meters/meter-rejections.ts';
import { SimClock } from '../../sim/clock.ts';
import { SimHypervisorDriver, SimMeterSource, SimPowerDriver } from '../../sim/drivers.ts';
import { createDataCentre } from '../../sim/run.ts';
import type { Scenario } from '../../sim/scenario.ts';
import { createObjects } from './create-objects.ts';
import { scenarioResources } from './scenario-resources.ts';

export interface DevOptions {
  scenario: Scenario;
  /** Simulated seconds per wall second. */
  speed: number;
  apiPort: number;
  kubeconfigPath: string;
  metricsPort: number;
  dataDir: string;
  namespace: string;
  log: Logger;
  observeIntervalMs: number;
}

export interface DevEnvironment {
  api: ApiServer;
  clock: SimClock;
  runtime: Runtime;
  stop(): Promise<void>;
}

export async function startDev(o: DevOptions): Promise<DevEnvironment> {
  // CRDs preloaded at start: client-node's typed CRD API would drop `default` and CEL rules.
  const api = await startApiServer({ port: o.apiPort, objects: RESOURCES.map((def) => customResourceDefinition(def) as KubeObject) });
  try {
    return await startOnApi(o, api);
  } catch (err) {
    await api.stop();
    throw err;
  }
}

/** Everything after the API server; stops what it started when a later part fails (a busy port, a store in use). */
async function startOnApi(o: DevOptions, api: ApiServer): Promise<DevEnvironment> {
  const kubeConfig = api.kubeConfig();
  const { hosts, placements, policy } = scenarioResources(o.scenario, o.namespace);
  await createObjects(kubeConfig, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tide-system' } },
    ...hosts,
    ...placements,
    policy,
  ]);

  // Simulated time starts now (to the second), not at the scenario's start, so the ages and
  // times kubectl shows read naturally; and only now, once the API server is up and the objects
  // are in, so that it does not fall behind the wall clock by however long that took.
  const clock = new SimClock(createDataCentre({ ...o.scenario, startMs: Math.floor(Date.now() / 1000) * 1000 }));
  const stopClock = clock.runRealtime(o.speed);
  const registry = new Registry();
  const agentLog = (line: string) => o.log.debug(`meter agent: ${line}`);
  const agent = new ZigbeeAgent({
    source: new SimMeterSource(clock, 10_000),
    store: new KubeHostStore(kubeConfig),
    directory: new MeterDirectory(),
    freshness: new MeterFreshness(60_000),
    clock,
    registry,
    rejections: new RejectionRecorder({ registry, clock, log: agentLog }),
    log: agentLog,
  });
  let runtime: Runtime;
  try {
    await agent.start();
    runtime = await startRuntime({
      kubeConfig,
      clock,
      hypervisor: new SimHypervisorDriver(clock),
      power: new SimPowerDriver(clock),
      log: o.log,
      namespace: 'tide-system',
      identity: 'tide-dev',
      leaderElection: false,
      observeIntervalMs: o.observeIntervalMs,
      metricsPort: o.metricsPort,
      metricsHost: '127.0.0.1',
      store: { dataDir: o.dataDir, mongodbUri: '' },
    });
  } catch (err) {
    await agent.stop();
    stopClock();
    throw err;
  }
  // Only now: a second `tide dev` that cannot start must not overwrite the running one's kubeconfig.
  mkdirSync(dirname(o.kubeconfigPath), { recursive: true });
  api.writeKubeconfig(o.kubeconfigPath);
  return {
    api,
    clock,
    runtime,
    async stop() {
      await runtime.stop();
      await agent.stop();
      stopClock();
      await api.stop();
    },
  };
}
