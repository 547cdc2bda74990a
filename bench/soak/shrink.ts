/**
 * Delta debugging (Zeller's ddmin) over a failing soak's fault list: the smallest subset of
 * faults that still makes the soak fail, within a budget of runs.
 */
import type { FaultEvent } from './faults.ts';

export async function shrinkFaults(faults: FaultEvent[], fails: (subset: FaultEvent[]) => Promise<boolean>, maxRuns = 40): Promise<{ faults: FaultEvent[]; runs: number }> {
  let current = faults;
  let n = 2;
  let runs = 0;
  while (current.length >= 2 && runs < maxRuns) {
    const size = Math.ceil(current.length / n);
    const chunks = Array.from({ length: Math.ceil(current.length / size) }, (_, i) => current.slice(i * size, (i + 1) * size));
    let reduced = false;
    // Try each chunk alone, then each complement.
    for (const candidate of [...chunks, ...chunks.map((_, i) => chunks.filter((__, j) => j !== i).flat())]) {
      if (candidate.length === 0 || candidate.length === current.length || runs >= maxRuns) continue;
      runs++;
      if (await fails(candidate)) {
        current = candidate;
        n = chunks.includes(candidate) ? 2 : Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= current.length) break;
      n = Math.min(current.length, n * 2);
    }
  }
  if (current.length === 1 && runs < maxRuns) {
    runs++;
    if (await fails([])) current = [];
  }
  return { faults: current, runs };
}
