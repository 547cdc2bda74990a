/**
 * Live migration between two lab hosts with real QEMU guests: success with progress, a timeout
 * that aborts the job, a destination that dies mid-migration and one that is off. Every outcome
 * is checked on both hosts through virsh inside the lab, not only through the driver.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { LibvirtSshDriver } from '../../src/hypervisor/libvirt-ssh-driver.ts';
import { startLab, type Lab } from '../lab/lab.ts';

let lab: Lab;
let driver: LibvirtSshDriver;

before(async () => {
  lab = await startLab({ hosts: ['node100', 'node200'] });
  driver = new LibvirtSshDriver({ progressPollMs: 250 });
});

after(async () => {
  await driver?.close();
  await lab?.stop();
});

/** What virsh inside the lab host says about a domain: its state, or 'absent'. */
async function stateOn(host: string, domain: string): Promise<string> {
  const names = (await lab.exec(host, 'virsh', '-c', 'qemu:///system', 'list', '--all', '--name')).split('\n').map((l) => l.trim());
  if (!names.includes(domain)) return 'absent';
  return (await lab.exec(host, 'virsh', '-c', 'qemu:///system', 'domstate', domain)).trim();
}

/** Caps the guest's migration bandwidth (MiB/s) so that the migration lasts long enough to interfere with. */
const slowDown = (host: string, domain: string, mibPerSecond: number) =>
  lab.exec(host, 'virsh', '-c', 'qemu:///system', 'migrate-setspeed', domain, String(mibPerSecond));

const destroy = (host: string, domain: string) => lab.exec(host, 'virsh', '-c', 'qemu:///system', 'destroy', domain).catch(() => '');

test('a running guest is live-migrated node100 → node200, with progress, and observed on both ends', { timeout: 180_000 }, async (t) => {
  await lab.startGuest('node100', { name: 'mig-ok', loadPercent: 20 });
  // Let the guest kernel finish booting first (a few seconds under TCG). Migrated a second or
  // two after `virsh start`, a guest was once found shut off on the destination after a
  // completed migration — a panic in early boot (panic=-1, on_reboot=destroy) is the likely
  // cause. This test is about migrating a running guest, not a booting one.
  await new Promise((resolve) => setTimeout(resolve, 8_000));
  const progress: number[] = [];
  const outcome = await driver.migrate({
    domain: 'mig-ok',
    from: lab.target('node100'),
    to: lab.target('node200'),
    timeoutMs: 120_000,
    onProgress: (percent) => progress.push(percent),
  });
  t.diagnostic(`outcome ${JSON.stringify(outcome)}; progress ${progress.join(',')}`);
  assert.equal(outcome.succeeded, true, outcome.error);
  assert.equal(outcome.runningOn, 'node200');
  assert.deepEqual(outcome.observed, { source: 'absent', destination: 'running' });
  assert.equal(outcome.error, undefined);
  assert.ok(outcome.durationMs > 0);
  assert.equal(progress.at(-1), 100);
  assert.deepEqual(progress, [...progress].sort((a, b) => a - b), 'progress never goes back');
  // --persistent --undefinesource: defined and running on node200 only.
  assert.equal(await stateOn('node200', 'mig-ok'), 'running');
  assert.equal(await stateOn('node100', 'mig-ok'), 'absent');
  assert.match(await lab.exec('node200', 'virsh', '-c', 'qemu:///system', 'list', '--persistent', '--name'), /^mig-ok$/m);
  // And the guest goes on burning its CPU share on the destination.
  const observed = await driver.observeHost(lab.target('node200'));
  assert.deepEqual(observed.domains.map((d) => [d.name, d.state]), [['mig-ok', 'running']]);
  // Asked again (an operator restarted mid-action), the move is found done, not redone.
  const again = await driver.migrate({ domain: 'mig-ok', from: lab.target('node100'), to: lab.target('node200'), timeoutMs: 60_000 });
  assert.equal(again.succeeded, true, again.error);
  assert.equal(again.runningOn, 'node200');
  assert.equal(again.timings.jobStartedAfterMs, undefined);
  await destroy('node200', 'mig-ok');
});

test('a migration past its timeout is aborted and the guest keeps running on the source', { timeout: 180_000 }, async () => {
  await lab.startGuest('node100', { name: 'mig-timeout', loadPercent: 20 });
  await slowDown('node100', 'mig-timeout', 1);
  const outcome = await driver.migrate({ domain: 'mig-timeout', from: lab.target('node100'), to: lab.target('node200'), timeoutMs: 5_000 });
  assert.equal(outcome.succeeded, false);
  assert.equal(outcome.runningOn, 'node100');
  assert.match(outcome.error!, /timed out after 5000 ms; the migration job was aborted/);
  assert.deepEqual(outcome.observed, { source: 'running', destination: 'absent' });
  assert.ok(outcome.durationMs < 60_000, `took ${outcome.durationMs} ms`);
  assert.equal(await stateOn('node100', 'mig-timeout'), 'running');
  assert.equal(await stateOn('node200', 'mig-timeout'), 'absent');
  await destroy('node100', 'mig-timeout');
});

test('a destination that dies mid-migration leaves the guest running on the source, reported', { timeout: 240_000 }, async (t) => {
  await lab.startGuest('node100', { name: 'mig-crash', loadPercent: 20 });
  await slowDown('node100', 'mig-crash', 2);
  let pulled: Promise<void> | undefined;
  const outcome = await driver.migrate({
    domain: 'mig-crash',
    from: lab.target('node100'),
    to: lab.target('node200'),
    timeoutMs: 180_000,
    // Once memory is flowing, pull node200's plug.
    onProgress: (percent) => {
      if (percent >= 1 && !pulled) pulled = lab.powerOff('node200', { force: true });
    },
  });
  await pulled;
  t.diagnostic(`outcome ${JSON.stringify(outcome)}`);
  assert.ok(pulled, 'the migration never reported progress, so the destination was never cut');
  assert.equal(outcome.succeeded, false);
  assert.equal(outcome.runningOn, 'node100');
  assert.equal(outcome.observed.source, 'running');
  assert.equal(outcome.observed.destination, 'unknown');
  assert.match(outcome.error!, /migration of mig-crash from node100 to node200 failed: /);
  assert.equal(await stateOn('node100', 'mig-crash'), 'running');
  await lab.powerOn('node200');
  assert.equal(await stateOn('node200', 'mig-crash'), 'absent');
  await destroy('node100', 'mig-crash');
});

test('an unreachable destination fails fast and the guest stays on the source', { timeout: 180_000 }, async () => {
  await lab.startGuest('node100', { name: 'mig-nowhere', loadPercent: 20 });
  await lab.powerOff('node200');
  try {
    const outcome = await driver.migrate({ domain: 'mig-nowhere', from: lab.target('node100'), to: lab.target('node200'), timeoutMs: 90_000 });
    assert.equal(outcome.succeeded, false);
    assert.equal(outcome.runningOn, 'node100');
    assert.deepEqual(outcome.observed, { source: 'running', destination: 'unknown' });
    assert.match(outcome.error!, /failed: error: .*(connect|route|reach)/i);
    assert.equal(await stateOn('node100', 'mig-nowhere'), 'running');
  } finally {
    await lab.powerOn('node200');
    await destroy('node100', 'mig-nowhere');
  }
});

test('asking to migrate a domain the source does not run is reported, and nothing moves', { timeout: 60_000 }, async () => {
  const outcome = await driver.migrate({ domain: 'no-such-vm', from: lab.target('node100'), to: lab.target('node200'), timeoutMs: 30_000 });
  assert.equal(outcome.succeeded, false);
  assert.equal(outcome.runningOn, null);
  assert.match(outcome.error!, /no-such-vm is not running on node100 \(absent\)/);
});
