// The logistic approximation of the normal distribution's tail that Akka uses (within about 1.4e-4
// of the true probability, and cheap): P(X > t) ≈ 1 / (1 + exp(g(y))) with y = (t - mean) / sd and g below.
const linear = 1.5976;
const cubic = 0.070566;

/**
 * Phi of Hayashibara et al.'s accrual failure detector: -log10 of the probability that a
 * heartbeat arrives later than `elapsedMs` after the previous one, when inter-arrival times are
 * normally distributed with `meanMs` and `standardDeviationMs`. Phi 1 means a 10% chance that the
 * peer is still fine, phi 8 means 1e-8.
 *
 * @returns a number >= 0, growing with `elapsedMs`; `Infinity` when the probability underflows
 */
export function phi(elapsedMs: number, meanMs: number, standardDeviationMs: number): number {
  const y = (elapsedMs - meanMs) / standardDeviationMs;
  const e = Math.exp(-y * (linear + cubic * y * y));
  // -log10(e / (1 + e)) written two ways, each precise on its side of the mean (as Akka does).
  const value = elapsedMs > meanMs ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e));
  return Math.max(0, value); // never -0 or a rounding error below 0
}

/**
 * The number of standard deviations past the mean at which {@link phi} reaches `threshold`, so a
 * detector can compute when a peer becomes suspected instead of polling: it inverts
 * phi = log10(1 + exp(g(y))) by solving the cubic g(y) = ln(10^threshold - 1) in closed form.
 *
 * @throws RangeError if `threshold` is not a finite number greater than 0
 */
export function phiThresholdInStandardDeviations(threshold: number): number {
  if (!(Number.isFinite(threshold) && threshold > 0)) {
    throw new RangeError(
      `threshold must be a finite number greater than 0, got ${String(threshold)}`,
    );
  }
  // ln(10^t - 1), without overflowing 10^t for large t.
  const target = threshold * Math.LN10 + Math.log1p(-Math.pow(10, -threshold));
  // g is odd, so solve for |target| and restore the sign; Cardano's formula for
  // y^3 + p y + q = 0 (p > 0) is free of cancellation when -q/2 > 0.
  const p = linear / cubic;
  const halfQ = Math.abs(target) / cubic / 2;
  const u = Math.cbrt(halfQ + Math.sqrt(halfQ * halfQ + (p / 3) ** 3));
  const y = u - p / (3 * u);
  return Math.sign(target) * y;
}
