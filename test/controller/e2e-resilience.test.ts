/**
 * What must hold when things go wrong: the operator dies mid-migration, a status write races
 * another writer, a watch expires. Driven through the embedded API server and the simulator.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeClusterWriter } from '../../src/controller/cluster.ts';
import { VIRTUAL_MACHINE_PLACEMENT } from '../../src/api/crds.ts';
import { SimHypervisorDriver, SimPowerDriver } from '../../src/sim/drivers.ts';
import { eventually, freezable, resourcesOf, startWorld } from './harness.ts';
import { eventsOnceSent } from '../kube/events.ts';

for (const fate of ['finishes', 'is aborted'] as const) {
  test(`operator killed mid-migration, migration ${fate} meanwhile: the restarted operator settles it and nothing is lost`, async (t) => {
    const world = await startWorld('paper-consolidation', 5);
    t.after(() => world.stop());
    const kubeConfig = world.api.kubeConfig();
    const writer = freezable(new KubeClusterWriter(kubeConfig, 'first'));
    const hypervisor = freezable(new SimHypervisorDriver(world.clock));
    const power = freezable(new SimPowerDriver(world.clock));
    await world.startOperator({ writer: writer.value, hypervisor: hypervisor.value, power: power.value });
    await world.applyObjects(resourcesOf(world.scenario));

    // Wait until an intent is on record and its migration is running in the data centre … (the
    // record is written before the driver is called: a freeze between the two would leave no
    // migration to finish, and under load that happened once)
    const running = await eventually('a migration to be running', async () => {
      const list = await world.getJson('vmp');
      const vm = list.items.find((v: any) => v.status?.migration?.phase === 'Running');
      return vm && world.clock.dc.vms.get(vm.spec.domain)?.migration && vm;
    });
    const domain = running.spec.domain;
    // … then the operator dies: every call it makes from now on goes nowhere.
    writer.freeze();
    hypervisor.freeze();
    power.freeze();
    // A killed process stops nothing: no graceful stop (which would abort the migration).

    if (fate === 'is aborted') world.clock.dc.abortMigration(domain, 'destination went away');
    const vmsBefore = world.clock.dc.vms.size;

    await world.startOperator({ writer: new KubeClusterWriter(kubeConfig, 'second') });
    // The record is settled from what the hosts show, and the settlement is announced.
    const reason = fate === 'finishes' ? 'MigrationRecovered' : 'MigrationInterrupted';
    const [event] = await eventsOnceSent(world.getJson, `a ${reason} event for ${domain}`, (e) => e.reason === reason && e.involvedObject.name === running.metadata.name);
    assert.match(event.message, fate === 'finishes' ? /found running on node200 after the operator restarted/ : /still running on node100/);
    if (fate === 'finishes') {
      const vm = await world.getJson('vmp', running.metadata.name);
      assert.equal(vm.status.migration.id, running.status.migration.id);
      assert.equal(vm.status.migration.phase, 'Succeeded');
    }

    // The second operator completes the consolidation; no VM was lost on the way.
    await world.kubectl('wait', '--for=jsonpath={.status.powerState}=Off', 'physicalhost/node100', '--timeout=90s');
    assert.equal(world.clock.dc.vms.size, vmsBefore);
    for (const vm of world.clock.dc.vms.values()) assert.equal(vm.host.spec.name, 'node200', `${vm.spec.name} runs on node200`);
  });
}

test('status writes that race each other get 409 and are retried on fresh data: no update is lost', async (t) => {
  const world = await startWorld('paper-consolidation');
  t.after(() => world.stop());
  await world.applyObjects(resourcesOf(world.scenario));
  const writer = new KubeClusterWriter(world.api.kubeConfig(), 'test');
  const ref = { def: VIRTUAL_MACHINE_PLACEMENT, name: 'vm-1', namespace: 'default' };
  // Five writers read the same resourceVersion; all but one lose the race at first.
  await Promise.all(Array.from({ length: 5 }, () => writer.updateStatus<any>(ref, (s) => ({ ...s, migrationCount: (s.migrationCount ?? 0) + 1 }))));
  assert.ok(writer.conflictsRetried >= 1, `409 seen and retried (${writer.conflictsRetried})`);
  const vm = await world.getJson('vmp', 'vm-1');
  assert.equal(vm.status.migrationCount, 5, 'every increment landed');
});

test('after watches end and the history is compacted (410 Gone), the operator still sees changes', async (t) => {
  const world = await startWorld('paper-consolidation');
  t.after(() => world.stop());
  const operator = await world.startOperator();
  await world.applyObjects(resourcesOf(world.scenario));
  await eventually('the policy in the cache', async () => operator.reconciler.policies()[0]);
  world.api.compactHistory();
  world.api.closeWatches();
  await world.kubectl('patch', 'consolidationpolicy', 'default', '--type=merge', '-p', '{"spec":{"minHostsOn":2}}');
  await eventually('the patched policy in the cache', async () => operator.reconciler.policies()[0]?.spec.minHostsOn === 2);
  // With two hosts required on, the operator must not power node100 off.
  await new Promise((r) => setTimeout(r, 1500));
  const hosts = await world.getJson('physicalhosts');
  for (const h of hosts.items) assert.notEqual(h.status?.powerState, 'Off', `${h.metadata.name} stays on`);
});
