/**
 * A migration whose destination goes away: the operator decides to empty node100 (consolidation)
 * and starts live-migrating its guest to node200; mid-migration node200 loses power (the lab pulls
 * its plug). libvirt cancels the job and resumes the guest on the source. What must follow, as
 * kubectl and libvirt show it: the guest still runs on node100, the VirtualMachinePlacement's
 * status.migration is Failed with an error, a Warning Event MigrationFailed names the outcome,
 * node100 is not powered off (its guest never left), and no guest is lost or left half-defined.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnoseOnFailure, eventually, startLabWorld, VM_NAMESPACE, type LabWorld } from './lab-world.ts';

let world: LabWorld;

before(async () => {
  world = await startLabWorld({ hosts: ['node100', 'node200'], cpuCores: 1 });
});

after(async () => {
  await world?.stop();
});

const virsh = (host: string, ...args: string[]) => world.lab.exec(host, 'virsh', '-c', 'qemu:///system', ...args);

test('the destination dies mid-migration: the guest keeps running on the source, Failed + MigrationFailed are reported', { timeout: 300_000 }, async (t) => {
  const verdict = diagnoseOnFailure(t, () => world);
  const { lab } = world;
  await lab.startGuest('node100', { name: 'vm-x', loadPercent: 0 });
  // 1 MiB/s: the migration lasts long enough to pull the destination's plug in the middle of it.
  await virsh('node100', 'migrate-setspeed', 'vm-x', '1');
  await world.apply([
    world.physicalHost('node100'),
    world.physicalHost('node200', { standbyAllowed: false }),
    world.placement('vm-x'),
    world.policy({ overloadThresholdPercent: 40, consolidationThresholdPercent: 40, migrationTimeout: '5m', dryRun: true }),
  ]);
  const operator = await world.startOperator();
  await world.waitForVmLoads('vm-x to finish booting', (l) => l['vm-x']! < 8);
  await world.kubectl('patch', 'consolidationpolicy', 'lab', '--type=merge', '-p', '{"spec":{"dryRun":false}}');

  // The operator's intent is in the API, and libvirt's job is copying memory: cut node200.
  await eventually('the migration of vm-x to be Running', async () => {
    const vm = await world.getJson('vmp', '-n', VM_NAMESPACE, 'vm-x');
    return vm.status?.migration?.phase === 'Running' && vm.status.migration.to === 'node200';
  }, 120_000, 500);
  await eventually('libvirt on node100 to be migrating vm-x', async () => /Job type:\s+Unbounded/.test(await virsh('node100', 'domjobinfo', 'vm-x')), 60_000, 250);
  const pulledAtMs = Date.now();
  await lab.powerOff('node200', { force: true });

  const vm = await eventually('the migration to end', async () => {
    const v = await world.getJson('vmp', '-n', VM_NAMESPACE, 'vm-x');
    return ['Failed', 'Succeeded'].includes(v.status?.migration?.phase) && v;
  }, 120_000, 1000);
  assert.equal(vm.status.migration.phase, 'Failed', JSON.stringify(vm.status.migration));
  assert.equal(vm.status.migration.from, 'node100');
  assert.equal(vm.status.migration.to, 'node200');
  assert.equal(vm.status.migration.reason, 'Consolidate');
  assert.match(vm.status.migration.error, /migration of vm-x from node100 to node200 failed/);
  assert.equal(vm.status.host, 'node100');
  // It failed because of the cut: started before it, ended after it.
  assert.ok(Date.parse(vm.status.migration.startedAt) <= pulledAtMs, JSON.stringify(vm.status.migration));
  assert.ok(Date.parse(vm.status.migration.completedAt) >= pulledAtMs, `ended before node200 was cut: ${JSON.stringify(vm.status.migration)}`);

  // libvirt: running on the source, exactly where it was.
  assert.deepEqual(await world.running('node100'), ['vm-x']);
  assert.match(await virsh('node100', 'domstate', 'vm-x'), /running/);

  const events = await world.getJson('events', '-n', VM_NAMESPACE);
  const failed = events.items.filter((e: any) => e.reason === 'MigrationFailed' && e.involvedObject.name === 'vm-x');
  assert.equal(failed.length, 1, JSON.stringify(events.items.map((e: any) => e.reason)));
  assert.equal(failed[0].type, 'Warning');
  assert.match(failed[0].message, /migrate vm-x node100→node200 failed: .*; VM running on node100/);

  // The power-off planned after the evacuation was skipped: node100 still runs its guest.
  const node100 = await world.getJson('physicalhost', 'node100');
  assert.equal(node100.status.powerState, 'On');
  assert.equal(node100.status.powerAction, undefined, 'node100 was never powered off');
  assert.ok(lab.isOn('node100'));

  // Bring node200 back with the operator stopped (it would try again): no copy of vm-x there,
  // not even a definition; the guest exists exactly once.
  await operator.stop();
  await lab.powerOn('node200');
  assert.equal((await virsh('node200', 'list', '--all', '--name')).trim(), '');
  assert.deepEqual(await world.running('node100'), ['vm-x']);
  verdict.passed();
});
