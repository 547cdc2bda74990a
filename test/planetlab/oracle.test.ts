/**
 * The oracle's parts: bin-count bounds and the power bound checked against brute force on
 * small cases (each must never exceed the true minimum), and both references on data centres
 * small enough to work out by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { binsNeeded, dffBound, martelloTothL2, volumeBound, type Bins } from '../../src/sim/oracle/bin-count.ts';
import { convexHull, minimumWatts, type HostPool, type HostRequirement } from '../../src/sim/oracle/power-bound.ts';
import { retiredFrom } from '../../src/sim/oracle/workload.ts';
import { oracleEnergy } from '../../src/sim/oracle/oracle.ts';
import { CLOUDSIM_SETUP, type DatacentreSetup } from '../../src/sim/datacentre/setup.ts';
import { tablePower } from '../../src/sim/power-model.ts';

/** The fewest bins that hold the items, by trying every assignment. */
function fewestBins(items: readonly number[], bins: readonly Bins[]): number {
  const sorted = [...items].sort((a, b) => b - a);
  let best = Infinity;
  const open: { free: number }[] = [];
  const left = bins.map((b) => b.count);
  const place = (i: number) => {
    if (open.length >= best) return;
    if (i === sorted.length) {
      best = open.length;
      return;
    }
    for (const bin of open) {
      if (bin.free < sorted[i]) continue;
      bin.free -= sorted[i];
      place(i + 1);
      bin.free += sorted[i];
    }
    bins.forEach((b, t) => {
      if (left[t] === 0 || b.size < sorted[i]) return;
      left[t]--;
      open.push({ free: b.size - sorted[i] });
      place(i + 1);
      open.pop();
      left[t]++;
    });
  };
  place(0);
  return best;
}

test('bin counts: each bound is at most the fewest bins, on random small cases with bins of one or two sizes', () => {
  fc.assert(
    fc.property(
      // Sizes with many common divisors, so that items often sit exactly at a bound's breakpoints.
      fc.array(fc.integer({ min: 1, max: 12 }).map((x) => x * 10), { minLength: 1, maxLength: 7 }),
      fc.array(fc.record({ size: fc.constantFrom(60, 100, 120), count: fc.integer({ min: 1, max: 7 }) }), { minLength: 1, maxLength: 2 }),
      (items, bins) => {
        const fewest = fewestBins(items, bins);
        fc.pre(Number.isFinite(fewest));
        assert.ok(binsNeeded(items, bins) <= fewest, `binsNeeded ${binsNeeded(items, bins)} > ${fewest}`);
      },
    ),
    { numRuns: 400 },
  );
});

test('bin counts: L2 and the dual feasible functions each see what the volume does not', () => {
  // Two items over 60 % leave room for one 40 % item each, not two: 4 bins, volume says 3.
  assert.equal(volumeBound(26, [{ size: 10, count: 9 }]), 3);
  assert.equal(martelloTothL2([7, 7, 4, 4, 4], 10), 4);
  assert.equal(fewestBins([7, 7, 4, 4, 4], [{ size: 10, count: 9 }]), 4);
  // CloudSim's 1,052 VMs of 20110303 in 4,096-MiB hosts: a quarter of 870 MiB, half of 1,740,
  // a quarter of 613. None is over half a host, so L2 is the volume bound (1,305,269 MiB: 319
  // hosts); u^(4) weighs a 1,740-MiB VM ½ and an 870-MiB one ¼ (and a 613-MiB one 0): 5/16 of
  // 1,052 = 328.75, so at least 329 hosts.
  const vms = [...Array(263).fill(870), ...Array(526).fill(1740), ...Array(263).fill(613)];
  const hosts = [{ size: 4096, count: 1000 }];
  assert.equal(volumeBound(vms.reduce((a, b) => a + b), hosts), 319);
  assert.equal(martelloTothL2(vms, 4096), 319);
  assert.equal(dffBound(vms, 4096, 4), 329);
  assert.equal(binsNeeded(vms, hosts), 329);
});

test('the power curve is replaced by its lower convex hull, never above the table', () => {
  const g5 = CLOUDSIM_SETUP.hostTypes[1];
  const hull = convexHull(g5.watts, 5320);
  // 93.7 W at 0 %, 97 W at 10 %, 105 W at 30 %, 135 W at 100 %; 40–90 % lie above the line.
  assert.deepEqual(hull.map((s) => Math.round(s.mips)), [532, 1064, 3724]);
  assert.deepEqual(hull.map((s) => +(s.wattsPerMips * 5320).toFixed(2)), [33, 40, 42.86]);
  const curve = tablePower(g5.watts);
  let mips = 0;
  let watts = curve.idleWatts;
  for (const s of hull) {
    mips += s.mips;
    watts += s.mips * s.wattsPerMips;
    assert.ok(watts <= curve.watts((mips / 5320) * 100) + 1e-9);
  }
});

/** Two small host models with arbitrary (non-convex) tables. */
const tableArb = fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 10, maxLength: 10 }).chain((steps) =>
  fc.integer({ min: 40, max: 120 }).map((idle) => steps.reduce((t, d) => [...t, t[t.length - 1] + d], [idle])),
);
const poolsArb = fc.tuple(tableArb, tableArb, fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 2 })).map(([a, b, slowCount, fastCount]): HostPool[] =>
  [
    { model: 'fast', count: fastCount, capacityMips: 2000, coreMips: 1000, memoryMiB: 4096, power: tablePower(a), hull: convexHull(a, 2000) },
    { model: 'slow', count: slowCount, capacityMips: 1500, coreMips: 750, memoryMiB: 4096, power: tablePower(b), hull: convexHull(b, 1500) },
  ].filter((p) => p.count > 0),
);

/**
 * The least watts of whole hosts on their real tables carrying `demand`: on each set of hosts
 * on, the minimum lies where every host but one sits on a point of its table (the objective is
 * linear between table points).
 */
function leastWatts(demand: number, requirements: readonly HostRequirement[], pools: readonly HostPool[]): number {
  const hosts = pools.flatMap((p, t) => Array.from({ length: p.count }, () => ({ pool: p, t })));
  let best = Infinity;
  for (let mask = 0; mask < 1 << hosts.length; mask++) {
    const on = hosts.filter((_, i) => mask & (1 << i));
    if (requirements.some((r) => on.filter((h) => r.pools.includes(h.t)).length < r.hosts)) continue;
    for (let free = 0; free < Math.max(1, on.length); free++) {
      const others = on.filter((_, i) => i !== free);
      const points = others.reduce<number[][]>((acc) => acc.flatMap((c) => Array.from({ length: 11 }, (_, p) => [...c, p])), [[]]);
      for (const p of points) {
        const carried = others.reduce((sum, h, i) => sum + (p[i] / 10) * h.pool.capacityMips, 0);
        const watts = others.reduce((sum, h, i) => sum + h.pool.power.watts(p[i] * 10), 0);
        const rest = demand - carried;
        if (on.length === 0) {
          if (demand <= 1e-9) best = Math.min(best, 0);
          continue;
        }
        const h = on[free];
        if (rest < -1e-9 || rest > h.pool.capacityMips + 1e-9) continue;
        best = Math.min(best, watts + h.pool.power.watts((Math.max(0, rest) / h.pool.capacityMips) * 100));
      }
    }
  }
  return best;
}

test('minimumWatts never exceeds the least watts of whole hosts on their real tables', () => {
  fc.assert(
    fc.property(poolsArb, fc.double({ min: 0, max: 1, noNaN: true }), fc.nat(4), fc.nat(4), (pools, share, fast, all) => {
      const capacity = pools.reduce((s, p) => s + p.count * p.capacityMips, 0);
      const demand = share * capacity;
      const fastPool = pools.findIndex((p) => p.model === 'fast');
      const requirements = [{ pools: [fastPool], hosts: Math.min(fast, pools[fastPool].count) }, { pools: pools.map((_, t) => t), hosts: Math.min(all, pools.reduce((s, p) => s + p.count, 0)) }];
      const exact = leastWatts(demand, requirements, pools);
      const bound = minimumWatts(demand, requirements, pools);
      assert.ok(bound <= exact + 1e-9, `bound ${bound} W > least ${exact} W for ${demand} MIPS`);
    }),
    { numRuns: 300 },
  );
});

test('minimumWatts is exact where nothing is relaxed: linear curves, hosts forced on', () => {
  const linear = [100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200];
  const pools: HostPool[] = [{ model: 'l', count: 10, capacityMips: 2000, coreMips: 1000, memoryMiB: 4096, power: tablePower(linear), hull: convexHull(linear, 2000) }];
  // Memory forces 3 hosts on for 1,000 MIPS: 3 × 100 W idle + 1,000 × 0.05 W per MIPS.
  assert.ok(Math.abs(minimumWatts(1000, [{ pools: [0], hosts: 3 }], pools) - 350) < 1e-6);
  // 5,000 MIPS need 2.5 hosts' worth: at least 3 hosts on, 300 W + 250 W.
  assert.ok(Math.abs(minimumWatts(5000, [{ pools: [0], hosts: 3 }], pools) - 550) < 1e-6);
  assert.equal(minimumWatts(0, [{ pools: [0], hosts: 0 }], pools), 0);
});

test('a VM leaves (CloudSim) from the first update where its trace is 0 on both sides', () => {
  assert.equal(retiredFrom([5, 0, 3, 0, 0, 4]), 3);
  assert.equal(retiredFrom([0, 0, 3]), Infinity, 'the very first sample is before the first update');
  assert.equal(retiredFrom([5, 5, 0]), 2, 'the last sample repeats past the end of the trace');
});

// Four hosts of 2 × 1,000 MIPS, 4 GiB, 100 W idle to 200 W linear; VMs of 1,000 MIPS and 2 GiB.
const small: DatacentreSetup = {
  hostCount: 4,
  hostTypes: [{ model: 'linear', watts: [100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200], coreMips: 1000, cores: 2, memoryMiB: 4096, bandwidthMbps: 1000 }],
  vmTypes: [{ mips: 1000, vcpus: 1, memoryMiB: 2048 }],
  intervalSeconds: 100,
  durationSeconds: 200,
  cloudsimCompat: false,
  migrationDegradation: 0.1,
};
const fourAt10 = (memory?: number[]) => Array.from({ length: 4 }, (_, i) => ({ name: `vm-${i}`, file: `vm-${i}`, samples: [10, 10, 10], ...(memory && { memory }) }));

test('realistic mode: memory decides how many hosts both references run, and follows a memory column', () => {
  // 4 × 2 GiB need 2 hosts: 2 × 100 W + 400 MIPS × 0.05 W = 220 W; both references agree.
  const full = oracleEnergy(fourAt10(), small);
  for (const i of full.intervals) {
    assert.ok(Math.abs(i.lowerJoules - 220 * 100) < 1e-6, `lower ${i.lowerJoules}`);
    assert.ok(Math.abs(i.upperJoules - 220 * 100) < 1e-6, `upper ${i.upperJoules}`);
  }
  // At 100 % then 50 % of their size: 2 hosts, then one (4 × 1 GiB): 120 W.
  const shrinking = oracleEnergy(fourAt10([100, 50, 50]), small);
  assert.deepEqual(shrinking.intervals.map((i) => Math.round(i.lowerJoules / 100)), [220, 120]);
  assert.deepEqual(shrinking.intervals.map((i) => Math.round(i.upperJoules / 100)), [220, 120]);
  // CloudSim mode: memory never binds, the column is ignored.
  const compat = oracleEnergy(fourAt10([100, 100, 100]), { ...small, cloudsimCompat: true });
  assert.deepEqual(compat.intervals.map((i) => Math.round(i.lowerJoules / 100)), [120, 120]);
});

test('the lower bound is below the packing in every interval, in both modes, and the gap is small', () => {
  // 200 VMs of CloudSim's four types on 200 hosts, CPU load drifting over 0–60 %.
  const traces = Array.from({ length: 200 }, (_, v) => ({ name: `vm-${v}`, file: `vm-${v}`, samples: Array.from({ length: 24 }, (_, k) => ((v * 37 + k * (v % 7)) % 61)) }));
  for (const cloudsimCompat of [true, false]) {
    const o = oracleEnergy(traces, { ...CLOUDSIM_SETUP, hostCount: 200, durationSeconds: 24 * 300, cloudsimCompat });
    assert.equal(o.intervals.length, 24);
    o.intervals.forEach((i, k) => assert.ok(i.lowerJoules <= i.upperJoules, `interval ${k}: ${i.lowerJoules} J > ${i.upperJoules} J`));
    assert.ok(o.upperKWh / o.lowerKWh < 1.1, `gap ${o.upperKWh / o.lowerKWh}`);
  }
});
