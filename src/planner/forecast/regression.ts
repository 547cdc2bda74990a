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

/**
 * OLS fit of the first `n` samples of `y` against x = 1 … n, oldest first (or, with
 * `newestFirst`, of y[n − 1] … y[0], so a newest-first history needs no reversed copy);
 * null with fewer than 2 samples.
 */
export function fitLine(y: readonly number[], n = y.length, newestFirst = false): Line | null {
  if (n < 2) return null;
  const at = (i: number) => (newestFirst ? y[n - 1 - i] : y[i]);
  const meanX = (n + 1) / 2;
  let meanY = 0;
  for (let i = 0; i < n; i++) meanY += at(i);
  meanY /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const dx = i + 1 - meanX;
    sxy += dx * (at(i) - meanY);
    sxx += dx * dx;
  }
  const slope = sxy / sxx;
  return { intercept: meanY - slope * meanX, slope };
}

/** The line's value at x (x = n + 1 is one step after the last sample). */
export function valueAt(line: Line, x: number): number {
  return line.intercept + line.slope * x;
}
