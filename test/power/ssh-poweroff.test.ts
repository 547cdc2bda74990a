import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/api/clock.ts';
import { PowerActionError, type HostTarget } from '../../src/api/drivers.ts';
import { HostPowerDriver } from '../../src/power/control/host-power-driver.ts';
import { isKnownHostKey } from '../../src/power/control/known-hosts.ts';
import { fakeHost, type FakeHost } from './peers/fake-host.ts';
import { keygen, startSshd, type TestSshd } from './peers/sshd.ts';

let dir: string;
let sshd: TestSshd;
let fake: FakeHost;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tide-ssh-'));
  fake = fakeHost(dir);
  sshd = await startSshd(dir, { execute: { path: fake.bin } });
});
after(async () => {
  await sshd?.process.stop();
  rmSync(dir, { recursive: true, force: true });
});

function host(knownHosts: string, libvirtUri?: string): HostTarget {
  return {
    name: 'node-ssh',
    spec: {
      address: '127.0.0.1',
      ssh: { user: sshd.username, port: sshd.port },
      ...(libvirtUri ? { libvirt: { uri: libvirtUri } } : {}),
      capacity: { cpuCores: 4, memoryMiB: 4096 },
      power: { onMethod: 'None', offMethod: 'SSH', shutdownTimeoutSeconds: 10 },
    },
    secrets: { 'ssh-privatekey': sshd.clientPrivateKey, known_hosts: knownHosts },
  };
}

// The host counts as off once its (stand-in) systemctl poweroff has run.
let poweroffsBefore = 0;
const poweredOff = async () => (fake.poweroffs() > poweroffsBefore ? 'off' as const : 'on' as const);
const driver = (domainsOn: () => Promise<string[]> = async () => [], observe = poweredOff) =>
  new HostPowerDriver({ observe, domainsOn, clock: systemClock, pollMs: 100 });
const stillOn = async () => 'on' as const;

const virshLists = () => fake.virshCalls().filter((argv) => argv.includes('list'));

test('orderly power-off: one remote command asks libvirt for every live domain, then runs systemctl poweroff; host key checked', async () => {
  poweroffsBefore = fake.poweroffs();
  fake.setDomains([]);
  const lists = virshLists().length;
  await driver().powerOff(host(`# lab hosts\n${sshd.knownHostsLine}\n`));
  assert.equal(fake.poweroffs() - poweroffsBefore, 1, 'systemctl poweroff ran once');
  assert.equal(sshd.commands().split('\n').filter((l) => l.includes('systemctl poweroff')).length, 1, 'in the one command sent');
  const asked = virshLists().slice(lists);
  assert.equal(asked.length, 1);
  // Running, paused (an incoming migration is paused on its destination), shutting down, crashed …
  assert.deepEqual(asked[0], ['-c', 'qemu:///system', 'list', '--all', '--name', '--state-running', '--state-paused', '--state-other']);
});

test('the emptiness check is part of the power-off: a domain that arrives after the last observation stops it', async () => {
  const before = fake.poweroffs();
  // The observation Tide made before said "empty"; then a `virsh start` or an incoming migration landed.
  const lastObservation = async () => {
    fake.setDomains(['arrived-late']);
    return [];
  };
  await assert.rejects(driver(lastObservation, stillOn).powerOff(host(sshd.knownHostsLine)), (err: unknown) =>
    err instanceof PowerActionError && /refusing to power off/.test(err.message) && /arrived-late/.test(err.message));
  assert.equal(fake.poweroffs(), before, 'systemctl poweroff never ran');
  fake.setDomains([]);
});

test('a libvirt that does not answer refuses the power-off too', async () => {
  const before = fake.poweroffs();
  fake.failVirsh('error: failed to connect to the hypervisor');
  try {
    await assert.rejects(driver(undefined, stillOn).powerOff(host(sshd.knownHostsLine)), (err: unknown) =>
      err instanceof PowerActionError && /libvirt .*did not answer/.test(err.message) && /failed to connect to the hypervisor/.test(err.message));
  } finally {
    fake.failVirsh(undefined);
  }
  assert.equal(fake.poweroffs(), before);
});

test("the host's libvirt URI reaches virsh as one quoted word", async () => {
  poweroffsBefore = fake.poweroffs();
  const uri = 'qemu+unix:///system?socket=/run/libvirt/virtqemud-sock&mode=direct';
  const lists = virshLists().length;
  await driver().powerOff(host(sshd.knownHostsLine, uri));
  assert.deepEqual(virshLists().slice(lists)[0]?.slice(0, 3), ['-c', uri, 'list']);
  assert.equal(fake.poweroffs() - poweroffsBefore, 1);
});

test('an unknown host key is refused before any command is sent', async () => {
  const other = keygen(join(dir, 'impostor'));
  const [type, key] = other.publicKey.split(' ');
  const before = sshd.commands();
  const poweroffs = fake.poweroffs();
  await assert.rejects(driver(undefined, stillOn).powerOff(host(`[127.0.0.1]:${sshd.port} ${type} ${key}\n`)), (err: unknown) =>
    err instanceof PowerActionError && /host key not in known_hosts/.test(err.message));
  await assert.rejects(driver(undefined, stillOn).powerOff(host(`otherhost ${sshd.knownHostsLine.split(' ').slice(1).join(' ')}\n`)), /host key not in known_hosts/);
  assert.equal(sshd.commands(), before);
  assert.equal(fake.poweroffs(), poweroffs);
});

test('no power-off while VMs run, or while the hypervisor cannot say', async () => {
  const before = sshd.commands();
  await assert.rejects(driver(async () => ['web-1', 'db-2']).powerOff(host(sshd.knownHostsLine)), /VMs still on it: web-1, db-2/);
  await assert.rejects(driver(async () => { throw new Error('libvirt unreachable'); }).powerOff(host(sshd.knownHostsLine)), /cannot tell whether VMs run on it \(libvirt unreachable\)/);
  assert.equal(sshd.commands(), before);
});

test('hashed known_hosts entries (ssh-keygen -H) match, @revoked keys never do', () => {
  const file = join(dir, 'known_hosts_hashed');
  writeFileSync(file, `${sshd.knownHostsLine}\n`);
  execFileSync('ssh-keygen', ['-q', '-H', '-f', file]);
  const hashed = readFileSync(file, 'utf8');
  assert.match(hashed, /^\|1\|/);
  const key = Buffer.from(sshd.knownHostsLine.split(' ')[2]!, 'base64');
  assert.equal(isKnownHostKey(hashed, '127.0.0.1', sshd.port, key), true);
  assert.equal(isKnownHostKey(hashed, '127.0.0.1', sshd.port + 1, key), false);
  assert.equal(isKnownHostKey(`${hashed}@revoked ${sshd.knownHostsLine}\n`, '127.0.0.1', sshd.port, key), false);
});
