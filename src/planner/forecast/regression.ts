/**
 * Least-squares line through equally spaced samples, as CloudSim's "local regression"
 * overload detection uses it. CloudSim builds tricube weights for a loess fit, but its
 * MathUtil.createWeigthedLinearRegression applies them only when ≥ 40 % of them are zero,
 * which never happens: the fit it actually runs is plain ordinary least squares over
 * x = 1 … n. We do the same, on purpose, so lr-mmt matches CloudSim's figures.
 */

export interface Line {
  intercept: number;
  slope: number;
}

/** OLS fit of `y` (oldest first) against x = 1 … n; null with fewer than 2 samples. */
export function fitLine(y: readonly number[]): Line | null {
  const n = y.length;
  if (n < 2) return null;
  const meanX = (n + 1) / 2;
  let meanY = 0;
  for (const v of y) meanY += v;
  meanY /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const dx = i + 1 - meanX;
    sxy += dx * (y[i] - meanY);
    sxx += dx * dx;
  }
  const slope = sxy / sxx;
  return { intercept: meanY - slope * meanX, slope };
}

/** The line's value at x (x = n + 1 is one step after the last sample). */
export function valueAt(line: Line, x: number): number {
  return line.intercept + line.slope * x;
}
