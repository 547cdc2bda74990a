/**
 * Issue 20 on the real lab (libvirtd, QEMU guests, sshd per host; docs/e2e-lab.md):
 *
 * - Finding 4: the power-off's own emptiness check (guarded-poweroff.ts), run over SSH as Tide
 *   runs it (check only: nothing is powered off here), against real libvirt: it passes on a host
 *   with only a shut-off domain and refuses for a paused domain, for the domain of an incoming
 *   migration (paused on its destination), and when libvirtd does not answer.
 * - Finding 1: libvirtd stops on a host while its guest keeps running (as in a package upgrade).
 *   The operator, with a policy that would empty that host and power it off if it looked empty,
 *   leaves it alone: it stays on, its guest keeps running, and its status says why.
 *
 * Scaled like consolidation-power.test.ts: hosts declare 1 core, Th1 = Th2 = 40 %.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { guardedPoweroffCommand } from '../../src/power/control/guarded-poweroff.ts';
import { runSshCommand } from '../../src/power/control/ssh-poweroff.ts';
import { diagnoseOnFailure, eventually, startLabWorld, VM_NAMESPACE, type LabWorld } from './lab-world.ts';

let world: LabWorld;

before(async () => {
  world = await startLabWorld({ hosts: ['node100', 'node200'], cpuCores: 1 });
});

after(async () => {
  await world?.stop();
});

const virsh = (host: string, ...args: string[]) => world.lab.exec(host, 'virsh', '-c', 'qemu:///system', ...args);

/** The check of the guarded power-off, over SSH to the host as Tide sends it; resolves when the host may be powered off. */
function checkOverSsh(host: string): Promise<void> {
  const h = world.lab.hosts[host]!;
  const privateKey = readFileSync(h.privateKeyPath, 'utf8');
  const target = { host: h.sshAddress, port: h.sshPort, username: h.sshUser, privateKey, knownHosts: world.lab.knownHosts() };
  return runSshCommand(target, guardedPoweroffCommand(h.libvirtUri, 'nothing'), { label: 'the power-off check' });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('finding 4: the power-off check refuses paused and incoming domains and a silent libvirt, on real libvirt', { timeout: 300_000 }, async () => {
  const { lab } = world;
  await lab.startGuest('node100', { name: 'mover', loadPercent: 0 });
  // A defined, shut-off domain on node200 is no reason to keep it on.
  const spareXml = `${lab.dir}/hosts/node200/spare.xml`;
  writeFileSync(spareXml, readFileSync(`${lab.dir}/hosts/node100/mover.xml`, 'utf8').replace('<name>mover</name>', '<name>spare</name>'));
  await virsh('node200', 'define', spareXml);
  await checkOverSsh('node200');

  // Paused: still a live guest.
  await virsh('node100', 'suspend', 'mover');
  await assert.rejects(checkOverSsh('node100'), /exited 65: .*refusing to power off: libvirt at qemu:\/\/\/system lists live domains .*mover/s);
  await virsh('node100', 'resume', 'mover');

  // Incoming: slowed to 1 MiB/s so that it is caught on node200 while libvirt holds it paused there.
  const node200 = lab.hosts.node200!;
  const migration = virsh('node100', 'migrate', '--live', '--p2p', '--bandwidth', '1', 'mover', node200.migrationUri, `tcp://${node200.labAddress}`).then(
    () => 'finished',
    (err: Error) => err.message,
  );
  await eventually('mover to appear on node200 as an incoming migration', async () => (await virsh('node200', 'list', '--all', '--name')).includes('mover'), 60_000, 200);
  assert.equal((await virsh('node200', 'domstate', 'mover')).trim(), 'paused', 'libvirt holds an incoming domain paused');
  await assert.rejects(checkOverSsh('node200'), /lists live domains .*mover/s);
  await virsh('node100', 'domjobabort', 'mover');
  assert.match(await migration, /cancel|abort/i, 'the migration was cancelled');
  assert.deepEqual(await world.running('node100'), ['mover'], 'the guest stayed on its source');
  await eventually('the cancelled incoming domain to be gone from node200', async () => !(await virsh('node200', 'list', '--all', '--name')).includes('mover'), 30_000, 500);
  await checkOverSsh('node200');

  // libvirtd not answering: the domains are unknown, so no.
  await lab.stopLibvirtd('node200');
  try {
    await assert.rejects(checkOverSsh('node200'), /exited 69: .*failed to connect to the hypervisor.*libvirt at qemu:\/\/\/system did not answer/s);
  } finally {
    await lab.startLibvirtd('node200');
  }
  await virsh('node200', 'undefine', 'spare');
  await virsh('node100', 'destroy', 'mover');
});

test('finding 1: libvirtd stopped on a host whose guest keeps running — the operator does not power it off, and says why', { timeout: 420_000 }, async (t) => {
  const { lab } = world;
  const verdict = diagnoseOnFailure(t, () => world);
  await lab.startGuest('node100', { name: 'keep', loadPercent: 0 });
  await lab.startGuest('node200', { name: 'orphan', loadPercent: 0 });
  // Two idle guests: consolidation would empty one host, and node200 is the one allowed to sleep.
  await world.apply([
    world.physicalHost('node100', { standbyAllowed: false }),
    world.physicalHost('node200'),
    world.placement('keep'),
    world.placement('orphan'),
    world.policy({ overloadThresholdPercent: 40, consolidationThresholdPercent: 40, minHostsOn: 1, dryRun: true }),
  ]);
  await world.startOperator();
  await world.waitForVmLoads('the guests to finish booting', (l) => Object.values(l).every((x) => x < 8));

  const guest = lab.guestPid('node200', 'orphan');
  await lab.stopLibvirtd('node200');
  const node200 = await eventually('node200 to say why it is not observed', async () => {
    const h = await world.getJson('physicalhost', 'node200');
    return h.status?.conditions?.find((c: any) => c.type === 'Reachable' && c.status === 'False') && h;
  }, 60_000, 1000);
  await world.kubectl('patch', 'consolidationpolicy', 'lab', '--type=merge', '-p', '{"spec":{"dryRun":false}}');

  // Two plan rounds (evaluationInterval 10 s) with Tide free to act.
  const evaluated = async () => (await world.getJson('consolidationpolicy', 'lab')).status?.lastEvaluationTime as string | undefined;
  const first = await evaluated();
  const second = await eventually('a plan round after the policy went live', async () => { const at = await evaluated(); return at !== first && at; }, 90_000, 1000);
  await eventually('one more plan round', async () => { const at = await evaluated(); return at !== second && at; }, 90_000, 1000);

  assert.equal(lab.isOn('node200'), true, 'node200 is still on');
  assert.ok(alive(guest), 'the guest on node200 still runs (its QEMU process is alive)');
  assert.deepEqual(world.power.events.filter((e) => e.host === 'node200'), [], 'no power command reached node200');
  const policy = await world.getJson('consolidationpolicy', 'lab');
  assert.ok(!policy.status.lastPlan.actions.some((a: string) => /node200/.test(a)), `no plan touched node200: ${JSON.stringify(policy.status.lastPlan)}`);
  const now = await world.getJson('physicalhost', 'node200');
  assert.equal(now.status.powerAction, undefined);
  assert.equal(now.status.powerState, 'On');
  const reachable = now.status.conditions.find((c: any) => c.type === 'Reachable');
  assert.equal(reachable.status, 'False');
  assert.equal(reachable.reason, 'CommandFailed');
  assert.match(reachable.message, /failed to connect to the hypervisor/);
  assert.match(reachable.message, /left out of planning/);
  assert.equal(node200.status.vmCount, undefined, 'no VM count claimed for node200');
  const orphan = await world.getJson('vmp', '-n', VM_NAMESPACE, 'orphan');
  assert.equal(orphan.status.state, 'Unknown', JSON.stringify(orphan.status));
  t.diagnostic(`kubectl describe shows: Reachable False ${reachable.reason}: ${reachable.message}`);

  // libvirtd back: the same guest (same QEMU process) is found running where it was. (Dry run
  // again first, so that Tide does not consolidate it away while the test looks.)
  await world.kubectl('patch', 'consolidationpolicy', 'lab', '--type=merge', '-p', '{"spec":{"dryRun":true}}');
  await lab.startLibvirtd('node200');
  assert.deepEqual(await world.running('node200'), ['orphan']);
  assert.equal(lab.guestPid('node200', 'orphan'), guest);
  await eventually('orphan to be seen running on node200 again', async () => {
    const vm = await world.getJson('vmp', '-n', VM_NAMESPACE, 'orphan');
    return vm.status?.state === 'Running' && vm.status?.host === 'node200';
  }, 60_000, 1000);
  verdict.passed();
});
