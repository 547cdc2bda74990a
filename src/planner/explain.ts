/** Number formatting for the one-sentence explanations: short, and the same everywhere. */

/** 80 → "80", 62.345 → "62.3", 0.04 → "0". */
export function num(value: number): string {
  const rounded = Math.round(value * 10) / 10;
  return Object.is(rounded, -0) ? '0' : String(rounded);
}

/** 80 → "80 %". */
export function pct(value: number): string {
  return `${num(value)} %`;
}

/** ["a", "b", "c", "d", "e"] → "a, b, c and 2 more" (messages stay one readable line). */
export function listNames(names: readonly string[], max = 3): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}
