/**
 * How many cases each fuzz property tries. CI uses the small default each file gives, so the
 * whole fuzz suite stays well under a minute; `FUZZ_RUNS=100000 node --import tsx --test
 * test/fuzz/*.test.ts` runs every property that many times locally. A failure prints
 * fast-check's seed and path: `FUZZ_SEED` and `FUZZ_PATH` replay it exactly.
 */
import type { Parameters } from 'fast-check';

export function fuzzRuns(ciDefault: number): number {
  const asked = process.env.FUZZ_RUNS;
  if (asked === undefined || asked === '') return ciDefault;
  const n = Number(asked);
  if (!Number.isInteger(n) || n < 1) throw new Error(`FUZZ_RUNS=${asked} is not a positive whole number`);
  return n;
}

/** fast-check parameters for one property: its run count, and the seed/path to replay when given. */
export function fuzzParams<T>(ciDefault: number): Parameters<T> {
  const seed = process.env.FUZZ_SEED;
  const path = process.env.FUZZ_PATH;
  return {
    numRuns: fuzzRuns(ciDefault),
    // The failing assertion in the message itself: node's test runner prints no error cause.
    includeErrorInReport: true,
    ...(seed ? { seed: Number(seed) } : {}),
    ...(path ? { path } : {}),
  };
}
