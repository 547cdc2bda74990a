/**
 * Lower bounds on the number of bins (hosts) a set of items (VMs' memory, or their CPU demand)
 * needs, for the oracle's lower bound. Each is a classic bound for bins of one size C:
 *
 * - Martello & Toth's L2 (1990): items bigger than C − α each need a bin of their own, items
 *   bigger than C/2 too, and items of at least α fill what those leave free before needing
 *   more; the best α wins.
 * - Fekete & Schepers' dual feasible functions u^(k) (2001): map each item x (in bins of 1)
 *   to floor((k+1)·x)/k; any set that fits in a bin still sums to at most 1 after the map, so
 *   the mapped sizes' sum bounds the bins. This is the bound that binds for CloudSim's VMs:
 *   no VM is over half a host (so L2 = the volume bound), but with u^(4) a 1,740-MiB VM of a
 *   4,096-MiB host weighs ½ and an 870-MiB one ¼, which proves that a day's VMs need about 3 %
 *   more hosts than their memory's volume.
 *
 * Hosts of different sizes: a packing into bins no larger than C is also a packing into bins of
 * size C, so each bound computed with C = the largest bin bounds the count of any mix of hosts;
 * the volume bound is taken over the real sizes (fewest largest bins that hold the total).
 */

/** A tolerance on the safe side: a bound rounded down by float noise is still a bound. */
const EPS = 1e-9;
const DFF_ORDERS = 20;

export interface Bins {
  size: number;
  count: number;
}

/** Fewest bins whose sizes add up to the items' total, largest bins first (all of them if that is not enough). */
export function volumeBound(total: number, bins: readonly Bins[]): number {
  let rest = total * (1 - EPS);
  let n = 0;
  for (const b of [...bins].sort((x, y) => y.size - x.size)) {
    if (rest <= 0) break;
    const take = Math.min(b.count, Math.ceil(rest / b.size - EPS));
    n += take;
    rest -= take * b.size;
  }
  return n;
}

/**
 * Martello & Toth's L2 for bins of size `capacity`. For 0 ≤ α ≤ C/2: J1 = items > C − α, J2 =
 * items in (C/2, C − α], J3 = items in [α, C/2]. Items of J1 and J2 need a bin each; no item of
 * J3 fits beside one of J1; what of J3 does not fit in J2's bins needs new ones. Only the
 * item sizes (and 0) need trying as α: between two of them a larger α only helps.
 */
export function martelloTothL2(sizes: readonly number[], capacity: number): number {
  const s = [...sizes].sort((a, b) => b - a);
  const prefix = [0];
  for (const x of s) prefix.push(prefix[prefix.length - 1] + x);
  /** How many items are > limit (or ≥ it with `orEqual`): a prefix of s, which is sorted descending. */
  const countAbove = (limit: number, orEqual = false) => {
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid] > limit || (orEqual && s[mid] === limit)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const half = capacity / 2;
  const big = countAbove(half);
  let best = 0;
  for (const alpha of new Set([0, ...s.filter((x) => x <= half)])) {
    const j1 = countAbove(capacity - alpha);
    const j2 = big - j1;
    const j2Free = j2 * capacity - (prefix[big] - prefix[j1]);
    const j3Size = prefix[countAbove(alpha, true)] - prefix[big];
    const spill = Math.max(0, Math.ceil((j3Size - j2Free) / capacity - EPS));
    best = Math.max(best, j1 + j2 + spill);
  }
  return best;
}

/**
 * Fekete & Schepers' u^(k), kept at or below the original where (k+1)·x is an integer (there
 * u^(k)(x) = x; we use the smaller ((k+1)·x − 1)/k) so that float noise can only lower it.
 */
export function dffBound(sizes: readonly number[], capacity: number, k: number): number {
  let sum = 0;
  for (const size of sizes) sum += Math.max(0, Math.ceil((k + 1) * (size / capacity) - 1 - EPS)) / k;
  return Math.max(0, Math.ceil(sum - EPS));
}

/** The best of the bounds above: at least this many of `bins` hold `sizes`. */
export function binsNeeded(sizes: readonly number[], bins: readonly Bins[]): number {
  const items = sizes.filter((x) => x > 0);
  if (items.length === 0) return 0;
  const capacity = Math.max(...bins.map((b) => b.size));
  let best = Math.max(volumeBound(items.reduce((a, b) => a + b, 0), bins), martelloTothL2(items, capacity));
  for (let k = 1; k <= DFF_ORDERS; k++) best = Math.max(best, dffBound(items, capacity, k));
  return best;
}
