import type { HistoryStore, TimeRange } from '../store/types.ts';
import type { HostPoint, ReportInput } from './model.ts';

/** Reads one window of history into a report input. */
export async function storeToReportInput(
  store: HistoryStore,
  range: TimeRange,
  title: string,
  overloadThresholdPercent?: number,
): Promise<ReportInput> {
  const hosts: Record<string, HostPoint[]> = {};
  for (const s of await store.hostSamples(range)) {
    (hosts[s.host] ??= []).push({ atMs: s.atMs, powerState: s.powerState, watts: s.watts, cpuLoadPercent: s.cpuLoadPercent });
  }
  const actions = (await store.actions(range)).map((r) => ({
    atMs: r.atMs, ...r.action, result: r.result, ...(r.measuredSaving ? { measuredSaving: r.measuredSaving } : {}),
  }));
  // The window is what was asked for, clipped to what was observed (an open-ended query
  // should not stretch the charts to the far future).
  let first = Infinity;
  let last = -Infinity;
  for (const t of [...Object.values(hosts).flat().map((p) => p.atMs), ...actions.map((a) => a.atMs)]) {
    first = Math.min(first, t);
    last = Math.max(last, t);
  }
  const window = first <= last ? { fromMs: Math.max(range.fromMs, first), toMs: Math.min(range.toMs, last) } : undefined;
  return { title, timeAxis: 'wall', hosts, actions, window, overloadThresholdPercent };
}
