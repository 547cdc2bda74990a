/**
 * The least watts any set of hosts can draw while it carries a given CPU demand with enough
 * hosts on — a lower bound, for the oracle. "Enough" is a chain of requirements: at least M_j
 * hosts of the models in F_j, each F_j holding the one before (e.g. at least 3 G5s for the
 * vCPUs asking more than a G4's core gives, at least 330 hosts in all).
 *
 * Exact minimisation is hard: the SPECpower tables are not convex (a G5 at 70 % + 70 % draws
 * less than at 100 % + 40 %), and hosts are either on (idle watts and up) or off. So the bound
 * relaxes two things, each of which can only lower the minimum:
 *
 * - each host's curve is replaced by its lower convex hull (never above the table);
 * - how many hosts of each model are on may be fractional.
 *
 * What is left is a linear programme: choose n_t hosts of model t (0 ≤ n_t ≤ count_t,
 * Σ_{t∈F_j} n_t ≥ M_j) and how many MIPS y ride on each segment of each model's hull (at most
 * n_t times the segment's length), to carry the demand D at the least Σ n_t·idle_t + Σ slope·y.
 * Dualising "the MIPS carried cover D" with a price λ ≥ 0 per MIPS leaves, for each λ, a host
 * of model t worth a_t(λ) = idle_t − Σ_segments length·max(0, λ − slope): take every host with
 * a_t < 0, then meet the requirements at the least cost — a chain of "at least" constraints,
 * whose complement (the hosts left off) is a laminar matroid, so the greedy that leaves the
 * dearest hosts off first is optimal. By weak duality every λ gives a lower bound,
 * λ·D + Σ n_t·a_t(λ); the function is concave in λ and a golden-section search finds its
 * maximum (where it equals the programme's value).
 */
import { hostTypeOf, type DatacentreSetup } from '../datacentre/setup.ts';
import { tablePower, type PowerModel } from '../power-model.ts';

export interface Segment {
  /** Watts per MIPS along this piece of the hull. */
  wattsPerMips: number;
  mips: number;
}

export interface HostPool {
  model: string;
  count: number;
  capacityMips: number;
  coreMips: number;
  memoryMiB: number;
  power: PowerModel;
  /** The lower convex hull of the power curve above idle, cheapest piece first. */
  hull: Segment[];
}

/** The data centre's hosts grouped by model, in the order the models first appear. */
export function hostPools(setup: DatacentreSetup): HostPool[] {
  const byModel = new Map<string, HostPool>();
  for (let i = 0; i < setup.hostCount; i++) {
    const type = hostTypeOf(setup, i);
    const capacityMips = type.coreMips * type.cores;
    const pool = byModel.get(type.model) ?? {
      model: type.model, count: 0, capacityMips, coreMips: type.coreMips, memoryMiB: type.memoryMiB,
      power: tablePower(type.watts, type.model), hull: convexHull(type.watts, capacityMips),
    };
    pool.count++;
    byModel.set(type.model, pool);
  }
  return [...byModel.values()];
}

/** The lower convex hull of a SPECpower table (watts at 0 %, 10 %, … 100 %) as segments in MIPS. */
export function convexHull(table: readonly number[], capacityMips: number): Segment[] {
  const points = table.map((watts, i) => ({ mips: (i / (table.length - 1)) * capacityMips, watts }));
  const hull: typeof points = [];
  for (const p of points) {
    // Drop the last point while it lies on or above the line from the one before it to p.
    while (hull.length >= 2) {
      const [a, b] = [hull[hull.length - 2], hull[hull.length - 1]];
      if ((b.watts - a.watts) * (p.mips - a.mips) >= (p.watts - a.watts) * (b.mips - a.mips)) hull.pop();
      else break;
    }
    hull.push(p);
  }
  return hull.slice(1).map((p, i) => ({ wattsPerMips: (p.watts - hull[i].watts) / (p.mips - hull[i].mips), mips: p.mips - hull[i].mips }));
}

const SEARCH_STEPS = 100;
const GOLDEN = (Math.sqrt(5) - 1) / 2;

/** At least `hosts` of the pools listed (indices into the pools) must be on. */
export interface HostRequirement {
  pools: readonly number[];
  hosts: number;
}

/**
 * A lower bound on the watts of hosts that carry `demandMips` and meet `requirements` — a
 * chain: each requirement's pools include those of the one before.
 */
export function minimumWatts(demandMips: number, requirements: readonly HostRequirement[], pools: readonly HostPool[]): number {
  // Nobody carries more than every host can: beyond that the demand is not served by anyone.
  const demand = Math.min(demandMips, pools.reduce((sum, p) => sum + p.count * p.capacityMips, 0));
  const bound = (price: number): number => {
    const worth = pools.map((p) => p.power.idleWatts - p.hull.reduce((s, seg) => s + seg.mips * Math.max(0, price - seg.wattsPerMips), 0));
    const on = pools.map((p, t) => (worth[t] < 0 ? p.count : 0));
    // Hosts each requirement can still leave off (none if it cannot be met at all).
    const spare = requirements.map((r) => Math.max(0, r.pools.reduce((sum, t) => sum + pools[t].count, 0) - Math.max(r.hosts, r.pools.reduce((sum, t) => sum + on[t], 0))));
    const byCost = pools.map((_, t) => t).filter((t) => worth[t] >= 0).sort((x, y) => worth[y] - worth[x]);
    for (const t of byCost) {
      const binding = requirements.flatMap((r, j) => (r.pools.includes(t) ? [j] : []));
      const off = Math.min(pools[t].count, ...binding.map((j) => spare[j]));
      for (const j of binding) spare[j] -= off;
      on[t] = pools[t].count - off;
    }
    return price * demand + on.reduce((sum, n, t) => sum + n * worth[t], 0);
  };
  // Past the dearest host's watts per MIPS at full load every host is worth taking and the
  // bound only falls (the hosts' capacity covers the demand), so the maximum lies below.
  let lo = 0;
  let hi = Math.max(...pools.map((p) => p.power.peakWatts / p.capacityMips));
  let x1 = hi - GOLDEN * (hi - lo);
  let x2 = lo + GOLDEN * (hi - lo);
  let f1 = bound(x1);
  let f2 = bound(x2);
  let best = Math.max(bound(lo), bound(hi), f1, f2);
  for (let i = 0; i < SEARCH_STEPS; i++) {
    if (f1 < f2) {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + GOLDEN * (hi - lo);
      f2 = bound(x2);
      best = Math.max(best, f2);
    } else {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - GOLDEN * (hi - lo);
      f1 = bound(x1);
      best = Math.max(best, f1);
    }
  }
  return Math.max(0, best);
}
