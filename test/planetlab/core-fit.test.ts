/**
 * tide's per-core hysteresis (src/planner/power-aware/core-fit.ts) and its evacuation order:
 * hand-built snapshots in CloudSim's units (cores of 1,000 MIPS, a G4 core 1,860 MIPS, a G5
 * core 2,660), each checked against the plan tide makes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterState } from '../../src/planner/cluster.ts';
import { DEFAULT_POLICY, plan } from '../../src/planner/plan.ts';
import { tideRules, TIDE_DEFAULTS } from '../../src/planner/strategies/tide.ts';
import type { HostSnapshot, PlannerPolicy, Snapshot, VmSnapshot } from '../../src/planner/types.ts';

const policy: PlannerPolicy = { ...DEFAULT_POLICY, minHostsOn: 0, strategy: 'tide' };
const G4_WATTS = [86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117];
const G5_WATTS = [93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135];

function g4(name: string): HostSnapshot {
  return { name, cpuCores: 3.72, coreMips: 1860, memoryMiB: 4096, powerState: 'on', standbyAllowed: true, maintenance: false, idleWatts: 86, peakWatts: 117, powerCurveWatts: G4_WATTS };
}
function g5(name: string): HostSnapshot {
  return { name, cpuCores: 5.32, coreMips: 2660, memoryMiB: 4096, powerState: 'on', standbyAllowed: true, maintenance: false, idleWatts: 93.7, peakWatts: 135, powerCurveWatts: G5_WATTS };
}
/** A 2,500-MIPS, 1-vCPU VM (2.5 snapshot vCPUs) with this load history (%, oldest first). */
function vm2500(name: string, on: string, history: number[], memoryMiB = 870): VmSnapshot {
  return { name, host: on, vcpus: 2.5, vcpuMips: 2500, memoryMiB, cpuLoadPercent: history[history.length - 1], doNotMigrate: false, cpuHistory: history };
}

test('tide moves a VM whose vCPU outgrows its host\'s core to a host whose cores serve it; lr-mmt does not see it', () => {
  // 80 % of 2,500 MIPS is 2,000 MIPS on one 1,860-MIPS core: short of CPU, though the G4 as a
  // whole is at 54 %, far from overloaded.
  const snapshot: Snapshot = {
    atMs: 0,
    hosts: [g4('slow'), g5('fast'), g4('other')],
    vms: [vm2500('hot', 'slow', Array(10).fill(80)), vm2500('filler', 'fast', Array(10).fill(10), 1740), vm2500('x', 'other', Array(10).fill(10), 1740)],
  };
  const moves = plan(snapshot, policy).actions.filter((a) => a.type === 'migrate');
  const hot = moves.find((a) => a.type === 'migrate' && a.vm === 'hot');
  assert.ok(hot && hot.type === 'migrate', JSON.stringify(moves));
  assert.equal(hot.to, 'fast');
  assert.match(hot.message, /asks 2000 MIPS/);
  const lr = plan(snapshot, { ...policy, strategy: 'lr-mmt' }).actions.filter((a) => a.type === 'migrate' && a.vm === 'hot');
  assert.deepEqual(lr, [], 'lr-mmt judges the host as a whole');
});

test('a slower core takes a VM only if its busiest recent sample × 1.2 fits, and not before its peaks are known', () => {
  const c = (history: number[]) => {
    const state = new ClusterState({ atMs: 0, hosts: [g4('slow'), g5('fast')], vms: [vm2500('v', 'fast', history)] }, policy);
    const { place } = tideRules(state, TIDE_DEFAULTS);
    return { admits: place.admits!(state.hosts[0], state.vms[0]), fastAdmits: place.admits!(state.hosts[1], state.vms[0]) };
  };
  // 60 % of 2,500 = 1,500 MIPS × 1.2 = 1,800 ≤ 1,860: fits; 65 % → 1,950 > 1,860: does not.
  assert.deepEqual(c([...Array(9).fill(10), 60]), { admits: true, fastAdmits: true });
  assert.deepEqual(c([65, ...Array(8).fill(10), 10]), { admits: false, fastAdmits: true }, 'a peak nine samples ago counts');
  assert.deepEqual(c([65, ...Array(10).fill(10)]), { admits: true, fastAdmits: true }, 'a peak eleven samples ago does not');
  assert.deepEqual(c(Array(9).fill(5)), { admits: false, fastAdmits: true }, 'nine samples: peaks unknown, no slower core');
});

test('tide empties the underloaded host with the fewest VMs first', () => {
  // One VM on `single` (at 20 %) and three on `triple` (at 5 % each, the least utilised host):
  // either can be emptied into `big`, not both (memory). lr-mmt's order (least utilised
  // first) moves three VMs to free a host; tide's moves one.
  const snapshot: Snapshot = {
    atMs: 0,
    hosts: [g5('big'), g5('single'), g5('triple')],
    vms: [
      vm2500('b1', 'big', Array(10).fill(30), 1740),
      vm2500('s1', 'single', Array(10).fill(20), 1740),
      ...['t1', 't2', 't3'].map((n) => vm2500(n, 'triple', Array(10).fill(5), 613)),
    ],
  };
  const moved = (strategy: PlannerPolicy['strategy']) => plan(snapshot, { ...policy, strategy }).actions.flatMap((a) => (a.type === 'migrate' ? [a.vm] : []));
  assert.deepEqual(moved('tide'), ['s1']);
  assert.deepEqual(moved('lr-mmt').sort(), ['t1', 't2', 't3']);
});
