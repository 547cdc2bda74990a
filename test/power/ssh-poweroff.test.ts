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
import { keygen, startSshd, type TestSshd } from './peers/sshd.ts';

let dir: string;
let sshd: TestSshd;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tide-ssh-'));
  sshd = await startSshd(dir);
});
after(async () => {
  await sshd?.process.stop();
  rmSync(dir, { recursive: true, force: true });
});

function host(knownHosts: string): HostTarget {
  return {
    name: 'node-ssh',
    spec: {
      address: '127.0.0.1',
      ssh: { user: sshd.username, port: sshd.port },
      capacity: { cpuCores: 4, memoryMiB: 4096 },
      power: { onMethod: 'None', offMethod: 'SSH', shutdownTimeoutSeconds: 10 },
    },
    secrets: { 'ssh-privatekey': sshd.clientPrivateKey, known_hosts: knownHosts },
  };
}

// The host counts as off once its sshd has received the poweroff command.
const poweredOff = async () => (sshd.commands().includes('systemctl poweroff') ? 'off' as const : 'on' as const);
const driver = (domainsOn: () => Promise<string[]> = async () => [], observe = poweredOff) =>
  new HostPowerDriver({ observe, domainsOn, clock: systemClock, pollMs: 100 });
const stillOn = async () => 'on' as const;

test('orderly power-off runs systemctl poweroff over SSH with the host key checked', async () => {
  await driver().powerOff(host(`# lab hosts\n${sshd.knownHostsLine}\n`));
  assert.equal(sshd.commands(), 'systemctl poweroff\n');
});

test('an unknown host key is refused before any command is sent', async () => {
  const other = keygen(join(dir, 'impostor'));
  const [type, key] = other.publicKey.split(' ');
  const before = sshd.commands();
  await assert.rejects(driver(undefined, stillOn).powerOff(host(`[127.0.0.1]:${sshd.port} ${type} ${key}\n`)), (err: unknown) =>
    err instanceof PowerActionError && /host key not in known_hosts/.test(err.message));
  await assert.rejects(driver(undefined, stillOn).powerOff(host(`otherhost ${sshd.knownHostsLine.split(' ').slice(1).join(' ')}\n`)), /host key not in known_hosts/);
  assert.equal(sshd.commands(), before);
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
