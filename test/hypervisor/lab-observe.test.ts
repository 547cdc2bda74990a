/**
 * The driver against the lab: real sshd and libvirtd per host, real QEMU guests generating a
 * known CPU load. One lab for the whole file.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ObservedHost } from '../../src/api/drivers.ts';
import { LibvirtSshDriver } from '../../src/hypervisor/libvirt-ssh-driver.ts';
import { hostEndpoint } from '../../src/hypervisor/host-endpoint.ts';
import { SshPool } from '../../src/hypervisor/ssh-pool.ts';
import { shellCommand } from '../../src/hypervisor/shell-quote.ts';
import { startLab, type Lab } from '../lab/lab.ts';
import { LabPowerDriver } from '../lab/lab-power-driver.ts';
import { PowerActionError } from '../../src/api/drivers.ts';
import { eventually } from './eventually.ts';

let lab: Lab;
let driver: LibvirtSshDriver;

before(async () => {
  lab = await startLab({ hosts: ['node100', 'node200'], cpuCores: 2 });
  driver = new LibvirtSshDriver({ hostLoad: 'domainSum', sampleIntervalMs: 3000 });
  await lab.startGuest('node100', { name: 'busy70', loadPercent: 70 });
  await lab.startGuest('node200', { name: 'busy30', loadPercent: 30 });
});

after(async () => {
  await driver?.close();
  await lab?.stop();
});

const acceptedLogins = (host: string) => (readFileSync(`${lab.dir}/hosts/${host}/sshd.log`, 'utf8').match(/Accepted publickey/g) ?? []).length;

test('both hosts are observed with their domains, state, vCPUs and memory', { timeout: 120_000 }, async () => {
  const [a, b] = await Promise.all([driver.observeHost(lab.target('node100')), driver.observeHost(lab.target('node200'))]);
  for (const [observed, name, domain] of [[a, 'node100', 'busy70'], [b, 'node200', 'busy30']] as const) {
    assert.equal(observed.error, undefined, observed.error);
    assert.equal(observed.name, name);
    assert.equal(observed.reachable, true);
    assert.equal(observed.powerState, 'on');
    assert.deepEqual(
      observed.domains.map(({ name, state, vcpus, memoryMiB }) => ({ name, state, vcpus, memoryMiB })),
      [{ name: domain, state: 'running', vcpus: 1, memoryMiB: 96 }],
    );
    assert.ok(observed.memoryUsedMiB! > 0);
  }
});

test('each guest is measured near the CPU load it was booted with', { timeout: 180_000 }, async (t) => {
  // The first seconds are the guest kernel booting; then three observations, median taken.
  // Tolerances are wide: this runs on a busy 2-core machine, possibly under TCG.
  const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
  await eventually(
    async () => {
      const rounds: ObservedHost[][] = [];
      for (let i = 0; i < 3; i++) rounds.push(await Promise.all([driver.observeHost(lab.target('node100')), driver.observeHost(lab.target('node200'))]));
      const load70 = median(rounds.map(([a]) => a.domains.find((d) => d.name === 'busy70')!.cpuLoadPercent));
      const load30 = median(rounds.map(([, b]) => b.domains.find((d) => d.name === 'busy30')!.cpuLoadPercent));
      const host100 = median(rounds.map(([a]) => a.cpuLoadPercent!));
      const detail = `busy70 measured ${load70} %, busy30 ${load30} %, node100 ${host100} %`;
      t.diagnostic(detail);
      assert.ok(load70 >= 50 && load70 <= 92, detail);
      assert.ok(load30 >= 15 && load30 <= 50, detail);
      assert.ok(load70 - load30 >= 20, detail);
      // domainSum: one guest's load over the host's 2 declared cores.
      assert.ok(Math.abs(host100 - load70 / 2) <= 5, detail);
    },
    { timeoutMs: 150_000, what: 'guest loads near 70 % and 30 %' },
  );
});

test('one pooled connection per host serves every command', { timeout: 60_000 }, async () => {
  const fresh = new LibvirtSshDriver({ sampleIntervalMs: 200 });
  try {
    const before = acceptedLogins('node200');
    for (let i = 0; i < 4; i++) assert.equal((await fresh.observeHost(lab.target('node200'))).reachable, true);
    await Promise.all([fresh.observeHost(lab.target('node200')), fresh.observeHost(lab.target('node200'))]);
    assert.equal(acceptedLogins('node200') - before, 1);
  } finally {
    await fresh.close();
  }
});

test('past maxConnections the least recently used idle connection is closed, and reopened when needed', { timeout: 60_000 }, async () => {
  const bounded = new LibvirtSshDriver({ sampleIntervalMs: 200, maxConnections: 1 });
  try {
    const before100 = acceptedLogins('node100');
    const before200 = acceptedLogins('node200');
    assert.equal((await bounded.observeHost(lab.target('node100'))).reachable, true);
    assert.equal((await bounded.observeHost(lab.target('node200'))).reachable, true);
    assert.equal(bounded.openConnections, 1, 'node100 was closed to make room for node200');
    assert.equal((await bounded.observeHost(lab.target('node100'))).reachable, true);
    assert.equal(acceptedLogins('node100') - before100, 2, 'node100 logged in again');
    assert.equal(acceptedLogins('node200') - before200, 1);
    // Two at once on two hosts: neither busy connection is closed under the other's command.
    const both = await Promise.all([bounded.observeHost(lab.target('node100')), bounded.observeHost(lab.target('node200'))]);
    assert.deepEqual(both.map((o) => o.error), [undefined, undefined]);
    assert.equal(bounded.openConnections, 1);
  } finally {
    await bounded.close();
  }
});

test('a dropped connection is replaced by a new one on the next command', { timeout: 60_000 }, async () => {
  const fresh = new LibvirtSshDriver({ sampleIntervalMs: 200 });
  try {
    const before = acceptedLogins('node100');
    assert.equal((await fresh.observeHost(lab.target('node100'))).reachable, true);
    lab.dropConnections('node100');
    const again = await fresh.observeHost(lab.target('node100'));
    assert.equal(again.reachable, true, again.error);
    assert.equal(acceptedLogins('node100') - before, 2);
  } finally {
    await fresh.close();
  }
});

test('an unknown host key and a changed host key are refused, never accepted', { timeout: 60_000 }, async () => {
  const h100 = lab.hosts.node100;
  const h200 = lab.hosts.node200;
  const loginsBefore = acceptedLogins('node100');
  const unknown = await driver.observeHost(lab.target('node100', { knownHosts: `${h200.knownHostsLine}\n` }));
  assert.equal(unknown.reachable, false);
  assert.equal(unknown.errorReason, 'HostKeyUnknown');
  assert.match(unknown.error!, /node100 .*does not list/);
  assert.deepEqual(unknown.domains, []);

  // node100's address and port, but node200's key: what a changed key or an impostor looks like.
  const changed = await driver.observeHost(lab.target('node100', { knownHosts: `[127.0.0.1]:${h100.sshPort} ${h200.hostKey}\n` }));
  assert.equal(changed.reachable, false);
  assert.equal(changed.errorReason, 'HostKeyMismatch');
  assert.match(changed.error!, /different from the one in known_hosts/);

  const revoked = await driver.observeHost(lab.target('node100', { knownHosts: `${h100.knownHostsLine}\n@revoked * ${h100.hostKey}\n` }));
  assert.equal(revoked.errorReason, 'HostKeyRevoked');

  // The handshake stopped before authentication: the key from the Secret was never offered.
  assert.equal(acceptedLogins('node100'), loginsBefore);
  // Only an RSA key listed, and the host has none: nothing it can present is known.
  const keyDir = mkdtempSync(join(tmpdir(), 'tide-rsa-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', join(keyDir, 'k')]);
  const rsa = readFileSync(join(keyDir, 'k.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
  rmSync(keyDir, { recursive: true, force: true });
  const otherType = await driver.observeHost(lab.target('node100', { knownHosts: `[127.0.0.1]:${h100.sshPort} ${rsa}\n` }));
  assert.equal(otherType.errorReason, 'HostKeyUnknown', otherType.error);

  // known_hosts hashed by OpenSSH itself is accepted for the right key.
  const file = join(mkdtempSync(join(tmpdir(), 'tide-kh-')), 'known_hosts');
  writeFileSync(file, lab.knownHosts());
  execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
  const hashed = readFileSync(file, 'utf8');
  rmSync(dirname(file), { recursive: true, force: true });
  assert.doesNotMatch(hashed, /127\.0\.0\.1/);
  const viaHashed = await driver.observeHost(lab.target('node100', { knownHosts: hashed }));
  assert.equal(viaHashed.reachable, true, viaHashed.error);

  const missing = await driver.observeHost(lab.target('node100', { knownHosts: '' }));
  assert.equal(missing.errorReason, 'MissingSecret');
});

test('a hostile domain name is refused before anything runs, and quoting holds on a real host', { timeout: 60_000 }, async () => {
  const marker = `/tmp/tide-pwned-${randomBytes(4).toString('hex')}`;
  const hostile = `x';touch ${marker};'`;
  await assert.rejects(
    driver.migrate({ domain: hostile, from: lab.target('node100'), to: lab.target('node200'), timeoutMs: 10_000 }),
    (error: Error & { reason?: string }) => error.reason === 'InvalidName' && error.message.includes('invalid domain name'),
  );
  await assert.rejects(
    driver.migrate({ domain: 'busy70', from: lab.target('node100', { spec: { libvirt: { uri: `qemu:///system';touch ${marker};'` } } }), to: lab.target('node200'), timeoutMs: 10_000 }),
    /spec\.libvirt\.uri: invalid libvirt URI/,
  );
  // The second lock: the same string, quoted, through the host's real login shell over SSH.
  const pool = new SshPool();
  try {
    const endpoint = hostEndpoint(lab.target('node100'));
    const echoed = await pool.exec(endpoint, shellCommand(['printf', '%s', hostile]), { timeoutMs: 30_000 });
    assert.equal(echoed.stdout, hostile);
    const virsh = await pool.exec(endpoint, shellCommand(['virsh', '-c', 'qemu:///system', 'domstate', hostile]), { timeoutMs: 30_000 });
    assert.notEqual(virsh.code, 0);
    assert.match(virsh.stderr, /failed to get domain/);
  } finally {
    await pool.close();
  }
  assert.equal(existsSync(marker), false, 'the hostile name ran a command');
  assert.equal((await lab.exec('node100', 'sh', '-c', `test -e ${marker} && echo yes || echo no`)).trim(), 'no');
});

test('a powered-off host is unreachable; powered on again it is observed over a new connection', { timeout: 180_000 }, async () => {
  const quick = new LibvirtSshDriver({ sampleIntervalMs: 200, connectTimeoutMs: 10_000 });
  try {
    const power = new LabPowerDriver(lab);
    assert.equal((await quick.observeHost(lab.target('node200'))).reachable, true);
    await assert.rejects(
      power.powerOff(lab.target('node200')),
      (error: Error) => error instanceof PowerActionError && error.action === 'off' && /node200 still runs domains: busy30/.test(error.message),
    );
    assert.equal((await quick.observeHost(lab.target('node200'))).domains[0]?.state, 'running');
    await lab.powerOff('node200', { force: true });
    const off = await quick.observeHost(lab.target('node200'));
    assert.equal(off.reachable, false);
    assert.equal(off.errorReason, 'Unreachable');
    assert.equal(off.powerState, 'unknown');
    await power.powerOn(lab.target('node200'));
    assert.equal(lab.isOn('node200'), true);
    const on = await eventually(
      async () => {
        const observed = await quick.observeHost(lab.target('node200'));
        assert.equal(observed.reachable, true, observed.error);
        return observed;
      },
      { timeoutMs: 60_000, what: 'node200 reachable after power-on' },
    );
    // The guest did not survive the power cut; its persistent definition did, as on a real host.
    assert.deepEqual(on.domains.map((d) => [d.name, d.state]), [['busy30', 'shutoff']]);
  } finally {
    await quick.close();
  }
});
