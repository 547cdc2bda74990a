import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterState } from '../../src/planner/cluster.ts';
import { DEFAULT_POLICY, plan } from '../../src/planner/plan.ts';
import { checkPlan } from '../../src/planner/invariants.ts';
import { detectOverload, LR_DEFAULTS } from '../../src/planner/power-aware/overload.ts';
import { fitLine, valueAt } from '../../src/planner/forecast/regression.ts';
import type { HostSnapshot, PlannerPolicy, Snapshot, VmSnapshot } from '../../src/planner/types.ts';

const policy = (strategy: PlannerPolicy['strategy']): PlannerPolicy => ({ ...DEFAULT_POLICY, minHostsOn: 0, strategy });

function host(name: string): HostSnapshot {
  return { name, cpuCores: 2, memoryMiB: 8192, powerState: 'on', standbyAllowed: true, maintenance: false, idleWatts: 90, peakWatts: 130 };
}

/** A 1-vCPU VM on a 2-core host: a VM load of x % is x / 2 % of the host. */
function vm(name: string, hostName: string, history: number[], memoryMiB = 1024): VmSnapshot {
  return { name, host: hostName, vcpus: 1, memoryMiB, cpuLoadPercent: history[history.length - 1], doNotMigrate: false, cpuHistory: history };
}

const ramp = (from: number, step: number, n = 10) => Array.from({ length: n }, (_, i) => from + step * i);

test('OLS through 1…n, as CloudSim fits it', () => {
  const line = fitLine([1, 3, 5, 7])!;
  assert.equal(line.slope, 2);
  assert.equal(line.intercept, -1);
  assert.equal(valueAt(line, 5), 9);
});

test('lr-mmt detects overload by local regression with safety 1.2', () => {
  // Host a: two VMs ramping 70 → 160 % of a vCPU, i.e. the host ramps 35 → 80 %: the line
  // reaches 85 % one round (a migration) ahead, × 1.2 = 102 % ≥ 100 %: overloaded.
  // Host b: flat at 80 % now: 80 × 1.2 = 96 % < 100 %: not overloaded, though it is as loaded now.
  const snapshot: Snapshot = {
    atMs: 0,
    hosts: [host('a'), host('b')],
    vms: [vm('a1', 'a', ramp(35, 5)), vm('a2', 'a', ramp(35, 5)), vm('b1', 'b', Array(10).fill(80)), vm('b2', 'b', Array(10).fill(80))],
  };
  const c = new ClusterState(snapshot, policy('lr-mmt'));
  const [a, b] = c.hosts;
  const rising = detectOverload(a, a.vms);
  assert.ok(Math.abs(rising.value - 1.02) < 1e-9, `predicted ${rising.value}`);
  assert.equal(rising.overloaded, true);
  assert.equal(detectOverload(b, b.vms).overloaded, false);
  assert.equal(detectOverload(a, a.vms, { ...LR_DEFAULTS, safety: 1 }).overloaded, false, 'without the safety margin 85 % is fine');
  // Fewer than 10 samples: CloudSim's fallback, a 70 % threshold on the load now.
  const young = new ClusterState({ ...snapshot, vms: [vm('y1', 'a', [75, 75]), vm('y2', 'a', [75, 75])] }, policy('lr-mmt'));
  assert.equal(detectOverload(young.hosts[0], young.hosts[0].vms).overloaded, true);
});

test('minimum migration time moves the VM with the least RAM off an overloaded host', () => {
  const snapshot: Snapshot = {
    atMs: 0,
    hosts: [host('hot'), host('warm'), host('cold')],
    vms: [
      vm('big', 'hot', Array(10).fill(90), 1740),
      vm('small', 'hot', Array(10).fill(90), 613),
      vm('mid', 'hot', Array(10).fill(90), 870),
      vm('w', 'warm', Array(10).fill(60), 1740),
    ],
  };
  // hot is at 135 %: small (613 MiB) leaves first; at 90 % it is still overloaded (× 1.2 =
  // 108 %), so mid (870 MiB) leaves too; big (1,740 MiB) stays.
  const result = plan(snapshot, policy('lr-mmt'));
  const offHot = result.actions.filter((a) => a.type === 'migrate' && a.from === 'hot' && a.reason === 'Overloaded');
  assert.deepEqual(offHot.map((a) => (a as { vm: string }).vm).sort(), ['mid', 'small'], result.summary);
  assert.match(offHot.find((a) => (a as { vm: string }).vm === 'small')!.message, /least RAM \(613 MiB\)/);
  assert.deepEqual(checkPlan(snapshot, policy('lr-mmt'), result), []);
});

test('lr-mmt and tide never move pinned or do-not-migrate VMs and keep the invariants', () => {
  const hosts = Array.from({ length: 6 }, (_, i) => host(`h${i}`));
  const vms: VmSnapshot[] = [];
  for (let i = 0; i < 18; i++) {
    const v = vm(`v${i}`, `h${i % 6}`, ramp(5 + (i % 5) * 3, (i % 3) * 0.5), [613, 870, 1740][i % 3]);
    if (i % 4 === 0) v.pinnedHost = v.host;
    if (i % 7 === 0) v.doNotMigrate = true;
    vms.push(v);
  }
  const snapshot: Snapshot = { atMs: 0, hosts, vms };
  for (const strategy of ['lr-mmt', 'tide'] as const) {
    const result = plan(snapshot, policy(strategy));
    assert.deepEqual(checkPlan(snapshot, policy(strategy), result), []);
    const moved = result.actions.filter((a) => a.type === 'migrate');
    assert.ok(moved.length > 0, `${strategy} should consolidate these light hosts: ${result.summary}`);
    for (const m of moved) {
      const v = vms.find((x) => x.name === (m as { vm: string }).vm)!;
      assert.equal(v.pinnedHost, undefined, `${strategy} moved pinned ${v.name}`);
      assert.equal(v.doNotMigrate, false, `${strategy} moved do-not-migrate ${v.name}`);
      assert.ok(m.message.length > 20 && !m.message.includes('\n'), 'one-line reason');
    }
  }
});

test('power-aware placement keeps a vCPU off a core slower than what it asks for', () => {
  // Two 2,500-MIPS VMs at 95 % overload a 5,320-MIPS host (89 % × 1.2 ≥ 100 %). The one with
  // less RAM asks 2,375 MIPS of one core: the 1,860-MIPS host cannot run it (CloudSim's
  // Host.isSuitableForVm), though it adds fewer watts; the 2,660-MIPS one can.
  const fast = { ...host('fast'), cpuCores: 5.32, coreMips: 2660 };
  const slow = { ...host('slow'), cpuCores: 3.72, coreMips: 1860, idleWatts: 60, peakWatts: 80 };
  const hot = { ...host('hot'), cpuCores: 5.32, coreMips: 2660 };
  const big = { ...vm('big', 'hot', Array(10).fill(95), 613), vcpus: 2.5, vcpuMips: 2500 };
  const other = { ...vm('other', 'hot', Array(10).fill(95), 1740), vcpus: 2.5, vcpuMips: 2500 };
  const snapshot: Snapshot = { atMs: 0, hosts: [slow, fast, hot], vms: [big, other] };
  const result = plan(snapshot, policy('lr-mmt'));
  const move = result.actions.find((a) => a.type === 'migrate' && a.vm === 'big');
  assert.ok(move && move.type === 'migrate', result.summary);
  assert.equal(move.to, 'fast');
  // Without the speeds the slower host (fewer watts added) would have been chosen.
  const blind: Snapshot = { ...snapshot, hosts: snapshot.hosts.map(({ coreMips: _c, ...h }) => h) };
  const blindMove = plan(blind, policy('lr-mmt')).actions.find((a) => a.type === 'migrate' && a.vm === 'big');
  assert.equal(blindMove?.type === 'migrate' && blindMove.to, 'slow');
});

test('a newest-first history fits the same line as its oldest-first copy', () => {
  const oldestFirst = [0.2, 0.35, 0.3, 0.5, 0.45];
  assert.deepEqual(fitLine([...oldestFirst].reverse(), 5, true), fitLine(oldestFirst));
});

test('lr-mmt and tide power off the hosts they empty, and only within the policy', () => {
  const snapshot: Snapshot = {
    atMs: 0,
    hosts: [host('h0'), host('h1'), host('h2'), { ...host('h3'), standbyAllowed: false }],
    vms: [vm('a', 'h0', Array(10).fill(30)), vm('b', 'h1', Array(10).fill(20)), vm('c', 'h2', Array(10).fill(10))],
  };
  for (const strategy of ['lr-mmt', 'tide'] as const) {
    const result = plan(snapshot, policy(strategy));
    assert.deepEqual(checkPlan(snapshot, policy(strategy), result), []);
    const movedFrom = new Set(result.actions.flatMap((a) => (a.type === 'migrate' ? [a.from] : [])));
    const offs = result.actions.flatMap((a) => (a.type === 'power-off' ? [a.host] : []));
    assert.ok(movedFrom.size >= 2, `${strategy}: ${result.summary}`);
    for (const h of movedFrom) assert.ok(offs.includes(h), `${strategy} empties ${h} but leaves it on: ${result.summary}`);
    assert.ok(!offs.includes('h3'), 'standby not allowed on h3');
    const offPeak = plan(snapshot, { ...policy(strategy), consolidationAllowed: false });
    assert.deepEqual(offPeak.actions, [], 'no consolidation, no power-off outside the off-peak windows');
  }
});

test('a VM stuck on an overloaded host gets a standby host powered on, one that can take it and that Tide can power on', () => {
  // hot holds two VMs at 95 % of 2 cores' worth each: overloaded; the only other host is off.
  const snapshot: Snapshot = {
    atMs: 0,
    hosts: [host('hot'), { ...host('spare'), powerState: 'off' }],
    vms: [vm('v1', 'hot', Array(10).fill(95), 613), vm('v2', 'hot', Array(10).fill(95), 870)],
  };
  for (const strategy of ['lr-mmt', 'tide'] as const) {
    const result = plan(snapshot, policy(strategy));
    assert.deepEqual(checkPlan(snapshot, policy(strategy), result), []);
    assert.deepEqual(result.actions.filter((a) => a.type === 'power-on').map((a) => (a as { host: string }).host), ['spare'], result.summary);
    const cannot: Snapshot = { ...snapshot, hosts: [host('hot'), { ...host('spare'), powerState: 'off', canPowerOn: false }] };
    const none = plan(cannot, policy(strategy));
    assert.ok(!none.actions.some((a) => a.type === 'power-on'), 'canPowerOn: false');
    assert.ok(none.actions.some((a) => a.type === 'alert' && /v1/.test(a.message)), 'the stuck VM is reported');
  }
});
