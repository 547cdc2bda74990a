/**
 * From a ConsolidationPolicy spec and the current time to the planner's policy. Pure: the
 * time is an argument, so off-peak windows are testable at any instant.
 */
import { parseDuration } from '../api/schema-helpers.ts';
import type { ConsolidationPolicySpec, OffPeakWindow } from '../api/types.ts';
import type { PlannerPolicy } from '../planner/types.ts';

const WEEKDAY_INDEX: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/** Weekday (Mon = 0) and minutes since local midnight of `nowMs` in `timeZone`. */
export function localTime(nowMs: number, timeZone: string): { weekday: number; minutes: number } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(nowMs));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { weekday: WEEKDAY_INDEX[get('weekday')] ?? 0, minutes: Number(get('hour')) * 60 + Number(get('minute')) };
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

/** Is `nowMs` inside one of the windows? A window crossing midnight belongs to the day it starts. */
export function inOffPeakWindow(windows: OffPeakWindow[], timeZone: string, nowMs: number): boolean {
  const { weekday, minutes } = localTime(nowMs, timeZone);
  const startsOn = (w: OffPeakWindow, day: number) =>
    !w.days || w.days.length === 0 || w.days.some((d) => WEEKDAY_INDEX[d] === day);
  return windows.some((w) => {
    const start = minutesOf(w.start);
    const end = minutesOf(w.end);
    if (start === end) return startsOn(w, weekday); // a whole day
    if (start < end) return startsOn(w, weekday) && minutes >= start && minutes < end;
    const yesterday = (weekday + 6) % 7;
    return (startsOn(w, weekday) && minutes >= start) || (startsOn(w, yesterday) && minutes < end);
  });
}

export function plannerPolicy(spec: ConsolidationPolicySpec, nowMs: number): PlannerPolicy {
  const windows = spec.offPeakWindows ?? [];
  return {
    strategy: spec.strategy,
    overloadThresholdPercent: spec.overloadThresholdPercent,
    consolidationThresholdPercent: spec.consolidationThresholdPercent,
    balanceThresholdPercent: spec.balanceThresholdPercent,
    minHostsOn: spec.minHostsOn,
    maxMigrationsPerPlan: spec.maxMigrationsPerRound,
    migrationCooldownMs: parseDuration(spec.migrationCooldown),
    powerCooldownMs: parseDuration(spec.powerCooldown),
    consolidationAllowed: windows.length === 0 || inOffPeakWindow(windows, spec.timeZone, nowMs),
  };
}
