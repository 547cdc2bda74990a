/** The paper strategy against the paper's own experiments (§4.1, §4.2) and its rules (§3.2). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan } from '../../src/planner/plan.ts';
import { applyPlan } from '../../src/planner/apply.ts';
import type { StrategyName } from '../../src/planner/types.ts';
import { host, hostLoads, paperBalanceSnapshot, paperIdleSnapshot, policy, snapshot, vm } from './fixtures.ts';

test('§4.2: the 40 % VM moves from node100 (80 %) to node200 (40 %) and both end at 60 %', () => {
  const before = paperBalanceSnapshot();
  assert.deepEqual(hostLoads(before), { node100: 80, node200: 40 });
  const result = plan(before, policy());
  assert.equal(result.actions.length, 1);
  const [move] = result.actions;
  assert.deepEqual({ ...move, message: undefined }, { type: 'migrate', vm: 'vm-40', from: 'node100', to: 'node200', reason: 'Balance', message: undefined });
  assert.equal(move.message, 'migrate vm-40 node100→node200: node100 80 % vs node200 40 %, d = 40 ≥ 10, vm-40 weighs 20 points ≤ d/2 = 20');
  const after = applyPlan(before, result);
  assert.deepEqual(hostLoads(after), { node100: 60, node200: 60 });
  const again = plan(after, policy());
  assert.deepEqual(again.actions, [], 'balanced at 60/60: nothing more to do');
  assert.match(again.summary, /d = 0 < 10/);
});

test('§4.1: idle VMs are consolidated onto one host and the other is powered off', () => {
  const before = paperIdleSnapshot();
  const result = plan(before, policy());
  assert.deepEqual(
    result.actions.map((a) => (a.type === 'migrate' ? `${a.vm} ${a.from}→${a.to} ${a.reason}` : `${a.type} ${'host' in a ? a.host : ''} ${a.reason}`)),
    ['vm-1 node100→node200 Consolidate', 'vm-2 node100→node200 Consolidate', 'vm-3 node100→node200 Consolidate', 'vm-4 node100→node200 Consolidate', 'power-off node100 EmptyHost'],
  );
  // node100 goes because it idles at more watts than node200 (69 W vs 58 W), the tie-break.
  assert.match(result.actions[4].message, /saves ≈69 W idle/);
  const after = applyPlan(before, result);
  assert.equal(after.vms.filter((v) => v.host === 'node200').length, 8);
  assert.deepEqual(plan(after, policy()).actions, [], 'minHostsOn 1 keeps the last host on');
});

test('§4.1 with a VM of node100 mid-migration: node200 is emptied instead, and the plan says what held node100', () => {
  const before = paperIdleSnapshot();
  Object.assign(before.vms[0]!, { doNotMigrate: true, migrating: true });
  const result = plan(before, policy());
  assert.deepEqual(result.actions.filter((a) => a.type === 'power-off').map((a) => 'host' in a && a.host), ['node200']);
  assert.match(result.summary, /emptied and powered off 1 host; then no host can be emptied \(vm-1 is migrating\)/);
});

test('d/2 is not strict, the heaviest qualifying VM moves, and a VM over d/2 does not', () => {
  // node-a: 30 + 20 + 10 = 60 points, node-b: 20 → d = 40, d/2 = 20: the 20-point VM qualifies, the 30 does not.
  const s = snapshot([host('a'), host('b')], [vm('v30', 'a', 60), vm('v20', 'a', 40), vm('v10', 'a', 20), vm('w', 'b', 40)]);
  const result = plan(s, policy({ consolidationAllowed: false }));
  assert.equal(result.actions[0].type === 'migrate' && result.actions[0].vm, 'v20');
});

test('balancing stops below the threshold and says so', () => {
  const s = snapshot([host('a'), host('b')], [vm('v1', 'a', 90), vm('v2', 'b', 72)]);
  const result = plan(s, policy());
  assert.deepEqual(result.actions, []);
  assert.match(result.summary, /d = 9 < 10/);
});

test('over Th1 a standby host is powered on; with none the operators are alerted', () => {
  const busy = [vm('v1', 'a', 90, { vcpus: 4 }), vm('v2', 'b', 85, { vcpus: 4 })];
  const withStandby = plan(snapshot([host('a'), host('b'), host('c', { powerState: 'off' })], busy), policy());
  const on = withStandby.actions.find((a) => a.type === 'power-on');
  assert.ok(on && on.type === 'power-on' && on.host === 'c' && on.reason === 'Overloaded');
  assert.match(on.message, /average load of 2 active hosts 87.5 % > Th1 80 %/);

  const noStandby = plan(snapshot([host('a'), host('b'), host('c', { powerState: 'off', maintenance: true })], busy), policy());
  const alert = noStandby.actions.find((a) => a.type === 'alert');
  assert.ok(alert && alert.reason === 'OverloadedNoStandby');
  assert.match(alert.message, /c is in maintenance/);

  const booting = plan(snapshot([host('a'), host('b'), host('c', { powerState: 'booting' }), host('d', { powerState: 'off' })], busy), policy());
  assert.ok(!booting.actions.some((a) => a.type === 'power-on'), 'a host already booting counts as capacity on its way');
});

test('over Th1 a standby host with no power-on method is skipped, and said to be', () => {
  const busy = [vm('v1', 'a', 90, { vcpus: 4 }), vm('v2', 'b', 85, { vcpus: 4 })];
  // c is the bigger host, first in wake order, but nothing can power it on.
  const noMethod = host('c', { powerState: 'off', canPowerOn: false, cpuCores: 8 });
  const withOther = plan(snapshot([host('a'), host('b'), noMethod, host('d', { powerState: 'off' })], busy), policy());
  const on = withOther.actions.filter((a) => a.type === 'power-on');
  assert.deepEqual(on.map((a) => a.type === 'power-on' && a.host), ['d']);

  const onlyIt = plan(snapshot([host('a'), host('b'), noMethod], busy), policy());
  assert.ok(!onlyIt.actions.some((a) => a.type === 'power-on'));
  const alert = onlyIt.actions.find((a) => a.type === 'alert');
  assert.ok(alert && alert.reason === 'OverloadedNoStandby');
  assert.match(alert.message, /c has no power-on method/);
});

test('Th2: consolidate only when the load fits under 80 % of the N−1 hosts left', () => {
  const three = (load: number) => snapshot([host('a'), host('b'), host('c')], [vm('v1', 'a', load, { vcpus: 4 }), vm('v2', 'b', load, { vcpus: 4 }), vm('v3', 'c', load, { vcpus: 4 })]);
  // 3 × 50 % of 4 cores = 6 cores ≤ 0.8 × 8: consolidate, but no host may end over 80 %: one VM at 50 can't join another at 50.
  const tight = plan(three(50), policy());
  assert.ok(!tight.actions.some((a) => a.type === 'power-off'));
  assert.match(tight.summary, /fits on no other host under 80 %/);
  // 3 × 30 % = 3.6 cores ≤ 6.4: the least loaded (c, by name among equals: a, b, c → a) goes.
  const loose = plan(three(30), policy());
  assert.deepEqual(loose.actions.map((a) => a.type), ['migrate', 'power-off']);
  // 3 × 60 % = 7.2 cores > 6.4: no consolidation, and the sentence says so with the numbers.
  const full = plan(three(60), policy());
  assert.match(full.summary, /no consolidation: demand 7.2 cores > 80 % of the 8 cores of 2 hosts left/);
});

test('consolidation respects off-peak windows, minHostsOn, standby, pinned and do-not-migrate VMs', () => {
  const idle = paperIdleSnapshot();
  assert.deepEqual(plan(idle, policy({ consolidationAllowed: false })).actions, []);
  assert.match(plan(idle, policy({ consolidationAllowed: false })).summary, /consolidation not allowed now/);
  assert.deepEqual(plan(idle, policy({ minHostsOn: 2 })).actions, []);
  const noStandby = structuredClone(idle);
  noStandby.hosts[0].standbyAllowed = false;
  const r1 = plan(noStandby, policy());
  assert.ok(r1.actions.every((a) => a.type !== 'power-off' || a.host === 'node200'), 'node100 may not be put in standby');
  const pinned = structuredClone(idle);
  pinned.vms[0].pinnedHost = 'node100';
  pinned.vms[4].doNotMigrate = true;
  const r2 = plan(pinned, policy());
  assert.deepEqual(r2.actions, []);
  assert.match(r2.summary, /vm-1 is pinned to node100/);
});

test('hosts in maintenance receive nothing, even when least loaded', () => {
  const s = snapshot([host('a'), host('b', { maintenance: true }), host('c')], [vm('v1', 'a', 80, { vcpus: 4 }), vm('v2', 'a', 20, { vcpus: 4 }), vm('v3', 'c', 60, { vcpus: 4 })]);
  const result = plan(s, policy({ consolidationAllowed: false }));
  assert.ok(result.actions.length > 0);
  for (const a of result.actions) assert.ok(a.type !== 'migrate' || a.to !== 'b');
});

test('anti-affinity, cooldowns and the migration cap hold the balance back', () => {
  const now = 1_700_000_000_000;
  const grouped = snapshot([host('a'), host('b')], [vm('v1', 'a', 80, { antiAffinityGroup: 'db' }), vm('v2', 'a', 40, { antiAffinityGroup: 'db' }), vm('v3', 'b', 40, { antiAffinityGroup: 'db' })]);
  assert.deepEqual(plan(grouped, policy({ consolidationAllowed: false })).actions, []);
  const recent = snapshot([host('a'), host('b')], [vm('v1', 'a', 80), vm('v2', 'a', 40, { lastMigratedAtMs: now - 60_000 })], now);
  const cooled = plan(recent, policy({ consolidationAllowed: false, migrationCooldownMs: 600_000 }));
  assert.ok(!cooled.actions.some((a) => a.type === 'migrate' && a.vm === 'v2'));
  const many = snapshot([host('a', { cpuCores: 16 }), host('b', { cpuCores: 16 })], Array.from({ length: 12 }, (_, i) => vm(`v${i}`, 'a', 50)));
  const capped = plan(many, policy({ consolidationAllowed: false, maxMigrationsPerPlan: 2 }));
  assert.equal(capped.actions.filter((a) => a.type === 'migrate').length, 2);
  assert.match(capped.summary, /cap of 2 migrations is reached/);
});

test('hard violations are fixed first: pinned VMs go home, over-capacity hosts are relieved', () => {
  const s = snapshot([host('a'), host('b'), host('c')], [
    vm('home', 'a', 10, { pinnedHost: 'b' }),
    vm('big1', 'c', 100, { vcpus: 4 }), vm('big2', 'c', 50, { vcpus: 4 }),
  ]);
  for (const strategy of ['paper', 'npa'] as const) {
    const result = plan(s, policy({ strategy, consolidationAllowed: false }));
    const reasons = result.actions.map((a) => a.reason);
    assert.ok(reasons.includes('PinnedElsewhere') && reasons.includes('HostOverCapacity'), `${strategy}: ${reasons.join(', ')}`);
    const after = applyPlan(s, result);
    assert.equal(after.vms.find((v) => v.name === 'home')!.host, 'b');
    assert.ok(hostLoads(after).c <= 100);
  }
});

test('npa leaves an unbalanced cluster alone; an unknown strategy plans nothing and says so', () => {
  assert.deepEqual(plan(paperBalanceSnapshot(), policy({ strategy: 'npa' })).actions, []);
  // A policy from a newer Tide may name a strategy this build lacks.
  const unknown = plan(paperBalanceSnapshot(), policy({ strategy: 'from-the-future' as StrategyName }));
  assert.deepEqual(unknown.actions.map((a) => a.reason), ['Blocked']);
  assert.match(unknown.summary, /from-the-future is not available/);
});

test('a measured host load keeps its overhead when VMs move', () => {
  // node100 measures 90 % while its VMs explain 80: 10 points of hypervisor overhead stay put.
  const s = paperBalanceSnapshot();
  s.hosts[0].cpuLoadPercent = 90;
  const result = plan(s, policy());
  assert.match(result.actions[0].message, /node100 90 % vs node200 40 %, d = 50/);
  assert.equal(applyPlan(s, result).hosts[0].cpuLoadPercent, 70);
});
