/**
 * The power driver of real hosts as realDrivers builds it, over a real sshd whose host has a
 * stand-in `virsh` and `systemctl` (peers/fake-host.ts). Issue 20:
 * - finding 1: a host whose `virsh` fails (SSH answers) is not empty and is not powered off;
 * - finding 7: a host that cannot be reached before anything was sent is not "off": the power-off
 *   is still sent (or fails), never recorded as done with nothing sent; and once it was sent, one
 *   unreachable observation alone does not confirm it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/api/clock.ts';
import { isObservable, PowerActionError, type HostTarget, type HypervisorDriver, type ObservedHost } from '../../src/api/drivers.ts';
import { powerDriverOver, realDrivers } from '../../src/controller/real-drivers.ts';
import { fakeHost, type FakeHost } from './peers/fake-host.ts';
import { freePort } from './peers/ports.ts';
import { startSshd, type TestSshd } from './peers/sshd.ts';

let dir: string;
let sshd: TestSshd;
let fake: FakeHost;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tide-real-power-'));
  fake = fakeHost(dir);
  sshd = await startSshd(dir, { execute: { path: fake.bin } });
});
after(async () => {
  await sshd?.process.stop();
  rmSync(dir, { recursive: true, force: true });
});

function host(port = sshd.port, shutdownTimeoutSeconds = 3): HostTarget {
  return {
    name: 'node-virsh',
    spec: {
      address: '127.0.0.1',
      ssh: { user: sshd.username, port },
      capacity: { cpuCores: 2, memoryMiB: 2048 },
      power: { onMethod: 'None', offMethod: 'SSH', shutdownTimeoutSeconds },
    },
    secrets: { 'ssh-privatekey': sshd.clientPrivateKey, known_hosts: `${sshd.knownHostsLine}\n[127.0.0.1]:${port} ${sshd.knownHostsLine.split(' ').slice(1).join(' ')}\n` },
  };
}

const VIRSH_DOWN = "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory";

test('finding 1: a host whose virsh fails while SSH answers is not observable and is not powered off', async (t) => {
  const drivers = realDrivers({ clock: systemClock, powerPollMs: 100 });
  t.after(() => drivers.hypervisor.close());
  fake.failVirsh(VIRSH_DOWN);
  t.after(() => fake.failVirsh(undefined));
  const seen = await drivers.hypervisor.observeHost(host());
  assert.equal(isObservable(seen), false);
  assert.equal(seen.errorReason, 'CommandFailed');
  assert.match(seen.error!, /failed to connect to the hypervisor/);
  await assert.rejects(drivers.power.powerOff(host()), (err: unknown) =>
    err instanceof PowerActionError && /cannot tell whether VMs run on it/.test(err.message) && /failed to connect to the hypervisor/.test(err.message));
  assert.equal(fake.poweroffs(), 0, 'systemctl poweroff never ran');
});

/** A hypervisor driver that reports `sequence` one observation per call (the last one repeats). */
function scripted(sequence: Array<'empty' | 'unreachable'>): HypervisorDriver & { calls: number } {
  const driver = {
    calls: 0,
    async observeHost(target: HostTarget): Promise<ObservedHost> {
      const kind = sequence[Math.min(driver.calls++, sequence.length - 1)];
      return kind === 'empty'
        ? { name: target.name, reachable: true, powerState: 'on', cpuLoadPercent: 1, domains: [], observedAtMs: Date.now() }
        : { name: target.name, reachable: false, powerState: 'unknown', domains: [], error: `host ${target.name}: connect ECONNREFUSED`, errorReason: 'Unreachable', observedAtMs: Date.now() };
    },
    migrate: () => Promise.reject(new Error('not in this test')),
    close: async () => {},
  };
  return driver;
}

test('finding 7: a host unreachable before anything was sent is not off: the power-off fails, it is not recorded done', async () => {
  // Empty at the check, then a blip; nothing listens on the host's SSH port.
  const closed = await freePort();
  const power = powerDriverOver(scripted(['empty', 'unreachable']), { clock: systemClock, powerPollMs: 50 });
  await assert.rejects(power.powerOff(host(closed)), (err: unknown) => err instanceof PowerActionError && /ECONNREFUSED|connect/i.test(err.message));
});

test('finding 7: a blip before the command does not skip it; after it, only sustained unreachability confirms the power-off', async () => {
  const before = fake.poweroffs();
  // Check: empty. Then a blip (before the fix read as "already off", so nothing was sent), then
  // after the command the host still answers once, then stays unreachable.
  const hypervisor = scripted(['empty', 'unreachable', 'empty', 'unreachable', 'unreachable', 'unreachable']);
  await powerDriverOver(hypervisor, { clock: systemClock, powerPollMs: 50 }).powerOff(host());
  assert.equal(fake.poweroffs() - before, 1, 'systemctl poweroff ran once');
});

test('finding 7: one unreachable observation after the command, then the host answers again, is not a power-off', async () => {
  const hypervisor = scripted(['empty', 'empty', 'unreachable', 'empty']);
  await assert.rejects(powerDriverOver(hypervisor, { clock: systemClock, powerPollMs: 100 }).powerOff(host(sshd.port, 1)), (err: unknown) =>
    err instanceof PowerActionError && /was not observed off within 1s/.test(err.message));
});
