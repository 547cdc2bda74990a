/**
 * VM load timelines: CPU % of the VM's own vCPUs as a step function of simulated time
 * (seconds since the scenario starts). Each says when it next changes, so the data centre
 * integrates energy exactly between changes instead of sampling.
 */

export interface LoadTimeline {
  at(seconds: number): number;
  /** The first time after `seconds` at which the load changes (Infinity: never). */
  nextChange(seconds: number): number;
}

export function constantLoad(percent: number): LoadTimeline {
  return { at: () => percent, nextChange: () => Infinity };
}

export interface LoadStep {
  atSeconds: number;
  percent: number;
}

/** Holds each step's load from its time until the next step; before the first, the first. */
export function stepLoad(steps: readonly LoadStep[]): LoadTimeline {
  const sorted = [...steps].sort((a, b) => a.atSeconds - b.atSeconds);
  const indexAt = (s: number) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid].atSeconds <= s) lo = mid + 1;
      else hi = mid;
    }
    return lo; // number of steps at or before s
  };
  return {
    at: (s) => sorted[Math.max(0, indexAt(s) - 1)]?.percent ?? 0,
    nextChange: (s) => sorted[indexAt(s)]?.atSeconds ?? Infinity,
  };
}

/**
 * A PlanetLab-style trace: one sample per `intervalSeconds`, each held until the next; after
 * the last sample the trace starts over (a day's trace repeats on longer runs).
 */
export function traceLoad(samples: readonly number[], intervalSeconds: number): LoadTimeline {
  const length = samples.length * intervalSeconds;
  return {
    at: (s) => (samples.length === 0 ? 0 : samples[Math.floor((((s % length) + length) % length) / intervalSeconds)]),
    nextChange: (s) => (samples.length <= 1 ? Infinity : (Math.floor(s / intervalSeconds) + 1) * intervalSeconds),
  };
}
