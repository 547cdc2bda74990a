/**
 * Least privilege, held to what the operator really sends: while the operator runs the paper's
 * consolidation, the API server records every request and refuses (403) anything the rules in
 * src/controller/permissions.ts do not allow. The consolidation must complete, and every rule
 * must be used (none is generous). The policy asks for approval (a ConsolidationPlan is
 * proposed, approved, run and, with planHistoryLimit 0, deleted), so the plans' rules are used too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { allows, OPERATOR_NAMESPACE_RULES, OPERATOR_RULES, operatorAllows, ZIGBEE_AGENT_RULES } from '../../src/controller/permissions.ts';
import { KubeHostStore } from '../../src/power/agent/kube-host-store.ts';
import { MeterDirectory } from '../../src/power/agent/meter-directory.ts';
import { MeterFreshness } from '../../src/power/agent/meter-freshness.ts';
import { ZigbeeAgent } from '../../src/power/agent/zigbee-agent.ts';
import { RejectionRecorder } from '../../src/power/meters/meter-rejections.ts';
import { SimMeterSource } from '../../src/sim/drivers.ts';
import type { ResourceRequest } from '../../src/kube/apiserver/access.ts';
import { eventually, resourcesOf, startWorld } from './harness.ts';

test('the operator needs exactly the permissions in permissions.ts, no more and no fewer', async (t) => {
  let enforcing = false;
  const seen: ResourceRequest[] = [];
  const denied: ResourceRequest[] = [];
  const world = await startWorld('paper-consolidation', 20, {
    authorize: (request) => {
      if (!enforcing) return true; // the test's own setup and checks
      seen.push(request);
      const ok = operatorAllows('tide-system', request);
      if (!ok) denied.push(request);
      return ok;
    },
  });
  t.after(() => world.stop());
  const manual = (o: any) => (o.kind === 'ConsolidationPolicy' ? { ...o, spec: { ...o.spec, approval: 'Manual', planHistoryLimit: 0 } } : o);
  await world.applyObjects(resourcesOf(world.scenario).map(manual));
  // A VirtualMachineMigration too: the operator reads it and writes its status.
  const byHand = { apiVersion: 'tide.dev/v1alpha1', kind: 'VirtualMachineMigration', metadata: { name: 'by-hand', namespace: 'default' }, spec: { placement: 'vm-1', targetHost: 'node200' } };
  await world.applyObjects([byHand]);
  await world.kubectl('create', 'secret', 'generic', 'ssh', '-n', 'tide-system', '--from-literal=known_hosts=x');
  await world.kubectl('patch', 'physicalhost', 'node100', '--type=merge', '-p', '{"spec":{"ssh":{"secretRef":{"name":"ssh","namespace":"tide-system"}}}}');

  enforcing = true;
  const operator = await world.startOperator({ leaderElection: { namespace: 'tide-system', name: 'tide-operator', identity: 'rbac-test', retryPeriodMs: 200 } });
  const plan = await eventually('a proposed ConsolidationPlan', async () => (await world.getJson('cplan', '-n', 'tide-system')).items.find((p: any) => p.status?.phase === 'Proposed'));
  enforcing = false; // the test's own approval
  await world.kubectl('patch', 'cplan', plan.metadata.name, '-n', 'tide-system', '--type=merge', '-p', '{"spec":{"approved":true}}');
  enforcing = true;
  await eventually('node100 to be powered off', async () => world.clock.dc.hosts.get('node100')!.powerState === 'off' && operator.isActing);
  await new Promise((r) => setTimeout(r, 1000)); // the status writes after the power-off
  await operator.stop(); // releases the lease: an update
  enforcing = false;

  assert.deepEqual(denied, [], 'no request was refused');
  assert.deepEqual((await world.getJson('cplan', '-n', 'tide-system')).items, [], 'the plan ran and went (planHistoryLimit 0)');
  assert.equal((await world.getJson('vmm', 'by-hand', '-n', 'default')).status?.phase, 'Succeeded');
  const used = new Set(seen.map((r) => `${r.group}/${r.resource}/${r.verb}`));
  for (const rule of [...OPERATOR_RULES, ...OPERATOR_NAMESPACE_RULES]) {
    for (const group of rule.apiGroups) for (const resource of rule.resources) for (const verb of rule.verbs) {
      const key = `${group}/${resource}/${verb}`;
      // `create` on the Lease happens once per cluster.
      assert.ok(used.has(key), `${key} is granted but never used`);
    }
  }
  // The namespaced rules were used in tide-system only (anywhere else they would have been refused).
  for (const r of seen) if (allows(OPERATOR_NAMESPACE_RULES, r) && !allows(OPERATOR_RULES, r)) assert.equal(r.namespace, 'tide-system', `${r.verb} ${r.resource}`);
});

test('the meter agent needs exactly the permissions in permissions.ts', async (t) => {
  let enforcing = false;
  const seen: ResourceRequest[] = [];
  const denied: ResourceRequest[] = [];
  const world = await startWorld('paper-consolidation', 20, {
    authorize: (request) => {
      if (!enforcing) return true;
      seen.push(request);
      const ok = allows(ZIGBEE_AGENT_RULES, request);
      if (!ok) denied.push(request);
      return ok;
    },
  });
  t.after(() => world.stop());
  await world.applyObjects(resourcesOf(world.scenario));
  enforcing = true;
  const registry = new Registry();
  const agent = new ZigbeeAgent({
    source: new SimMeterSource(world.clock, 10_000),
    store: new KubeHostStore(world.api.kubeConfig()),
    directory: new MeterDirectory(),
    freshness: new MeterFreshness(60_000),
    clock: world.clock,
    registry,
    rejections: new RejectionRecorder({ registry, clock: world.clock }),
  });
  await agent.start();
  t.after(() => agent.stop());
  await eventually('status patches for both hosts', async () =>
    new Set(seen.filter((r) => r.verb === 'patch' && r.resource === 'physicalhosts/status').map((r) => r.name)).size === 2);
  enforcing = false;
  const hosts = await world.getJson('physicalhosts');
  for (const h of hosts.items) assert.ok(h.status?.watts > 0, `${h.metadata.name} has watts`);
  assert.deepEqual(denied, [], 'no request was refused');
  const used = new Set(seen.map((r) => `${r.group}/${r.resource}/${r.verb}`));
  for (const rule of ZIGBEE_AGENT_RULES) {
    for (const resource of rule.resources) for (const verb of rule.verbs) assert.ok(used.has(`tide.dev/${resource}/${verb}`), `${resource} ${verb} is granted but never used`);
  }
});
