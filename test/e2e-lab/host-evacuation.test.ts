/**
 * Issue 14 item 1 and issue 19 item 1 on the real lab, through kubectl and the operator with its
 * real drivers: a real guest is live-migrated off a host put in maintenance (`kubectl wait
 * --for=condition=Evacuated` returns, libvirt shows the guest on the other host), and off a host
 * being deleted, whose PhysicalHost then goes. One world and one guest for both, to save CI time:
 * the guest goes node200 → node100 (maintenance), then node100 → node200 (deletion).
 *
 * Both hosts are AlwaysOn, and the policy's thresholds are out of reach, so nothing but the
 * evacuations moves the guest or powers a host.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnoseOnFailure, eventually, startLabWorld, VM_NAMESPACE, type LabWorld } from './lab-world.ts';
import { eventsOnceSent } from '../kube/events.ts';

let world: LabWorld;

before(async () => {
  world = await startLabWorld({ hosts: ['node100', 'node200'], cpuCores: 2 });
});

after(async () => {
  await world?.stop();
});

const condition = (obj: any, type: string) => obj?.status?.conditions?.find((c: any) => c.type === type);

async function migratedTo(vm: string, to: string): Promise<any> {
  return eventually(`${vm} migrated to ${to}`, async () => {
    const p = await world.getJson('vmp', '-n', VM_NAMESPACE, vm);
    if (p.status?.migration?.phase === 'Failed') throw new Error(`migration failed: ${p.status.migration.error}`);
    return p.status?.migration?.to === to && p.status.migration.phase === 'Succeeded' && p.status.host === to && p;
  }, 60_000, 1000);
}

test('maintenance live-migrates the guest off (Evacuated=True); deleting the host it then runs on migrates it back, then the object goes', { timeout: 900_000 }, async (t) => {
  const verdict = diagnoseOnFailure(t, () => world);
  await world.lab.startGuest('node200', { name: 'guest', loadPercent: 0 });
  await world.apply([
    world.physicalHost('node100', { powerPolicy: 'AlwaysOn' }),
    world.physicalHost('node200', { powerPolicy: 'AlwaysOn' }),
    world.placement('guest'),
    world.policy({ overloadThresholdPercent: 100, consolidationThresholdPercent: 1, balanceThresholdPercent: 100 }),
  ]);
  await world.startOperator();
  await eventually('the guest observed on node200, both hosts protected', async () => {
    const hosts = (await world.getJson('ph')).items;
    return hosts.every((h: any) => h.metadata.finalizers?.includes('tide.dev/host-protection')) && hosts.find((h: any) => h.metadata.name === 'node200')?.status?.vms?.includes('guest');
  }, 180_000, 1000);
  // Migrated in early boot (TCG), the guest was found shut off on the destination (a CI run): as
  // the other lab tests do, wait for it to go quiet first.
  await world.waitForVmLoads('the guest to finish booting', (l) => l.guest! < 8);

  // 1. Maintenance: evacuated the DRS way, the host stays on.
  const began = Date.now();
  await world.kubectl('patch', 'ph', 'node200', '--type=merge', '-p', '{"spec":{"maintenance":true}}');
  // Polled, then confirmed by kubectl wait: a lab migration under CI load can outlast one kubectl call (90 s).
  await eventually('node200 Evacuated', async () => condition(await world.getJson('ph', 'node200'), 'Evacuated')?.status === 'True', 300_000, 1000);
  await world.kubectl('wait', '--for=condition=Evacuated', 'ph/node200', '--timeout=10s');
  t.diagnostic(`maintenance → Evacuated=True in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  assert.deepEqual(await world.running('node100'), ['guest'], 'libvirt on node100 runs the guest');
  assert.deepEqual(await world.running('node200'), []);
  const moved = await migratedTo('guest', 'node100');
  assert.deepEqual([moved.status.migration.from, moved.status.migration.reason], ['node200', 'Evacuate']);
  const evacuated = await world.getJson('ph', 'node200');
  assert.equal(condition(evacuated, 'Evacuated').message, 'no VM Tide manages is left');
  assert.deepEqual(evacuated.status.evacuation, { vmsLeft: 0, movable: 0, cannotMove: [] });
  assert.equal(evacuated.status.powerState, 'On', 'maintenance powers nothing off');
  await eventsOnceSent(world.getJson, "node200's Evacuated Event", (e) => e.reason === 'Evacuated' && e.involvedObject.name === 'node200');

  // 2. Removal (issue 19): node200 back in service, node100 deleted with the guest on it.
  await world.kubectl('patch', 'ph', 'node200', '--type=merge', '-p', '{"spec":{"maintenance":false}}');
  await eventually('node200 out of maintenance', async () => !condition(await world.getJson('ph', 'node200'), 'Evacuated'), 120_000, 1000);
  const deleting = Date.now();
  await world.kubectl('delete', 'ph', 'node100', '--wait=false');
  await eventually('node100 gone', async () => !(await world.getJson('ph')).items.some((h: any) => h.metadata.name === 'node100'), 300_000, 1000);
  t.diagnostic(`kubectl delete ph node100 → gone in ${((Date.now() - deleting) / 1000).toFixed(1)} s`);
  assert.deepEqual(await world.running('node200'), ['guest'], 'the guest left node100 before its PhysicalHost went');
  assert.deepEqual(await world.running('node100'), []);
  const back = await migratedTo('guest', 'node200');
  assert.deepEqual([back.status.migration.from, back.status.migration.reason, back.status.state], ['node100', 'Evacuate', 'Running']);
  const removed = await eventsOnceSent(world.getJson, 'the Removed Event', (e) => e.reason === 'Removed');
  assert.equal(removed.length, 1);
  assert.match(removed[0].message, /node100 removed: no VM Tide manages runs there/);
  assert.ok(!world.power.events.some((e) => e.what === 'poweroff-requested'), `no host was powered off: ${JSON.stringify(world.power.events)}`);
  verdict.passed();
});
