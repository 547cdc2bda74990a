/**
 * An end-to-end world for operator tests: the embedded API server with Tide's CRDs applied by
 * real kubectl, a scenario on the simulator running N× faster than the wall, and operators
 * started against them with the simulator's drivers.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { KubeClusterWriter } from '../../src/controller/cluster.ts';
import { silentLogger } from '../../src/controller/log.ts';
import { Operator, type OperatorOptions } from '../../src/controller/operator.ts';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../src/kube/apiserver/index.ts';
import { plan } from '../../src/planner/plan.ts';
import { SimClock } from '../../src/sim/clock.ts';
import { SimHypervisorDriver, SimPowerDriver } from '../../src/sim/drivers.ts';
import { createDataCentre } from '../../src/sim/run.ts';
import { loadScenario, type Scenario } from '../../src/sim/scenario.ts';
import { scenarioResources } from '../../src/cli/dev/scenario-resources.ts';
import { atMost, waitFor } from '../hypervisor/eventually.ts';
import { apiGetJson } from '../kube/api-get.ts';

const run = promisify(execFile);
export const ROOT = new URL('../../', import.meta.url).pathname;

export interface World {
  api: ApiServer;
  scenario: Scenario;
  clock: SimClock;
  dir: string;
  kubeconfigPath: string;
  kubectl(...args: string[]): Promise<string>;
  /** kubectl that may fail: resolves to its exit code and both outputs. */
  kubectlResult(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  applyObjects(objects: object[]): Promise<string>;
  getJson<T = any>(...args: string[]): Promise<T>;
  startOperator(options?: Partial<OperatorOptions>): Promise<Operator>;
  stop(): Promise<void>;
}

export async function startWorld(scenarioName: string, speed = 20, apiOptions: ApiServerOptions = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'tide-e2e-'));
  const api = await startApiServer(apiOptions);
  const kubeconfigPath = join(dir, 'kubeconfig');
  api.writeKubeconfig(kubeconfigPath);
  const env = { ...process.env, HOME: dir, KUBECONFIG: kubeconfigPath };
  const kubectlResult = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run('kubectl', ['--cache-dir', join(dir, 'cache'), ...args], { env, cwd: ROOT, timeout: 90_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
    }
  };
  const kubectl = async (...args: string[]) => {
    const r = await kubectlResult(...args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  await kubectl('apply', '-f', 'manifests/crds/');
  await kubectl('wait', '--for=condition=Established', 'crd', '--all', '--timeout=30s');
  await kubectl('create', 'namespace', 'tide-system');
  const getJson = await apiGetJson(kubeconfigPath);
  const scenario = loadScenario(scenarioName);
  const clock = new SimClock(createDataCentre(scenario));
  const stopClock = clock.runRealtime(speed);
  const operators: Operator[] = [];
  let files = 0;
  const world: World = {
    api, scenario, clock, dir, kubeconfigPath, kubectl, kubectlResult,
    async applyObjects(objects) {
      const file = join(dir, `objects-${files++}.yaml`);
      writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
      return kubectl('apply', '-f', file);
    },
    getJson,
    async startOperator(options = {}) {
      const kubeConfig = api.kubeConfig();
      const operator = new Operator({
        kubeConfig,
        clock,
        hypervisor: new SimHypervisorDriver(clock),
        power: new SimPowerDriver(clock),
        writer: new KubeClusterWriter(kubeConfig, 'test'),
        planner: plan,
        log: silentLogger,
        observeIntervalMs: 30_000,
        ...options,
      });
      operators.push(operator);
      await operator.start();
      return operator;
    },
    async stop() {
      await Promise.all(operators.map((o) => atMost(o.stop(), 2000)));
      stopClock();
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** The scenario's hosts, VMs and policy as resources (what a user would kubectl apply). */
export function resourcesOf(scenario: Scenario, namespace = 'default'): object[] {
  const { hosts, placements, policy } = scenarioResources(scenario, namespace);
  return [...hosts, ...placements, policy];
}

/** Polls `probe` every 200 ms until it returns a truthy value; fails naming `what` after `timeoutMs` of wall time. */
export function eventually<T>(what: string, probe: () => Promise<T | undefined | false | null>, timeoutMs = 60_000): Promise<T> {
  return waitFor(what, probe, timeoutMs, 200);
}

/** A ClusterWriter / drivers wrapper whose calls hang for ever once frozen: a process that died. */
export function freezable<T extends object>(target: T): { value: T; freeze(): void } {
  let frozen = false;
  const value = new Proxy(target, {
    get(obj, prop, receiver) {
      const member = Reflect.get(obj, prop, receiver);
      if (typeof member !== 'function') return member;
      return (...args: unknown[]) => (frozen ? new Promise(() => {}) : member.apply(obj, args));
    },
  });
  return { value, freeze: () => (frozen = true) };
}

