/** `--since` / `--until`: an ISO time, or a duration (`90m`, `24h`, `7d`). */

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]] : undefined;
}

/**
 * For wall-clock data a duration means that long before `nowMs`; for a simulation it means that
 * long after its start (time 0), and only durations make sense.
 */
export function parseTimeFlag(flag: string, text: string, axis: 'wall' | 'elapsed', nowMs: number): number {
  const duration = parseDuration(text);
  if (duration !== undefined) return axis === 'wall' ? nowMs - duration : duration;
  if (axis === 'wall') {
    const t = Date.parse(text);
    if (!Number.isNaN(t)) return t;
  }
  const expected = axis === 'wall' ? 'an ISO time (2026-11-25T08:00Z) or a duration ago (24h, 7d)' : 'a duration since the simulation started (90m, 6h)';
  throw new Error(`--${flag} '${text}': expected ${expected}`);
}
