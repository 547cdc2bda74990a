/**
 * A round that settles an interrupted migration plans on the settled record, not on the cache's
 * older copy. Found by test/realkube/operator-resilience.test.ts under load: the restarted
 * operator settled vm-1's record, planned 23 ms later from a cache that still showed it Running,
 * took vm-1 for busy, passed over node100 and emptied node200, the host that idles cheaper.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONSOLIDATION_POLICY, PHYSICAL_HOST, specWithDefaults, VIRTUAL_MACHINE_PLACEMENT } from '../../src/api/crds.ts';
import type { ConsolidationPolicy, MigrationRecord, PhysicalHost, VirtualMachinePlacement } from '../../src/api/types.ts';
import { Reconciler } from '../../src/controller/reconciler.ts';
import { plan } from '../../src/planner/plan.ts';
import { host, snapshot, vm } from '../planner/fixtures.ts';
import { hostObject, MemoryWriter, ModelHypervisor, placementObject, quietLog, RecordingPower, T0, testClock } from './executor-world.ts';

/** The paper's two idle hosts; v1's migration a → b was interrupted (the VM is still on a). */
function interruptedWorld(cacheLagMs: number) {
  const s = snapshot([host('a'), host('b')], [vm('v1', 'a', 0), vm('v2', 'a', 0), vm('v3', 'b', 0)]);
  const hosts = s.hosts.map(hostObject);
  hosts[0]!.spec.power!.idleWatts = 69;
  hosts[1]!.spec.power!.idleWatts = 58;
  const placements = s.vms.map(placementObject);
  const record: MigrationRecord = { id: 'm-v1', phase: 'Running', from: 'a', to: 'b', reason: 'Consolidate', message: '', startedAt: new Date(T0 - 3_600_000).toISOString() } as MigrationRecord;
  placements[0]!.status = { ...placements[0]!.status!, migration: record };
  const policy: ConsolidationPolicy = {
    apiVersion: 'tide.dev/v1alpha1', kind: 'ConsolidationPolicy', metadata: { name: 'default', uid: 'uid-default', generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: specWithDefaults(CONSOLIDATION_POLICY, { strategy: 'paper', minHostsOn: 1 }) as ConsolidationPolicy['spec'],
  };
  const writer = new MemoryWriter();
  for (const h of hosts) writer.put(PHYSICAL_HOST, h);
  for (const p of placements) writer.put(VIRTUAL_MACHINE_PLACEMENT, p);
  writer.put(CONSOLIDATION_POLICY, policy);
  // An informer cache that shows each status write `cacheLagMs` after it was made.
  let visibleAt = 0;
  const write = writer.updateStatus.bind(writer);
  writer.updateStatus = async (ref, mutate) => {
    await write(ref, mutate);
    visibleAt = Date.now() + cacheLagMs;
  };
  let shown = placements;
  const listPlacements = () => {
    // Copies: the writer changes its objects in place, as a cache's objects never are.
    if (Date.now() >= visibleAt) shown = placements.map((p) => structuredClone(writer.get<VirtualMachinePlacement>(VIRTUAL_MACHINE_PLACEMENT, p.metadata.name, 'prod')!));
    return shown;
  };
  const hypervisor = new ModelHypervisor(s);
  hypervisor.autoEnd = () => true;
  const reconciler = new Reconciler({
    clock: testClock, writer, hypervisor, power: new RecordingPower(), log: quietLog(), planner: plan,
    cache: { listHosts: () => hosts.map((h) => writer.get<PhysicalHost>(PHYSICAL_HOST, h.metadata.name)!), listPlacements, listPolicies: () => [policy] },
  });
  return { reconciler, writer };
}

test('after settling an interrupted migration the round plans on the settled record: the host that idles at more watts is emptied', async () => {
  const { reconciler, writer } = interruptedWorld(150);
  const { plans } = await reconciler.planRound();
  const settled = writer.get<VirtualMachinePlacement>(VIRTUAL_MACHINE_PLACEMENT, 'v1', 'prod')!.status!.migration!;
  assert.deepEqual([settled.id === 'm-v1', settled.phase], [false, 'Succeeded'], 'v1 settled as Failed, then moved by a new migration');
  const actions = plans[0]!.plan.actions.map((a) => (a.type === 'migrate' ? `migrate ${a.vm} ${a.from}→${a.to}` : a.type === 'power-off' ? `power-off ${a.host}` : a.type));
  assert.deepEqual(actions, ['migrate v1 a→b', 'migrate v2 a→b', 'power-off a'], plans[0]!.plan.summary);
});
