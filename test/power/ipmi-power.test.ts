import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/api/clock.ts';
import { PowerActionError, type HostTarget } from '../../src/api/drivers.ts';
import { HostPowerDriver, ipmiTargetOf } from '../../src/power/control/host-power-driver.ts';
import { execFileRunner, IpmiTool, type ProgramRunner } from '../../src/power/control/ipmitool.ts';
import { fakeHost, type FakeHost } from './peers/fake-host.ts';
import { startIpmiSim, type SimulatedBmc } from './peers/ipmi-sim.ts';
import { startSshd, type TestSshd } from './peers/sshd.ts';
import { waitFor } from './peers/wait.ts';

let dir: string;
let bmc: SimulatedBmc;
// The host's own sshd (libvirt is asked there right before the BMC is told to power off).
let sshd: TestSshd;
let fake: FakeHost;
const invocations: Array<{ args: string[]; envKeys: string[] }> = [];
const spyRunner: ProgramRunner = (file, args, env, timeoutMs) => {
  invocations.push({ args, envKeys: Object.keys(env) });
  return execFileRunner(file, args, env, timeoutMs);
};
const ipmi = new IpmiTool({ run: spyRunner });

function host(bmcSecrets = { username: bmc.username, password: bmc.password }, bootTimeoutSeconds = 20): HostTarget {
  const secrets = { ...bmcSecrets, 'ssh-privatekey': sshd.clientPrivateKey, known_hosts: sshd.knownHostsLine };
  return {
    name: 'node-ipmi',
    spec: {
      address: '127.0.0.1',
      ssh: { user: sshd.username, port: sshd.port },
      capacity: { cpuCores: 4, memoryMiB: 4096 },
      power: { onMethod: 'IPMI', offMethod: 'IPMI', ipmi: { address: '127.0.0.1', port: bmc.port, secretRef: { name: 'bmc', namespace: 'tide' } }, bootTimeoutSeconds, shutdownTimeoutSeconds: 20 },
    },
    secrets,
  };
}
const bmcTarget = () => ({ address: '127.0.0.1', port: bmc.port, username: bmc.username, password: bmc.password });

function driver(domains: string[] = []) {
  return new HostPowerDriver({
    // Observation through the BMC itself, as the operator can for IPMI hosts.
    observe: (h) => ipmi.powerStatus(ipmiTargetOf(h)),
    domainsOn: async () => domains,
    clock: systemClock,
    pollMs: 200,
    ipmi,
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tide-ipmi-'));
  fake = fakeHost(dir);
  sshd = await startSshd(dir, { execute: { path: fake.bin } });
  bmc = await startIpmiSim(dir);
  await waitFor(`ipmi_sim to answer (${bmc.process.output()})`, async () => (await ipmi.powerStatus(bmcTarget())) === 'off', 20_000);
});
after(async () => {
  await bmc?.process.stop();
  await sshd?.process.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('IPMI power on and soft power off through ipmitool lanplus against ipmi_sim, confirmed by the BMC', async () => {
  await driver().powerOn(host());
  assert.equal(bmc.power(), '1');
  assert.match(bmc.calls(), /^set power 1$/m);
  await driver().powerOff(host());
  assert.equal(bmc.power(), '0');
  assert.match(bmc.calls(), /^set shutdown 1$/m, 'a soft (orderly) power-off, not a hard one');
  for (const { args, envKeys } of invocations) {
    assert.ok(!args.some((a) => a.includes(bmc.password)), `password on the command line: ${args.join(' ')}`);
    assert.deepEqual(envKeys, ['IPMI_PASSWORD']);
    assert.ok(args.includes('-E'));
  }
});

test('Wake-on-LAN first, IPMI as its fallback: powerOn uses onMethod unless the executor names the fallback', async () => {
  const sent: string[] = [];
  const d = new HostPowerDriver({
    observe: (h) => ipmi.powerStatus(ipmiTargetOf(h)), domainsOn: async () => [], clock: systemClock, pollMs: 200, ipmi,
    wakeOnLan: async (t) => void sent.push(t.macAddress), // a packet lost on the way: nothing boots
  });
  const h = host(undefined, 2);
  h.spec.power = { ...(h.spec.power as object), onMethod: 'WakeOnLAN', fallbackOnMethods: ['IPMI'], wakeOnLAN: { macAddress: '52:54:00:12:34:56', broadcastAddress: '127.255.255.255', port: 9 } };
  const callsBefore = bmc.calls();
  await assert.rejects(d.powerOn(h), (err: unknown) => err instanceof PowerActionError && /not observed on within 2s after Wake-on-LAN to 52:54:00:12:34:56/.test(err.message));
  assert.deepEqual(sent, ['52:54:00:12:34:56']);
  assert.equal(bmc.calls().replace(callsBefore, '').match(/^set /m), null, 'the BMC was not asked');
  await d.powerOn(h, undefined, 'IPMI');
  assert.equal(bmc.power(), '1');
  assert.match(bmc.calls().replace(callsBefore, ''), /^set power 1$/m);
  assert.deepEqual(sent, ['52:54:00:12:34:56'], 'no packet for the IPMI attempt');
  await driver().powerOff(host());
});

test("IPMI: the host's libvirt is asked over SSH right before the BMC; a domain that arrived meanwhile, or a silent libvirt, stops the power-off", async () => {
  await driver().powerOn(host());
  const lists = () => fake.virshCalls().filter((argv) => argv.includes('list')).length;
  const listsBefore = lists();
  const callsBefore = bmc.calls();
  fake.setDomains(['incoming-vm']);
  await assert.rejects(driver().powerOff(host()), (err: unknown) => err instanceof PowerActionError && /incoming-vm/.test(err.message));
  fake.setDomains([]);
  fake.failVirsh('error: failed to connect to the hypervisor');
  await assert.rejects(driver().powerOff(host()), (err: unknown) => err instanceof PowerActionError && /did not answer/.test(err.message));
  fake.failVirsh(undefined);
  assert.equal(bmc.calls().replace(callsBefore, '').match(/^set /m), null, 'no chassis command sent');
  assert.equal(bmc.power(), '1');
  assert.equal(lists() - listsBefore, 2, 'libvirt asked once per attempt');
  assert.equal(fake.poweroffs(), 0, 'the check alone never runs systemctl poweroff');
  await driver().powerOff(host());
  assert.equal(bmc.power(), '0');
});

test('a host with a VM on it is not powered off', async () => {
  await driver().powerOn(host());
  const callsBefore = bmc.calls();
  await assert.rejects(driver(['vm-40']).powerOff(host()), (err: unknown) => err instanceof PowerActionError && /VMs still on it: vm-40/.test(err.message));
  assert.equal(bmc.calls().replace(callsBefore, '').match(/^set /m), null, 'no chassis command sent');
  assert.equal(bmc.power(), '1');
  await driver().powerOff(host());
});

test('a host that does not come back is reported once its boot timeout passes, not retried', async () => {
  bmc.stick();
  const powerOns = () => bmc.calls().match(/^set power 1$/gm)?.length ?? 0;
  const before = powerOns();
  const started = Date.now();
  await assert.rejects(driver().powerOn(host(undefined, 2)), (err: unknown) =>
    err instanceof PowerActionError && err.action === 'on' && /not observed on within 2s after IPMI chassis power on/.test(err.message));
  assert.ok(Date.now() - started < 15_000);
  assert.equal(powerOns() - before, 1, 'one power-on request, then only observation');
});

test('a wrong IPMI password fails the action without showing the password', async () => {
  await assert.rejects(driver().powerOn(host({ username: bmc.username, password: 'wrong-pw-1234' })), (err: unknown) =>
    err instanceof PowerActionError && /powering node-ipmi on failed/.test(err.message) && !err.message.includes('wrong-pw-1234'));
});
