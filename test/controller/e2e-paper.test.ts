/**
 * The paper's two experiments driven only through resources: kubectl apply of hosts, VMs and
 * policy against the embedded API server, the operator deciding and acting on the simulator.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, resourcesOf, startWorld, type World } from './harness.ts';
import { eventsOnceSent } from '../kube/events.ts';

test('consolidation (paper §4.1): kubectl apply → four migrations → node100 powered off, 127 W → 58 W', async (t) => {
  const world = await startWorld('paper-consolidation');
  t.after(() => world.stop());
  await world.startOperator();
  assert.ok(Math.abs(world.clock.dc.watts() - 127) < 0.5, `starts at 127 W, got ${world.clock.dc.watts()}`);

  await world.kubectl('apply', '-f', 'manifests/examples/paper/');
  await world.kubectl('wait', '--for=jsonpath={.status.powerState}=Off', 'physicalhost/node100', '--timeout=90s');

  const vms = await eventually('every VM to be observed on node200', async () => {
    const list = await world.getJson('vmp', '-n', 'paper');
    return list.items.length === 8 && list.items.every((vm: any) => vm.status?.host === 'node200') && list;
  });
  const moved = vms.items.filter((vm: any) => vm.status.migration);
  assert.deepEqual(moved.map((vm: any) => vm.metadata.name).sort(), ['vm-1', 'vm-2', 'vm-3', 'vm-4']);
  for (const vm of moved) {
    assert.equal(vm.status.migration.phase, 'Succeeded');
    assert.equal(vm.status.migration.reason, 'Consolidate');
    assert.match(vm.status.migration.message, /node100/);
  }
  const node100 = (await world.getJson('physicalhost', 'node100'));
  assert.equal(node100.status.powerAction.type, 'PowerOff');
  assert.equal(node100.status.powerAction.phase, 'Succeeded');
  assert.equal(node100.status.conditions.find((c: any) => c.type === 'Standby').status, 'True');

  // Events carry the planner's reasons.
  const events = await eventsOnceSent(world.getJson, 'four Migrated Events and a PoweredOff', () => true,
    (sent) => sent.filter((e) => e.reason === 'Migrated').length >= 4 && sent.some((e) => e.reason === 'PoweredOff'));
  const reasons = events.map((e: any) => e.reason);
  assert.equal(reasons.filter((r: string) => r === 'Migrated').length, 4);
  assert.ok(reasons.includes('PoweredOff'));
  const poweringOff = events.find((e: any) => e.reason === 'PoweringOff');
  assert.match(poweringOff.message, /emptied by consolidation/);

  // The simulated meters agree with the paper: node200 alone draws 58 W.
  await eventually('power to settle at 58 W', async () => Math.abs(world.clock.dc.watts() - 58) < 0.5);
  const table = await world.kubectl('get', 'physicalhosts');
  assert.match(table, /node100\s+Off/);
  assert.match(table, /node200\s+On/);

  // Before uninstalling, an administrator forbids standby: Tide powers node100 back on.
  await world.kubectl('patch', 'physicalhost', 'node100', '--type=merge', '-p', '{"spec":{"standbyAllowed":false}}');
  await world.kubectl('wait', '--for=jsonpath={.status.powerState}=On', 'physicalhost/node100', '--timeout=90s');
  const woken = await world.getJson('physicalhost', 'node100');
  assert.equal(woken.status.powerAction.reason, 'StandbyNotAllowed');
});

test('balance (paper §4.2): the 40 % VM moves and the hosts end at 60 % / 60 %', async (t) => {
  const world = await startWorld('paper-balance');
  t.after(() => world.stop());
  await world.startOperator();
  await world.applyObjects(resourcesOf(world.scenario));
  const vm40 = await eventually('vm-40 to move', async () => {
    const vm = await world.getJson('vmp', 'vm-40');
    return vm.status?.migration?.phase === 'Succeeded' && vm;
  });
  assert.equal(vm40.status.migration.from, 'node100');
  assert.equal(vm40.status.migration.to, 'node200');
  assert.equal(vm40.status.migration.reason, 'Balance');
  const hosts = await eventually('host loads to be observed after the move', async () => {
    const list = await world.getJson('physicalhosts');
    const loads = Object.fromEntries(list.items.map((h: any) => [h.metadata.name, h.status?.cpuLoadPercent]));
    return loads.node100 === 60 && loads.node200 === 60 && loads;
  });
  assert.deepEqual(hosts, { node100: 60, node200: 60 });
  const vms = await world.getJson('vmp');
  assert.equal(vms.items.filter((vm: any) => vm.status?.migration).length, 1, 'exactly one migration');
});

test('an invalid policy is rejected with the field named, and the operator keeps the valid one', async (t) => {
  const world = await startWorld('paper-consolidation');
  t.after(() => world.stop());
  const file = `${world.dir}/bad-policy.yaml`;
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, 'apiVersion: tide.dev/v1alpha1\nkind: ConsolidationPolicy\nmetadata: {name: bad}\nspec: {overloadThresholdPercent: 150}\n');
  const result = await world.kubectlResult('apply', '-f', file);
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /spec\.overloadThresholdPercent/);
  const policies = await world.getJson('consolidationpolicies');
  assert.equal(policies.items.length, 0, 'nothing was stored');
});
