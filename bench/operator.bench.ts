/**
 * `npm run bench:operator -- --hosts N --vms M [--rounds R] [--server embedded|real]
 *   [--kube-qps Q] [--kube-burst B] [--observe-concurrency C] [--create-concurrency K]`
 *
 * The whole operator at fleet size — informers (Secrets too), reconciler, executor, status
 * writer, metrics, history store, the rate-limited client — on the simulated data centre's
 * drivers (src/sim), against the embedded API server (`tide apiserver`, a child process, so
 * its memory is not counted) or a private real kube-apiserver + etcd (scripts/envtest.sh).
 *
 * The fleet: N hosts of 64 cores / 256 GiB, M VMs of 2 vCPUs / 2 GiB spread evenly, each with a
 * base load of 10–40 % and a jitter of ±2 points redrawn every 10 s — smaller than the status
 * band (status.ts: 5 points), as a quiet fleet's loads are. The policy runs in dry run: Tide
 * plans (every 10 s) but moves nothing. Rounds run back to back (observe interval 1 s).
 *
 * Steady rounds: every round after the first observe round and the first plan round (those
 * write every status once). No host changes power (dry run) and no load crosses its band (the
 * jitter is within it), so each write in a steady round is one the bands failed to avoid.
 *
 * Per round, every API request the operator sends (through kube-client.ts) is counted by verb:
 * those leaving between a round's start and end. Memory:
 *  - `rssMiB`: this process's peak RSS, sampled every second — node and the loaded code
 *    (tsx included), the operator, the simulator and the bench's own lists;
 *  - `simulatorMiB`: what the fleet's specs and the simulated data centre hold on the heap, measured
 *    before the operator starts (heap used after a forced GC, minus the same before the fleet
 *    was built); their growth while running counts as the operator's;
 *  - `operatorRssMiB`: rssMiB − simulatorMiB, the operator's own process as it would be alone
 *    (code and runtime included).
 * Also printed: the operator's heap used after a forced GC at the end (live objects, no garbage),
 * the history store's dropped samples, and per phase (object creation, informer sync, first
 * rounds, steady rounds) the process.memoryUsage() sample of highest RSS and each figure's
 * highest — what the peak is made of (heap in use, heap reserved, off-heap), and when.
 * Prints a table, and as its last line one JSON object.
 * Profile with `node --cpu-prof --import tsx bench/operator.bench.ts …`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../src/api/crds.ts';
import { silentLogger } from '../src/controller/log.ts';
import { kubeVerb, tunedKubeConfig, type KubeVerb } from '../src/controller/kube-client.ts';
import { startRuntime } from '../src/controller/runtime.ts';
import { SimClock } from '../src/sim/clock.ts';
import { SimDataCentre, type SimHostSpec, type SimVmSpec } from '../src/sim/datacentre.ts';
import { SimHypervisorDriver, SimPowerDriver } from '../src/sim/drivers.ts';
import type { LoadTimeline } from '../src/sim/load.ts';
import { linearPower } from '../src/sim/power-model.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const NAMESPACE = 'tide-system';
const VERBS: KubeVerb[] = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

const { values: args } = parseArgs({
  options: {
    hosts: { type: 'string', default: '100' },
    vms: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    server: { type: 'string', default: 'embedded' },
    'kube-qps': { type: 'string' },
    'kube-burst': { type: 'string' },
    'observe-concurrency': { type: 'string' },
    'create-concurrency': { type: 'string', default: '32' },
  },
});
const positive = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0)) throw new Error(`--${flag}: expected a positive number, got '${value}'`);
  return n;
};
const HOSTS = positive('hosts', args.hosts)!;
const VMS = positive('vms', args.vms ?? String(HOSTS * 10))!;
const ROUNDS = positive('rounds', args.rounds)!;
const SERVER = args.server;
if (SERVER !== 'embedded' && SERVER !== 'real') throw new Error(`--server: embedded or real, got '${SERVER}'`);

/** A deterministic jitter: ±2 points around `base`, redrawn every 10 s (hash of VM index and period). */
function jitteredLoad(index: number, base: number): LoadTimeline {
  const period = 10;
  const noise = (p: number) => {
    let h = Math.imul(index ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(p, 0xc2b2ae35);
    h ^= h >>> 13;
    h = Math.imul(h, 0x27d4eb2f);
    h ^= h >>> 15;
    return ((h >>> 0) / 2 ** 32) * 4 - 2;
  };
  return {
    at: (s) => Math.round((base + noise(Math.floor(s / period))) * 10) / 10,
    nextChange: (s) => (Math.floor(s / period) + 1) * period,
  };
}

function fleet(): { hosts: SimHostSpec[]; vms: SimVmSpec[] } {
  const hosts: SimHostSpec[] = Array.from({ length: HOSTS }, (_, i) => ({
    name: `host-${i + 1}`, cpuCores: 64, memoryMiB: 262_144, power: linearPower(100, 250), offWatts: 5,
    bootSeconds: 120, shutdownSeconds: 40, powerState: 'on', standbyAllowed: true, maintenance: false, meterId: `meter-${i + 1}`,
  }));
  const vms: SimVmSpec[] = Array.from({ length: VMS }, (_, i) => ({
    name: `vm-${i + 1}`, host: `host-${(i % HOSTS) + 1}`, vcpus: 2, memoryMiB: 2048,
    load: jitteredLoad(i, 10 + ((i * 7919) % 31)), doNotMigrate: false,
  }));
  return { hosts, vms };
}

interface Server {
  kubeconfig: string;
  stop(): Promise<void>;
}

async function startEmbedded(dir: string): Promise<Server> {
  const kubeconfig = join(dir, 'kubeconfig');
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'bin/tide.js'), 'apiserver', '--port', '0', '--kubeconfig', kubeconfig, '--apply', join(ROOT, 'manifests/crds')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; !existsSync(kubeconfig); i++) {
    if (child.exitCode !== null || i > 600) throw new Error('the embedded API server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    kubeconfig,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function startReal(): Promise<Server> {
  const { startRealApiServer } = await import('../test/realkube/envtest.ts');
  const server = await startRealApiServer({ private: true });
  try {
    await server.kubectlOk(['apply', '-f', join(ROOT, 'manifests/crds')]);
    await server.kubectlOk(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { kubeconfig: server.kubeconfigPath, stop: () => server.stop() };
}

/** The namespace, the one Secret every host names, the hosts, the placements and the policy. */
function objects(hosts: SimHostSpec[], vms: SimVmSpec[]): object[] {
  const v = `${GROUP}/${VERSION}`;
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    // Every host names this Secret: read from the informer's cache, never with a GET.
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ssh', namespace: NAMESPACE }, data: { known_hosts: Buffer.from('x').toString('base64') } },
    ...hosts.map((h, i) => ({
      apiVersion: v, kind: 'PhysicalHost', metadata: { name: h.name, labels: { rack: `rack-${i % 50}` } },
      spec: {
        address: h.name, capacity: { cpuCores: h.cpuCores, memoryMiB: h.memoryMiB },
        ssh: { secretRef: { name: 'ssh' } },
        power: { onMethod: 'WakeOnLAN', offMethod: 'SSH', wakeOnLAN: { macAddress: mac(i) }, idleWatts: 100, peakWatts: 250 },
        standbyAllowed: true,
      },
    })),
    ...vms.map((vm) => ({ apiVersion: v, kind: 'VirtualMachinePlacement', metadata: { name: vm.name, namespace: 'default' }, spec: { domain: vm.name } })),
    { apiVersion: v, kind: 'ConsolidationPolicy', metadata: { name: 'fleet' }, spec: { strategy: 'tide', dryRun: true, evaluationInterval: '10s', minHostsOn: 1 } },
  ];
}

/** Creates the objects through the API, `create-concurrency` requests in flight (the bench's own client, not rate-limited). */
async function createAll(kc: KubeConfig, list: object[]): Promise<void> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const create = (obj: any) => {
    if (obj.kind === 'Namespace') return core.createNamespace({ body: obj });
    if (obj.kind === 'Secret') return core.createNamespacedSecret({ namespace: obj.metadata.namespace, body: obj });
    const plural = obj.kind === 'PhysicalHost' ? 'physicalhosts' : obj.kind === 'ConsolidationPolicy' ? 'consolidationpolicies' : 'virtualmachineplacements';
    const base = { group: GROUP, version: VERSION, plural, body: obj };
    return obj.metadata.namespace ? custom.createNamespacedCustomObject({ ...base, namespace: obj.metadata.namespace }) : custom.createClusterCustomObject(base);
  };
  await create(list[0]);
  let next = 1;
  const worker = async () => {
    while (next < list.length) await create(list[next++]!);
  };
  await Promise.all(Array.from({ length: Number(args['create-concurrency']) }, worker));
}

function mac(i: number): string {
  const hex = (i + 1).toString(16).padStart(6, '0');
  return `02:00:00:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
}

interface Round {
  kind: 'observe' | 'plan';
  ms: number;
  /** Observation done → plan handed on (snapshot, planner, policy status): plan rounds only. */
  decisionMs?: number;
  requests: Record<KubeVerb, number>;
  statusWrites: number;
  error?: string;
}

// A forced GC for the memory figures (the doc-comment): `gc` without --expose-gc on the command line.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapUsedAfterGc = () => {
  gc();
  return process.memoryUsage().heapUsed;
};
const MiB = (bytes: number) => Math.round(bytes / 2 ** 20);

const pct = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;
};

/**
 * Where the memory goes, and when: process.memoryUsage() every 2 s, kept per phase as the sample
 * with the highest RSS and the highest of each figure. RSS minus heapTotal is what lives off V8's
 * heap (code, stacks, malloc'd Buffers — `external` holds those, `arrayBuffers` among them).
 */
type Phase = 'create' | 'sync' | 'first rounds' | 'steady';
const MEMORY_FIELDS = ['rss', 'heapTotal', 'heapUsed', 'external', 'arrayBuffers'] as const;
type Memory = Record<(typeof MEMORY_FIELDS)[number], number>;
const memoryByPhase = new Map<Phase, { atPeak: Memory; max: Memory; samples: number }>();
let phase: Phase = 'create';
const sampleMemory = () => {
  const m = process.memoryUsage();
  const p = memoryByPhase.get(phase) ?? memoryByPhase.set(phase, { atPeak: m, max: { ...m }, samples: 0 }).get(phase)!;
  p.samples++;
  if (m.rss >= p.atPeak.rss) p.atPeak = m;
  for (const f of MEMORY_FIELDS) p.max[f] = Math.max(p.max[f], m[f]);
};
const memoryTimer = setInterval(sampleMemory, 2000);
const memoryTable = () => {
  const lines = [['phase', 'samples', ...MEMORY_FIELDS.map((f) => `${f} at peak RSS`), ...MEMORY_FIELDS.map((f) => `max ${f}`)].join('\t')];
  for (const [name, p] of memoryByPhase) lines.push([name, p.samples, ...MEMORY_FIELDS.map((f) => MiB(p.atPeak[f])), ...MEMORY_FIELDS.map((f) => MiB(p.max[f]))].join('\t'));
  return `memory by phase (MiB):\n${lines.join('\n')}`;
};

const dir = mkdtempSync(join(tmpdir(), 'tide-bench-operator-'));
const heapBeforeFleet = heapUsedAfterGc();
const { hosts, vms } = fleet();
const createStarted = performance.now();
const server = SERVER === 'embedded' ? await startEmbedded(dir) : await startReal();
let stopAll = async () => {};
try {
  const admin = new KubeConfig();
  admin.loadFromFile(server.kubeconfig);
  const creator = tunedKubeConfig(admin, { qps: 1e6, burst: 1_000_000 });
  await createAll(creator, objects(hosts, vms));
  creator.destroy();
  console.log(`${SERVER} server up with ${hosts.length} PhysicalHosts and ${vms.length} VirtualMachinePlacements in ${((performance.now() - createStarted) / 1000).toFixed(1)} s`);

  phase = 'sync';
  const dc = new SimDataCentre(hosts, vms, { bandwidthMbps: 10_000, overheadSeconds: 2, cpuPercent: 10 }, Date.parse('2026-01-01T00:00:00Z'));
  const clock = new SimClock(dc);
  const simulatorBytes = heapUsedAfterGc() - heapBeforeFleet;
  const stopClock = clock.runRealtime(1, 200);

  const rounds: Round[] = [];
  let current: Round | undefined;
  let observedAt: number | undefined;
  const zero = () => Object.fromEntries(VERBS.map((v) => [v, 0])) as Record<KubeVerb, number>;
  let rssMax = 0;
  const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 1000);
  let done: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const startedAt = performance.now();
  const runtime = await startRuntime({
    kubeConfig: admin,
    clock,
    hypervisor: new SimHypervisorDriver(clock),
    power: new SimPowerDriver(clock),
    log: silentLogger,
    namespace: NAMESPACE,
    identity: 'bench',
    leaderElection: false,
    observeIntervalMs: 1000,
    metricsPort: 0,
    metricsHost: '127.0.0.1',
    store: { dataDir: join(dir, 'history') },
    kubeQps: positive('kube-qps', args['kube-qps']),
    kubeBurst: positive('kube-burst', args['kube-burst']),
    ...(args['observe-concurrency'] ? { observeConcurrency: positive('observe-concurrency', args['observe-concurrency']) } : {}),
    onKubeRequest(method, url) {
      if (!current) return;
      const verb = kubeVerb(method, url);
      current.requests[verb]++;
      if (verb === 'update' && url.split('?')[0]!.endsWith('/status')) current.statusWrites++;
    },
    observer: {
      onRoundStarted(kind) {
        if (phase === 'sync') {
          sampleMemory();
          phase = 'first rounds';
        }
        current = { kind, ms: performance.now(), requests: zero(), statusWrites: 0 };
        observedAt = undefined;
      },
      onObserved() {
        observedAt ??= performance.now();
      },
      onPlanned() {
        if (current && observedAt !== undefined) current.decisionMs = performance.now() - observedAt;
      },
      onRoundDone(_kind, _ms, error) {
        if (!current) return;
        current.ms = performance.now() - current.ms;
        if (error) current.error = String((error as Error)?.message ?? error);
        rounds.push(current);
        current = undefined;
        const firstObserve = rounds.findIndex((r) => r.kind === 'observe');
        const firstPlan = rounds.findIndex((r) => r.kind === 'plan');
        const steady = rounds.slice(Math.max(firstObserve, firstPlan) + 1);
        if (firstObserve >= 0 && firstPlan >= 0 && phase === 'first rounds') {
          sampleMemory();
          phase = 'steady';
        }
        if (firstObserve >= 0 && firstPlan >= 0 && steady.filter((r) => r.kind === 'observe').length >= ROUNDS && steady.some((r) => r.kind === 'plan')) done();
      },
    },
  });
  stopAll = async () => {
    clearInterval(rssTimer);
    await runtime.stop();
    stopClock();
  };
  const syncedMs = performance.now() - startedAt;
  await finished;
  rssMax = Math.max(rssMax, process.memoryUsage().rss);
  sampleMemory();
  clearInterval(memoryTimer);
  const liveHeapAtEnd = heapUsedAfterGc();

  const firstObserve = rounds.findIndex((r) => r.kind === 'observe');
  const firstPlan = rounds.findIndex((r) => r.kind === 'plan');
  const steady = rounds.slice(Math.max(firstObserve, firstPlan) + 1);
  console.log(`operator started (informers synced) in ${(syncedMs / 1000).toFixed(1)} s; ${rounds.length} rounds, the last ${steady.length} steady`);
  console.log(['#', 'round', 'steady', 'ms', 'decision ms', ...VERBS, 'status writes'].join('\t'));
  rounds.forEach((r, i) => {
    console.log([i + 1, r.kind, i > Math.max(firstObserve, firstPlan) ? 'yes' : 'no', Math.round(r.ms), r.decisionMs !== undefined ? Math.round(r.decisionMs) : '', ...VERBS.map((v) => r.requests[v]), r.statusWrites, r.error ?? ''].join('\t'));
  });
  const stats = (list: Round[]) => ({ p50: Math.round(pct(list.map((r) => r.ms), 0.5)), max: Math.round(Math.max(...list.map((r) => r.ms))) });
  const mean = (f: (r: Round) => number) => Math.round((steady.reduce((s, r) => s + f(r), 0) / steady.length) * 10) / 10;
  const observeRounds = steady.filter((r) => r.kind === 'observe');
  const planRounds = steady.filter((r) => r.kind === 'plan');
  const decisions = planRounds.map((r) => r.decisionMs ?? NaN);
  console.log(`initial sync: first observe round ${Math.round(rounds[firstObserve]!.ms)} ms, first plan round ${Math.round(rounds[firstPlan]!.ms)} ms`);
  const dropped = runtime.store.stats().droppedSamples;
  console.log(`memory: peak RSS ${MiB(rssMax)} MiB; simulator and fleet lists ${MiB(simulatorBytes)} MiB of heap; operator ${MiB(rssMax - simulatorBytes)} MiB; heap in use after a GC at the end ${MiB(liveHeapAtEnd)} MiB (simulator included); history store dropped ${dropped} samples`);
  console.log(memoryTable());
  console.log(`steady: decision (observation done → plan handed on) p50 ${Math.round(pct(decisions, 0.5))} ms, max ${Math.round(Math.max(...decisions))} ms; ${rounds.filter((r) => r.error).length} failed rounds`);
  const result = {
    hosts: HOSTS,
    vms: VMS,
    server: SERVER,
    observeRoundMs: stats(observeRounds),
    planRoundMs: stats(planRounds),
    apiRequestsPerRound: Object.fromEntries(['get', 'list', 'watch', 'create', 'update', 'patch'].map((v) => [v, mean((r) => r.requests[v as KubeVerb])])),
    statusWritesPerSteadyRound: mean((r) => r.statusWrites),
    rssMiB: MiB(rssMax),
    simulatorMiB: MiB(simulatorBytes),
    operatorRssMiB: MiB(rssMax - simulatorBytes),
  };
  await stopAll();
  stopAll = async () => {};
  console.log(JSON.stringify(result));
} finally {
  clearInterval(memoryTimer);
  await stopAll().catch(() => undefined);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
