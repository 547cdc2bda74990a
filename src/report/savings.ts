/**
 * Predicted against measured saving, per power-off and in total (history.ts records both).
 * A power-off still inside its window, or whose host had no reading, has no measurement yet:
 * it is listed, and left out of the totals of both columns so they compare like with like.
 */
import type { ReportAction } from './model.ts';

export interface SavingRow {
  action: ReportAction;
  predictedWh?: number;
  measuredWh?: number;
}

export interface SavingsSummary {
  rows: SavingRow[];
  /** Sums over the rows that have both a prediction and a measurement. */
  predictedWh: number;
  measuredWh: number;
  compared: number;
}

export function savingsSummary(actions: readonly ReportAction[]): SavingsSummary {
  const rows = actions
    .filter((a) => a.type === 'power-off' && (a.predictedSaving || a.measuredSaving))
    .map((action) => ({ action, predictedWh: action.predictedSaving?.energyWh, measuredWh: action.measuredSaving?.energyWh }));
  const both = rows.filter((r) => r.predictedWh !== undefined && r.measuredWh !== undefined);
  return {
    rows,
    predictedWh: both.reduce((s, r) => s + r.predictedWh!, 0),
    measuredWh: both.reduce((s, r) => s + r.measuredWh!, 0),
    compared: both.length,
  };
}
