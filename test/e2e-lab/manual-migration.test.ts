/**
 * Issue 14 item 2 on the real lab, through kubectl and the operator with its real drivers: a
 * VirtualMachineMigration live-migrates a running QEMU guest to the host it names; the vmm ends
 * Succeeded and libvirt shows the guest on that host. The policy's thresholds are out of reach
 * and no host may be put in standby, so nothing but the vmm moves the guest or powers a host.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnoseOnFailure, eventually, startLabWorld, VM_NAMESPACE, type LabWorld } from './lab-world.ts';

let world: LabWorld;

before(async () => {
  world = await startLabWorld({ hosts: ['node100', 'node200'], cpuCores: 2 });
});

after(async () => {
  await world?.stop();
});

test('kubectl apply of a vmm live-migrates the running guest to the named host', { timeout: 300_000 }, async (t) => {
  const verdict = diagnoseOnFailure(t, () => world);
  await world.lab.startGuest('node100', { name: 'guest', loadPercent: 0 });
  await world.apply([
    world.physicalHost('node100', { standbyAllowed: false }),
    world.physicalHost('node200', { standbyAllowed: false }),
    world.placement('guest'),
    world.policy({ overloadThresholdPercent: 100, consolidationThresholdPercent: 1, balanceThresholdPercent: 100 }),
  ]);
  await world.startOperator();
  await eventually('the guest observed on node100', async () => (await world.getJson('vmp', '-n', VM_NAMESPACE, 'guest')).status?.host === 'node100', 60_000, 1000);
  // Migrated in early boot (TCG), a guest was found shut off on the destination: as the other lab tests do, wait for it to go quiet.
  await world.waitForVmLoads('the guest to finish booting', (l) => l.guest! < 8);

  const began = Date.now();
  await world.apply([{ apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachineMigration', metadata: { name: 'move-guest', namespace: VM_NAMESPACE }, spec: { placement: 'guest', targetHost: 'node200' } }]);
  await world.kubectl('wait', '--for=condition=Succeeded', '-n', VM_NAMESPACE, 'vmm/move-guest', '--timeout=120s');
  t.diagnostic(`kubectl apply vmm → Succeeded in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  const timing = world.migrations.find((m) => m.vm === 'guest' && m.to === 'node200');
  assert.ok(timing?.driverCalledAtMs && timing.doneAtMs && timing.succeeded, `the driver migrated it: ${JSON.stringify(world.migrations)}`);
  t.diagnostic(`applied → driver called ${((timing.driverCalledAtMs - began) / 1000).toFixed(1)} s; live migration (driver) ${((timing.doneAtMs - timing.driverCalledAtMs) / 1000).toFixed(1)} s`);

  const vmm = await world.getJson('vmm', '-n', VM_NAMESPACE, 'move-guest');
  assert.deepEqual([vmm.status.phase, vmm.status.reason, vmm.status.sourceHost, vmm.status.targetHost], ['Succeeded', 'Migrated', 'node100', 'node200']);
  assert.deepEqual(await world.running('node200'), ['guest'], 'libvirt on node200 runs the guest');
  assert.deepEqual(await world.running('node100'), []);
  const placement = await world.getJson('vmp', '-n', VM_NAMESPACE, 'guest');
  assert.deepEqual(
    [placement.status.host, placement.status.state, placement.status.migration.reason, placement.status.migration.requestedBy, placement.status.migration.id],
    ['node200', 'Running', 'Manual', vmm.metadata.uid, vmm.status.migrationId],
  );
  assert.ok(!world.power.events.some((e) => e.what === 'poweroff-requested'), `no host was powered off: ${JSON.stringify(world.power.events)}`);
  verdict.passed();
});
