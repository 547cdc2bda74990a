/**
 * What a plan expects its power-offs to save: each host's idle watts (what the planner already
 * weighs it by, src/planner/rules/consolidate.ts) no longer drawn over the next window. Pure.
 */
import type { Plan, Snapshot } from '../planner/types.ts';
import type { PredictedSaving } from '../store/types.ts';

/** The window a prediction covers, and over which its saving is measured afterwards. */
export const SAVING_WINDOW_MS = 3_600_000;

const MS_PER_HOUR = 3_600_000;

export function predictedSaving(watts: number, windowMs: number): PredictedSaving {
  return { watts, windowMs, energyWh: (watts * windowMs) / MS_PER_HOUR };
}

/** Host → predicted saving, for each power-off of the plan whose host has known idle watts. */
export function predictSavings(plan: Plan, snapshot: Snapshot, windowMs = SAVING_WINDOW_MS): Map<string, PredictedSaving> {
  const idle = new Map(snapshot.hosts.map((h) => [h.name, h.idleWatts]));
  const out = new Map<string, PredictedSaving>();
  for (const action of plan.actions) {
    if (action.type !== 'power-off') continue;
    const watts = idle.get(action.host);
    if (watts !== undefined) out.set(action.host, predictedSaving(watts, windowMs));
  }
  return out;
}

/** The sum of several predictions over one window (undefined when there are none). */
export function totalPrediction(predictions: Iterable<PredictedSaving>): PredictedSaving | undefined {
  const all = [...predictions];
  if (all.length === 0) return undefined;
  return predictedSaving(all.reduce((s, p) => s + p.watts, 0), all[0].windowMs);
}
