/**
 * An end-to-end world on the real lab: libvirt hosts with QEMU guests (test/lab), the embedded
 * API server with Tide's CRDs applied by real kubectl, the SSH Secret, PhysicalHosts and
 * VirtualMachinePlacements as a user would create them, and an Operator in this process with the
 * real drivers (libvirt over SSH, Wake-on-LAN / SSH power-off). One world per test file.
 *
 * It also records, per migration, when the plan was made, when its intent was written, when the
 * driver was called and when libvirt's job started, for the decision-latency figures.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { systemClock } from '../../src/api/clock.ts';
import type { HostTarget, HypervisorDriver, MigrationRequest, ObservedHost } from '../../src/api/drivers.ts';
import { KubeClusterWriter } from '../../src/controller/cluster.ts';
import { createLogger, type Logger } from '../../src/controller/log.ts';
import { Operator, type OperatorOptions } from '../../src/controller/operator.ts';
import type { RoundObserver } from '../../src/controller/reconciler.ts';
import { realDrivers } from '../../src/controller/real-drivers.ts';
import type { DetailedMigrationOutcome } from '../../src/hypervisor/migration.ts';
import { startApiServer, type ApiServer } from '../../src/kube/apiserver/index.ts';
import { plan } from '../../src/planner/plan.ts';
import { atMost, waitFor } from '../hypervisor/eventually.ts';
import { startLab, type Lab } from '../lab/lab.ts';
import { startPowerHooks, type PowerHookOptions, type PowerHooks } from './power-hooks.ts';
import { apiGetJson } from '../kube/api-get.ts';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
export const NAMESPACE = 'tide-system';
export const VM_NAMESPACE = 'lab';
const SECRET = 'lab-ssh';

export interface HostOptions {
  standbyAllowed?: boolean;
  powerPolicy?: 'Auto' | 'AlwaysOn' | 'Off';
  /** IPMI (the host's BMC in the power hooks, which needs it in `bmcHosts`) after Wake-on-LAN. */
  fallbackIpmi?: boolean;
  bootTimeoutSeconds?: number;
}

/** One migration as seen from the plan to the end, all times epoch ms. */
export interface MigrationTiming {
  vm: string;
  from: string;
  to: string;
  /** The plan round's snapshot time: the moment Tide decided. */
  plannedAtMs?: number;
  /** The intent (status.migration Running) was written; the executor's startedAt. */
  intentAtMs?: number;
  /** The hypervisor driver's migrate() was called. */
  driverCalledAtMs?: number;
  /** The driver's pre-check was done and `virsh migrate` was issued on the source. */
  commandIssuedAtMs?: number;
  /** libvirt's migration job was first seen running on the source (polled: a short job may go unseen). */
  jobStartedAtMs?: number;
  /** `virsh migrate` returned. */
  commandDoneAtMs?: number;
  /** migrate() resolved with the outcome observed on both hosts. */
  doneAtMs?: number;
  succeeded?: boolean;
}

export interface LabWorld {
  lab: Lab;
  api: ApiServer;
  power: PowerHooks;
  dir: string;
  log: string[];
  migrations: MigrationTiming[];
  kubectl(...args: string[]): Promise<string>;
  getJson<T = any>(...args: string[]): Promise<T>;
  apply(objects: object[]): Promise<string>;
  /** A PhysicalHost for a lab host: SSH through the Secret, WoL to the hooks' port on 127.0.0.1, SSH power-off. */
  physicalHost(name: string, options?: HostOptions): object;
  placement(domain: string): object;
  policy(spec: Record<string, unknown>): object;
  /** Running domains on a lab host, as libvirt inside it says. */
  running(host: string): Promise<string[]>;
  /** Waits until the VMs' measured loads (status.cpuLoadPercent, as kubectl shows it) satisfy `ok`. */
  waitForVmLoads(what: string, ok: (loads: Record<string, number>) => boolean, timeoutMs?: number): Promise<Record<string, number>>;
  startOperator(options?: Partial<OperatorOptions>): Promise<Operator>;
  stop(): Promise<void>;
}

export async function startLabWorld(o: { hosts: string[]; cpuCores: number; observeIntervalMs?: number; power?: PowerHookOptions }): Promise<LabWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'tide-e2e-lab-'));
  const cleanups: (() => Promise<unknown> | unknown)[] = [() => rmSync(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await atMost(Promise.resolve().then(cleanup), 10_000).catch(() => {});
    }
  };
  try {
    const lab = await startLab({ hosts: o.hosts, cpuCores: o.cpuCores, memoryMiB: 2048 });
    cleanups.push(() => lab.stop());
    const power = await startPowerHooks(lab, o.power);
    cleanups.push(() => power.stop());
    const api = await startApiServer();
    cleanups.push(() => api.stop());
    const kubeconfigPath = join(dir, 'kubeconfig');
    api.writeKubeconfig(kubeconfigPath);
    const env = { ...process.env, HOME: dir, KUBECONFIG: kubeconfigPath };
    const kubectl = async (...args: string[]) => {
      try {
        return (await run('kubectl', ['--cache-dir', join(dir, 'cache'), ...args], { env, cwd: ROOT, timeout: 90_000 })).stdout;
      } catch (err) {
        throw new Error(`kubectl ${args.join(' ')}: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
      }
    };
    await kubectl('apply', '-f', 'manifests/crds/');
    await kubectl('wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s');
    await kubectl('create', 'namespace', NAMESPACE);
    await kubectl('create', 'namespace', VM_NAMESPACE);
    writeFileSync(join(dir, 'known_hosts'), lab.knownHosts());
    await kubectl('-n', NAMESPACE, 'create', 'secret', 'generic', SECRET, `--from-file=ssh-privatekey=${lab.hosts[o.hosts[0]!]!.privateKeyPath}`, `--from-file=known_hosts=${join(dir, 'known_hosts')}`,
      // The BMCs' one user (test/power/peers/ipmi-sim.ts), for the hosts that have one.
      ...(o.power?.bmcHosts?.length ? [`--from-literal=username=${power.bmc(o.power.bmcHosts[0]!).username}`, `--from-literal=password=${power.bmc(o.power.bmcHosts[0]!).password}`] : []));

    const getJson = await apiGetJson(kubeconfigPath);
    const log: string[] = [];
    const migrations: MigrationTiming[] = [];
    let files = 0;
    const world: LabWorld = {
      lab, api, power, dir, log, migrations, kubectl,
      getJson,
      async apply(objects) {
        const file = join(dir, `objects-${files++}.yaml`);
        writeFileSync(file, objects.map((x) => stringify(x)).join('---\n'));
        return kubectl('apply', '-f', file);
      },
      physicalHost(name, options = {}) {
        const h = lab.hosts[name]!;
        return {
          apiVersion: 'tide.dev/v1alpha1',
          kind: 'PhysicalHost',
          metadata: { name },
          spec: {
            address: h.sshAddress,
            ssh: { user: h.sshUser, port: h.sshPort, secretRef: { name: SECRET, namespace: NAMESPACE } },
            libvirt: { uri: h.libvirtUri, migrationAddress: h.labAddress, migrationUri: h.migrationUri },
            capacity: { cpuCores: o.cpuCores, memoryMiB: 2048 },
            power: {
              onMethod: 'WakeOnLAN',
              offMethod: 'SSH',
              // Loopback only: the hooks' listener stands in for the host's NIC.
              wakeOnLAN: { macAddress: power.macOf(name), broadcastAddress: '127.0.0.1', port: power.wolPort },
              ...(options.fallbackIpmi ? { fallbackOnMethods: ['IPMI'], ipmi: { address: '127.0.0.1', port: power.bmc(name).port, secretRef: { name: SECRET, namespace: NAMESPACE } } } : {}),
              bootTimeoutSeconds: options.bootTimeoutSeconds ?? 120,
              shutdownTimeoutSeconds: 60,
            },
            standbyAllowed: options.standbyAllowed ?? true,
            ...(options.powerPolicy ? { powerPolicy: options.powerPolicy } : {}),
          },
        };
      },
      placement(domain) {
        return { apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachinePlacement', metadata: { name: domain, namespace: VM_NAMESPACE }, spec: { domain } };
      },
      policy(spec) {
        return {
          apiVersion: 'tide.dev/v1alpha1',
          kind: 'ConsolidationPolicy',
          metadata: { name: 'lab' },
          spec: { strategy: 'paper', evaluationInterval: '10s', migrationCooldown: '0s', powerCooldown: '0s', migrationTimeout: '5m', ...spec },
        };
      },
      async running(host) {
        const out = await lab.exec(host, 'virsh', '-c', 'qemu:///system', 'list', '--name', '--state-running');
        return out.split('\n').map((l) => l.trim()).filter(Boolean).sort();
      },
      async waitForVmLoads(what, ok, timeoutMs = 120_000) {
        // Three readings in a row, a few observations apart: one quiet sample mid-boot is not enough.
        let streak = 0;
        return waitFor(what, async () => {
          const list = await world.getJson('vmp', '-n', VM_NAMESPACE);
          const loads: Record<string, number> = Object.fromEntries(list.items.map((vm: any) => [vm.metadata.name, vm.status?.cpuLoadPercent]));
          streak = Object.values(loads).every((l) => typeof l === 'number') && ok(loads) ? streak + 1 : 0;
          return streak >= 3 && loads;
        }, timeoutMs, 3000);
      },
      async startOperator(options = {}) {
        const kubeConfig = api.kubeConfig();
        const logger: Logger = createLogger({
          format: 'text',
          verbose: true,
          write: (line) => {
            log.push(line);
            if (process.env.TIDE_E2E_LOG) process.stderr.write(`[operator] ${line}\n`);
          },
        });
        const drivers = realDrivers({ clock: systemClock, hostLoad: 'domainSum', powerPollMs: 2000 });
        const operator = new Operator({
          kubeConfig,
          clock: systemClock,
          hypervisor: timed(drivers.hypervisor, migrations),
          power: drivers.power,
          writer: new KubeClusterWriter(kubeConfig, 'e2e-lab'),
          planner: plan,
          log: logger,
          observeIntervalMs: o.observeIntervalMs ?? 3000,
          overloadCooldownMs: 0,
          observer: recorder(migrations),
          ...options,
        });
        cleanups.push(() => drivers.hypervisor.close());
        cleanups.push(() => operator.stop());
        await operator.start();
        return operator;
      },
      stop,
    };
    return world;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The timing record of the latest migration of `vm` still waiting for `field`. */
function pending(migrations: MigrationTiming[], vm: string, field: keyof MigrationTiming): MigrationTiming | undefined {
  return [...migrations].reverse().find((m) => m.vm === vm && m[field] === undefined);
}

/** Notes when each planned migration's intent was written (the executor's startedAt). */
function recorder(migrations: MigrationTiming[]): RoundObserver {
  return {
    onPlanned(p, _snapshot, _policy, dryRun, nowMs) {
      if (dryRun) return;
      for (const a of p.actions) if (a.type === 'migrate') migrations.push({ vm: a.vm, from: a.from, to: a.to, plannedAtMs: nowMs });
    },
    onActionStarted(_id, action, atMs) {
      if (action.type !== 'migrate') return;
      const m = pending(migrations, action.vm, 'intentAtMs');
      if (m) m.intentAtMs = atMs;
    },
  };
}

/** The hypervisor driver, with the moment each migrate() is called and what libvirt's job took. */
function timed(driver: HypervisorDriver, migrations: MigrationTiming[]): HypervisorDriver {
  return {
    observeHost: (host: HostTarget): Promise<ObservedHost> => driver.observeHost(host),
    async migrate(request: MigrationRequest) {
      const calledAt = Date.now();
      const m = pending(migrations, request.domain, 'driverCalledAtMs') ?? { vm: request.domain, from: request.from.name, to: request.to.name };
      if (!migrations.includes(m)) migrations.push(m);
      m.driverCalledAtMs = calledAt;
      const outcome = (await driver.migrate(request)) as DetailedMigrationOutcome;
      m.doneAtMs = Date.now();
      m.succeeded = outcome.succeeded;
      const t = outcome.timings;
      if (t) {
        m.commandIssuedAtMs = calledAt + t.precheckMs;
        m.commandDoneAtMs = calledAt + t.commandMs;
        if (t.jobStartedAfterMs !== undefined) m.jobStartedAtMs = calledAt + t.jobStartedAfterMs;
      }
      return outcome;
    },
    close: () => driver.close(),
  };
}

export { waitFor as eventually };

/** Prints the operator's log and the power hooks' events when the test fails (call first thing in a test). */
export function diagnoseOnFailure(t: { after(fn: () => void): void; diagnostic(message: string): void }, world: () => LabWorld | undefined): { passed(): void } {
  let passed = false;
  t.after(() => {
    const w = world();
    if (!passed && w) t.diagnostic(`operator log (last 100 lines):\n${w.log.slice(-100).join('\n')}\npower hooks: ${JSON.stringify(w.power.events)}`);
  });
  return { passed: () => (passed = true) };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
