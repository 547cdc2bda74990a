/**
 * Secret hygiene: every Secret value Tide reads carries a recognisable canary, the operator runs
 * rounds in which those credentials are used and fail — an IPMI password the BMC refuses (a real
 * ipmi_sim), an SSH key a real sshd does not accept, a private key that cannot be parsed, a host
 * that cannot be reached — and afterwards no log line, Event, status, metric (/metrics) or
 * history record holds any of them. The MQTT password and the MongoDB URI's password, which come
 * from the environment rather than from Secrets, are checked where they are used: failed
 * connections must not echo them.
 *
 * The world: paper-consolidation on the simulator (so the planner consolidates and powers node100
 * off, through the real power driver: SSH check on a real sshd, then IPMI to ipmi_sim with the
 * wrong password), plus three hosts outside the simulation observed by the real libvirt-over-SSH
 * driver, each failing its own way.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { HypervisorDriver, PowerDriver } from '../../src/api/drivers.ts';
import { createLogger } from '../../src/controller/log.ts';
import { powerSeenIn } from '../../src/controller/real-drivers.ts';
import { startRuntime, type Runtime } from '../../src/controller/runtime.ts';
import { LibvirtSshDriver } from '../../src/hypervisor/libvirt-ssh-driver.ts';
import { startApiServer, type ApiServer } from '../../src/kube/apiserver/index.ts';
import { readManifests } from '../../src/kube/manifests.ts';
import { HostPowerDriver } from '../../src/power/control/host-power-driver.ts';
import { IpmiTool } from '../../src/power/control/ipmitool.ts';
import { MqttMeterSource } from '../../src/power/meters/mqtt-meter-source.ts';
import { RejectionRecorder } from '../../src/power/meters/meter-rejections.ts';
import { SimClock } from '../../src/sim/clock.ts';
import { SimHypervisorDriver } from '../../src/sim/drivers.ts';
import { createDataCentre } from '../../src/sim/run.ts';
import { loadScenario } from '../../src/sim/scenario.ts';
import { openHistoryStore } from '../../src/store/open-store.ts';
import { Registry } from 'prom-client';
import { systemClock } from '../../src/api/clock.ts';
import { repoPath } from '../kube/harness.ts';
import { RawClient } from '../kube/raw-client.ts';
import { fakeHost } from '../power/peers/fake-host.ts';
import { startIpmiSim, type SimulatedBmc } from '../power/peers/ipmi-sim.ts';
import { freePort } from '../power/peers/ports.ts';
import { keygen, startSshd, type TestSshd } from '../power/peers/sshd.ts';
import { waitFor } from '../power/peers/wait.ts';

const tag = randomBytes(4).toString('hex');
/** The canaries: one per Secret value that is not key material. */
const CANARY = {
  ipmiPassword: `S3CR3T-canary-ipmi-${tag}`,
  ipmiUser: `canaryuser${tag}`,
  garbageKey: `S3CR3T-canary-sshkey-${tag}`,
  mqttPassword: `S3CR3T-canary-mqtt-${tag}`,
  mongoPassword: `S3CR3T-canary-mongo-${tag}`,
};

let dir: string;
let api: ApiServer;
let sshd: TestSshd;
let bmc: SimulatedBmc;
let runtime: Runtime;
let stopClock: () => void;
/** A MongoDB store opened with a password in its URI on a port nobody listens on; started early, it fails while the operator runs. */
let mongoAttempt: Promise<Error | undefined>;
const logLines: string[] = [];
/** Every secret string to look for: the canaries and each line of the private keys' bodies. */
const secrets: string[] = [];

function keyMaterial(privateKey: string): string[] {
  return privateKey.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'));
}

const secret = (name: string, stringData: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'tide-system' }, type: 'Opaque', stringData });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tide-secrets-'));
  for (const sub of ['sshd', 'bmc', 'keys', 'history']) mkdirSync(join(dir, sub));
  const fake = fakeHost(join(dir, 'sshd'));
  sshd = await startSshd(join(dir, 'sshd'), { execute: { path: fake.bin } });
  bmc = await startIpmiSim(join(dir, 'bmc'));
  const wrongKey = keygen(join(dir, 'keys', 'not-authorized')).privateKey;
  secrets.push(...Object.values(CANARY), ...keyMaterial(sshd.clientPrivateKey), ...keyMaterial(wrongKey));
  const closedPort = await freePort();
  const mongoUri = `mongodb://tide:${CANARY.mongoPassword}@127.0.0.1:${closedPort}/tide`;
  mongoAttempt = openHistoryStore({ mongodbUri: mongoUri, dataDir: join(dir, 'unused') }).then(
    async (store) => {
      await store.close();
      return undefined;
    },
    (err: Error) => err,
  );

  const paper = readManifests(repoPath('manifests/examples/paper')) as any[];
  const node100 = paper.find((o) => o.kind === 'PhysicalHost' && o.metadata.name === 'node100');
  // node100 is powered through the real driver: SSH check on the test sshd, then IPMI with a password the BMC refuses.
  node100.spec = {
    ...node100.spec,
    address: '127.0.0.1',
    ssh: { user: sshd.username, port: sshd.port, secretRef: { name: 'tide-ssh', namespace: 'tide-system' } },
    power: { onMethod: 'IPMI', offMethod: 'IPMI', ipmi: { address: '127.0.0.1', port: bmc.port, secretRef: { name: 'bmc', namespace: 'tide-system' } }, bootTimeoutSeconds: 30, shutdownTimeoutSeconds: 30 },
  };
  const realHost = (name: string, port: number, secretName: string) => ({
    apiVersion: 'tide.dev/v1alpha1', kind: 'PhysicalHost', metadata: { name },
    spec: { address: '127.0.0.1', ssh: { user: sshd.username, port, secretRef: { name: secretName, namespace: 'tide-system' } }, capacity: { cpuCores: 4, memoryMiB: 4096 } },
  });
  const objects = [
    ...readManifests(repoPath('manifests/crds')),
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tide-system' } },
    secret('tide-ssh', { 'ssh-privatekey': sshd.clientPrivateKey, known_hosts: sshd.knownHostsLine }),
    secret('bmc', { username: CANARY.ipmiUser, password: CANARY.ipmiPassword }),
    secret('garbage-key', { 'ssh-privatekey': `-----BEGIN OPENSSH PRIVATE KEY-----\n${CANARY.garbageKey}\n-----END OPENSSH PRIVATE KEY-----\n`, known_hosts: sshd.knownHostsLine }),
    secret('wrong-key', { 'ssh-privatekey': wrongKey, known_hosts: sshd.knownHostsLine }),
    ...paper,
    realHost('node-garbage-key', sshd.port, 'garbage-key'),
    realHost('node-wrong-key', sshd.port, 'wrong-key'),
    realHost('node-down', closedPort, 'wrong-key'),
  ];
  api = await startApiServer({ objects: objects as never });

  const scenario = loadScenario('paper-consolidation');
  const clock = new SimClock(createDataCentre(scenario));
  stopClock = clock.runRealtime(50);
  const sim = new SimHypervisorDriver(clock);
  const real = new LibvirtSshDriver({ clock: systemClock, sampleIntervalMs: 100, connectTimeoutMs: 3000, commandTimeoutMs: 5000 });
  // Hosts of the simulation are observed there; the others over SSH for real.
  const hypervisor: HypervisorDriver = {
    observeHost: (h) => (clock.dc.hosts.has(h.name) ? sim : real).observeHost(h),
    migrate: (r) => sim.migrate(r),
    close: async () => {
      await real.close();
      await sim.close();
    },
  };
  const power: PowerDriver = new HostPowerDriver({
    clock,
    observe: async (h) => powerSeenIn(await hypervisor.observeHost(h)),
    domainsOn: async (h) => (await hypervisor.observeHost(h)).domains.filter((d) => d.state !== 'shutoff').map((d) => d.name),
    pollMs: 1000,
  });
  runtime = await startRuntime({
    kubeConfig: api.kubeConfig(), clock, hypervisor, power,
    log: createLogger({ format: 'text', verbose: true, write: (line) => logLines.push(line) }),
    namespace: 'tide-system', identity: 'secret-test', leaderElection: false, observeIntervalMs: 30_000,
    metricsPort: 0, metricsHost: '127.0.0.1', store: { dataDir: join(dir, 'history'), mongodbUri: '' },
  });
});

after(async () => {
  await runtime?.stop();
  stopClock?.();
  await api?.stop();
  await sshd?.process.stop();
  await bmc?.process.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The secrets found in `text`, by position in `secrets` (none is the answer wanted). */
function leaked(text: string): string[] {
  return secrets.filter((s) => text.includes(s));
}

function filesUnder(path: string): string[] {
  return readdirSync(path).flatMap((name) => {
    const full = join(path, name);
    return statSync(full).isDirectory() ? filesUnder(full) : [full];
  });
}

test('no log line, Event, status, metric or history record holds a Secret value, also when the credentials fail', { timeout: 120_000 }, async () => {
  const client = await RawClient.fromKubeConfig(api.kubeConfig());
  const get = async (path: string) => (await client.send({ method: 'GET', path })).body;
  // The rounds have used every credential: each real host has failed its own way, and node100's
  // power-off reached the BMC, which refused the password.
  const hosts = await waitFor('every failure to show in the status of its host', async () => {
    const list = await get('/apis/tide.dev/v1alpha1/physicalhosts');
    const reason = (name: string) => list.items.find((h: any) => h.metadata.name === name)?.status?.conditions?.find((c: any) => c.type === 'Reachable' && c.status === 'False')?.reason;
    const node100 = list.items.find((h: any) => h.metadata.name === 'node100');
    const done = reason('node-garbage-key') && reason('node-wrong-key') && reason('node-down') && node100?.status?.powerAction?.phase === 'Failed';
    return done ? list : undefined;
  }, 100_000);
  const byName = (name: string) => hosts.items.find((h: any) => h.metadata.name === name);
  assert.match(byName('node100').status.powerAction.error, /ipmitool/, 'the IPMI command ran and failed');
  assert.match(JSON.stringify(byName('node-wrong-key').status.conditions), /AuthenticationFailed/);
  assert.match(JSON.stringify(byName('node-down').status.conditions), /Unreachable/);
  assert.match(JSON.stringify(byName('node-garbage-key').status.conditions), /Cannot parse privateKey/);
  assert.ok(logLines.some((l) => /node100/.test(l) && /ipmitool|IPMI/.test(l)), 'the IPMI failure was logged');

  const events = await get('/api/v1/events');
  const places: Record<string, string> = {
    logs: logLines.join('\n'),
    events: JSON.stringify(events),
    hosts: JSON.stringify(hosts),
    placements: JSON.stringify(await get('/apis/tide.dev/v1alpha1/virtualmachineplacements')),
    policies: JSON.stringify(await get('/apis/tide.dev/v1alpha1/consolidationpolicies')),
    metrics: await (await fetch(`http://127.0.0.1:${runtime.metricsServer.port}/metrics`)).text(),
    history: filesUnder(join(dir, 'history')).map((f) => readFileSync(f, 'utf8')).join('\n'),
  };
  assert.ok(places.events.includes('node100'), 'Events were written');
  assert.ok(places.metrics.includes('tide_'), 'metrics were served');
  assert.ok(places.history.length > 0, 'history was recorded');
  for (const [where, text] of Object.entries(places)) assert.deepEqual(leaked(text), [], `a Secret value in the ${where}`);
});

test('the MQTT password is not in the error of a failed broker connection, nor in what is logged', { timeout: 30_000 }, async () => {
  const port = await freePort();
  const lines: string[] = [];
  const source = new MqttMeterSource({
    url: `mqtt://tide:${CANARY.mqttPassword}@127.0.0.1:${port}`, baseTopic: 'z2m', clock: systemClock,
    rejections: new RejectionRecorder({ registry: new Registry(), clock: systemClock, log: (l) => lines.push(l) }),
    username: 'tide', password: CANARY.mqttPassword, log: (l) => lines.push(l),
  });
  const error = await source.start(() => {}).then(() => undefined, (err: Error) => err);
  await source.stop();
  assert.ok(error, 'the connection to a closed port failed');
  assert.match(error.message, /cannot connect to the MQTT broker mqtt:\/\/\*\*\*@127\.0\.0\.1/);
  assert.deepEqual(leaked(`${error.message}\n${error.stack}\n${lines.join('\n')}`), []);
});

test('the MongoDB URI password is not in the error of a failed store', { timeout: 60_000 }, async () => {
  const error = await mongoAttempt;
  assert.ok(error, 'opening a store on a closed port failed');
  assert.deepEqual(leaked(`${error.message}\n${error.stack}`), []);
});

test('a failed ipmitool names its command line without the username from the Secret (regression)', async () => {
  // Found by the first test: "ipmitool -I lanplus … -U <username> … chassis power soft: …" reached the log,
  // the Event and status.powerAction.error. The runner below fails as execFileRunner does.
  const ipmi = new IpmiTool({ run: async (file, args) => { throw new Error(`${file} ${args.join(' ')}: Unable to establish IPMI v2 / RMCP+ session`); } });
  const error = await ipmi.chassisPower({ address: '10.0.0.9', port: 623, username: CANARY.ipmiUser, password: CANARY.ipmiPassword }, 'on').then(() => undefined, (err: Error) => err);
  assert.ok(error);
  assert.equal(error.message, 'ipmitool -I lanplus -C 3 -H 10.0.0.9 -p 623 -U *** -E -N 3 -R 2 chassis power on: Unable to establish IPMI v2 / RMCP+ session');
});
