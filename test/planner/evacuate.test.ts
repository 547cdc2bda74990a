/**
 * The evacuation rule (src/planner/rules/evacuate.ts): hand-written cases, then properties over
 * random clusters with random hosts marked `evacuate`, under every strategy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { plan } from '../../src/planner/plan.ts';
import { checkPlan } from '../../src/planner/invariants.ts';
import { applyPlan } from '../../src/planner/apply.ts';
import { STRATEGIES } from '../../src/planner/strategies/index.ts';
import type { MigrateAction, Plan, PlannerPolicy, Snapshot, StrategyName } from '../../src/planner/types.ts';
import { clusterArb, policyArb } from './arbitraries.ts';
import { host, paperIdleSnapshot, policy, snapshot, vm } from './fixtures.ts';

const STRATEGY_NAMES = [...STRATEGIES.keys()] as StrategyName[];
const migrations = (p: Plan) => p.actions.filter((a): a is MigrateAction => a.type === 'migrate');

test('every strategy empties a host marked evacuate onto the others, and never powers it off', () => {
  for (const strategy of STRATEGY_NAMES) {
    const s = paperIdleSnapshot();
    s.hosts[0]!.evacuate = true; // node100, four idle VMs
    const p = plan(s, policy({ strategy }));
    const off100 = migrations(p).filter((m) => m.from === 'node100');
    assert.deepEqual(off100.map((m) => m.vm).sort(), ['vm-1', 'vm-2', 'vm-3', 'vm-4'], strategy);
    for (const m of off100) assert.deepEqual([m.to, m.reason], ['node200', 'Evacuate'], strategy);
    assert.ok(!p.actions.some((a) => (a.type === 'power-off' || a.type === 'power-on') && a.host === 'node100'), `${strategy}: node100 is not powered`);
    assert.ok(!migrations(p).some((m) => m.to === 'node100'), `${strategy}: node100 receives nothing`);
    assert.deepEqual(p.evacuations, [{ host: 'node100', moving: ['vm-1', 'vm-2', 'vm-3', 'vm-4'], staying: [] }], strategy);
    assert.match(p.summary, /evacuating node100: 4 moving, 0 staying/, strategy);
  }
});

test('VMs that may not move stay, each with why: pinned there, doNotMigrate, cooldown, migration cap', () => {
  const s = snapshot(
    [host('a', { evacuate: true }), host('b')],
    [
      vm('pinned', 'a', 10, { pinnedHost: 'a' }),
      vm('dnm', 'a', 10, { doNotMigrate: true }),
      vm('recent', 'a', 10, { lastMigratedAtMs: 1_700_000_000_000 - 60_000 }),
      vm('free1', 'a', 10),
      vm('free2', 'a', 5),
    ],
  );
  const p = plan(s, policy({ migrationCooldownMs: 1_800_000, maxMigrationsPerPlan: 1 }));
  const report = p.evacuations![0]!;
  assert.deepEqual(report.moving, ['free1']);
  const why = Object.fromEntries(report.staying.map((x) => [x.vm, x.why]));
  assert.match(why.pinned!, /pinned to a/);
  assert.match(why.dnm!, /do-not-migrate/);
  assert.match(why.recent!, /cooldown/);
  assert.match(why.free2!, /cap of 1 migrations/);
});

test('a VM pinned elsewhere goes to its own host only; anti-affinity and capacity are kept', () => {
  const s = snapshot(
    [host('a', { evacuate: true }), host('b'), host('c', { cpuCores: 2, memoryMiB: 2048 })],
    [
      vm('home-c', 'a', 10, { pinnedHost: 'c' }),
      vm('web-1', 'a', 10, { antiAffinityGroup: 'web' }),
      vm('web-2', 'b', 10, { antiAffinityGroup: 'web' }),
      vm('big', 'a', 10, { memoryMiB: 8192 }),
    ],
  );
  const p = plan(s, policy({ strategy: 'npa' }));
  const to = Object.fromEntries(migrations(p).map((m) => [m.vm, m.to]));
  assert.equal(to['home-c'], 'c');
  assert.equal(to['web-1'], 'c', 'not beside web-2 on b');
  assert.equal(to.big, 'b', 'c has 2 GiB only');
  assert.deepEqual(checkPlan(s, policy({ strategy: 'npa' }), p), []);
});

test('no room: the VM stays ("no room") and one standby host that could take it is powered on', () => {
  const s = snapshot(
    [host('a', { evacuate: true }), host('b', { memoryMiB: 2048 }), host('c', { powerState: 'off' }), host('d', { powerState: 'off', memoryMiB: 1024 })],
    [vm('fat', 'a', 10, { memoryMiB: 4096 })],
  );
  const p = plan(s, policy({ strategy: 'npa' }));
  assert.deepEqual(migrations(p), []);
  assert.match(p.evacuations![0]!.staying[0]!.why, /^no room: /);
  const on = p.actions.filter((a) => a.type === 'power-on');
  assert.deepEqual(on.map((a) => [a.type === 'power-on' && a.host, a.reason]), [['c', 'Evacuate']]);
  // Once c is up, the next round moves the VM there.
  const next = plan(applyPlan(s, p), policy({ strategy: 'npa' }));
  assert.deepEqual(migrations(next).map((m) => [m.vm, m.to]), [['fat', 'c']]);
});

test('a host marked evacuate that is off moves nothing and is not powered on', () => {
  const s = snapshot([host('a', { evacuate: true, powerState: 'off' }), host('b')], []);
  const p = plan(s, policy({ minHostsOn: 2 }));
  assert.deepEqual(p.actions, []);
  assert.deepEqual(p.evacuations, [{ host: 'a', moving: [], staying: [] }]);
});

test('the invariants catch a plan that sends a VM to, or powers, a host being evacuated', () => {
  const s = snapshot([host('a', { evacuate: true }), host('b')], [vm('v', 'b', 10)]);
  const bad: Plan = {
    strategy: 'paper', summary: 'broken on purpose',
    actions: [
      { type: 'migrate', vm: 'v', from: 'b', to: 'a', reason: 'Balance', message: 'x 1' },
      { type: 'power-off', host: 'a', reason: 'EmptyHost', message: 'x 2' },
    ],
  };
  const rules = checkPlan(s, policy(), bad).map((v) => v.rule);
  assert.deepEqual(rules.filter((r) => r === 'evacuating').length, 2, rules.join(', '));
});

/** Random clusters with some hosts (on or not) marked evacuate, under any strategy. */
const evacuatingArb = fc
  .tuple(clusterArb, fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), policyArb, fc.constantFrom(...STRATEGY_NAMES))
  .map(([s, marks, p, strategy]): [Snapshot, PlannerPolicy] => [
    { ...s, hosts: s.hosts.map((h, i) => (marks[i] && i % 3 === 0 ? { ...h, evacuate: true } : h)) },
    { ...p, strategy },
  ]);

test('property: a host being evacuated receives nothing, is never powered, every VM on it is accounted for, and the invariants hold', () => {
  fc.assert(
    fc.property(evacuatingArb, ([s, p]) => {
      const result = plan(s, p);
      assert.deepEqual(checkPlan(s, p, result), []);
      const evacuating = new Set(s.hosts.filter((h) => h.evacuate).map((h) => h.name));
      for (const a of result.actions) {
        if (a.type === 'migrate') assert.ok(!evacuating.has(a.to), `${a.message}: ${a.to} is being evacuated`);
        // The one power action on such a host: powerPolicy Off's, once it is empty (the invariants check the rest).
        const ordered = a.type === 'power-off' && a.reason === 'PowerPolicyOff' && s.hosts.find((h) => h.name === a.host)?.keepOff === true;
        if ((a.type === 'power-on' || a.type === 'power-off') && evacuating.has(a.host) && !ordered) assert.fail(`${a.message}: powers ${a.host}`);
      }
      for (const name of evacuating) {
        const report = result.evacuations?.find((r) => r.host === name);
        assert.ok(report, `a report for ${name}`);
        const onIt = s.vms.filter((v) => v.host === name).map((v) => v.name).sort();
        const movedOff = migrations(result).filter((m) => m.from === name).map((m) => m.vm);
        assert.deepEqual([...report.moving].sort(), [...movedOff].sort(), `${name}: moving = the migrations off it`);
        // Every VM on it is either moving or staying with a reason, never both.
        assert.deepEqual([...report.moving, ...report.staying.map((x) => x.vm)].sort(), onIt, `${name}: every VM accounted for once`);
        for (const x of report.staying) assert.ok(x.why.length > 0);
      }
    }),
    { numRuns: 3000 },
  );
});

test('property: re-planning with hosts being evacuated converges, and then only VMs that cannot move are left on them', () => {
  fc.assert(
    fc.property(evacuatingArb, ([s, p0]) => {
      const p = { ...p0, migrationCooldownMs: 0, powerCooldownMs: 0 };
      let world = s;
      const maxRounds = 2 * s.hosts.length + 10 + (p.maxMigrationsPerPlan > 0 ? 2 * s.vms.length : 0);
      for (let round = 1; round <= maxRounds; round++) {
        const result = plan(world, p);
        if (!result.actions.some((a) => a.type !== 'alert')) {
          for (const report of result.evacuations ?? []) {
            for (const x of report.staying) assert.match(x.why, /pinned|do-not-migrate|no room|is off|is booting|is shutting-down/, `${report.host}: ${x.vm} stays: ${x.why}`);
          }
          return;
        }
        world = applyPlan(world, result);
      }
      assert.fail(`still changing after ${maxRounds} rounds: ${plan(world, p).actions.map((a) => a.message).join(' | ')}`);
    }),
    { numRuns: 1500 },
  );
});

test('a target filled to exactly 70 % is not judged overloaded the next round because its VMs are summed in another order (the property above found this ping-pong)', () => {
  // fast-check's shrunk counterexample: node2 (4 cores) ends at 2×80 % + 40 % + 80 % of a core =
  // 70 %, within the fallback threshold when vm-2 was placed there, but 70.000…1 % summed in
  // node2's own order the round after, which moved vm-2 back and forth for ever.
  const at = 1_700_000_000_000;
  const power = { idleWatts: 40, peakWatts: 80, lastPowerActionAtMs: at, standbyAllowed: false };
  const s = snapshot(
    [
      host('node1', { ...power, cpuCores: 2, memoryMiB: 4096, maintenance: true, evacuate: true, cpuLoadPercent: 140 }),
      host('node2', { ...power, cpuCores: 4, memoryMiB: 16384, cpuLoadPercent: 0 }),
      host('node3', { ...power, cpuCores: 2, memoryMiB: 4096, cpuLoadPercent: 0 }),
    ],
    [
      vm('vm-1', 'node1', 80, { vcpus: 2, memoryMiB: 4096, antiAffinityGroup: 'web', lastMigratedAtMs: at }),
      vm('vm-2', 'node1', 80, { vcpus: 1, memoryMiB: 512, antiAffinityGroup: 'db', lastMigratedAtMs: at }),
      vm('vm-3', 'node1', 40, { vcpus: 1, memoryMiB: 512, antiAffinityGroup: 'cache', pinnedHost: 'node2', lastMigratedAtMs: at }),
    ],
    at,
  );
  const p = policy({
    strategy: 'tide', overloadThresholdPercent: 40, consolidationThresholdPercent: 40, balanceThresholdPercent: 1,
    minHostsOn: 0, maxMigrationsPerPlan: 0, migrationCooldownMs: 0, powerCooldownMs: 0, consolidationAllowed: true,
  });
  let world = s;
  const moves: string[] = [];
  for (let round = 1; round <= 6; round++) {
    const result = plan(world, p);
    if (migrations(result).length === 0) break;
    moves.push(...migrations(result).map((m) => `${m.vm} ${m.from}→${m.to}`));
    world = applyPlan(world, result);
  }
  assert.deepEqual(world.vms.map((v) => `${v.name}@${v.host}`), ['vm-1@node2', 'vm-2@node2', 'vm-3@node2'], moves.join(', '));
  assert.deepEqual(migrations(plan(world, p)), [], `settled after ${moves.join(', ')}`);
});
