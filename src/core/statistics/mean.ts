import { normalCritical, tCritical } from './distributions.js';
import { isBinary, moments } from './moments.js';
import { assertFinite, assertLevel, assertNonEmpty } from './validate.js';

/** How an interval was computed. */
export type IntervalMethod = 't' | 'wilson' | 'clustered-t';

/** The mean of per-item values with its standard error and confidence interval. */
export interface MeanEstimate {
  n: number;
  mean: number;
  /** Sample standard error sd / sqrt(n) (n - 1 in sd), for 0/1 data too; null when n < 2. */
  se: number | null;
  /** Wilson for 0/1 data (defined from n = 1), else t with n - 1 df (null when n < 2). */
  ci: [number, number] | null;
  method: IntervalMethod;
  /** Whether every value is 0 or 1. */
  binary: boolean;
}

/**
 * The mean with a confidence interval at `level` (e.g. 0.95): the Wilson score interval when every value is 0
 * or 1, else the t-interval mean ± t_{1-(1-level)/2, n-1} · se. The standard error is the sample one,
 * sd / sqrt(n), in every case (for 0/1 data it is sqrt(p(1-p)/(n-1)), slightly above the binomial
 * sqrt(p(1-p)/n)), so that se means the same thing across metrics. Constant continuous data has se 0 and the
 * zero-width interval [mean, mean]; all-0 or all-1 data still gets a non-degenerate Wilson interval.
 * Throws a RangeError for an empty sample, a non-finite value or a level outside (0, 1).
 */
export function estimateMean(values: ArrayLike<number>, level: number): MeanEstimate {
  assertNonEmpty(values, 'values');
  assertFinite(values, 'values');
  assertLevel(level);
  const { n, mean, variance } = moments(values);
  const se = variance === null ? null : Math.sqrt(variance / n);
  if (isBinary(values)) {
    const successes = Math.round(mean * n);
    return { n, mean, se, ci: wilsonInterval(successes, n, level), method: 'wilson', binary: true };
  }
  return { n, mean, se, ci: tInterval(mean, se, n - 1, level), method: 't', binary: false };
}

/**
 * The same estimate from running totals (n, sum of values, sum of squares) when the values themselves are
 * not at hand (a store's maintained counters). The values were all 0 or 1 exactly when the sum of squares
 * equals the sum and the sum is an integer in [0, n] (for values in [0, 1], x² = x only at 0 and 1), which
 * picks Wilson; otherwise t. Sums kept by adding and subtracting can drift, so the variance is floored at 0.
 */
export function estimateMeanFromSums(n: number, sum: number, sumOfSquares: number, level: number): MeanEstimate {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  assertLevel(level);
  const mean = sum / n;
  const variance = n < 2 ? null : Math.max(0, (sumOfSquares - (sum * sum) / n) / (n - 1));
  const se = variance === null ? null : Math.sqrt(variance / n);
  const binary = sumOfSquares === sum && Number.isInteger(sum) && sum >= 0 && sum <= n;
  if (binary) return { n, mean, se, ci: wilsonInterval(sum, n, level), method: 'wilson', binary: true };
  return { n, mean, se, ci: tInterval(mean, se, n - 1, level), method: 't', binary: false };
}

/**
 * The interval estimate ± t_{1-(1-level)/2, df} · se; null when se is null or df < 1. A zero se gives the
 * zero-width interval [estimate, estimate].
 */
export function tInterval(estimate: number, se: number | null, df: number, level: number): [number, number] | null {
  if (se === null || df < 1) return null;
  const halfWidth = tCritical(level, df) * se;
  return [estimate - halfWidth, estimate + halfWidth];
}

/**
 * Wilson score interval for a binomial proportion (Wilson 1927, "Probable inference, the law of succession,
 * and statistical inference"; as in Brown, Cai & DasGupta 2001): with p = successes / n and
 * z = z_{1-(1-level)/2},
 *   center     = (p + z²/2n) / (1 + z²/n)
 *   half-width = z · sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n),
 * clamped to [0, 1]. Throws a RangeError when n is not a positive integer or successes is not an integer in
 * [0, n].
 */
export function wilsonInterval(successes: number, n: number, level: number): [number, number] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`Wilson interval needs n >= 1, got ${n}`);
  if (!Number.isInteger(successes) || successes < 0 || successes > n) {
    throw new RangeError(`Wilson interval needs 0 <= successes <= n, got ${successes} of ${n}`);
  }
  const z = normalCritical(level);
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denominator;
  const halfWidth = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  // At 0 of n and n of n the bound is exactly 0 (or 1); floating point would leave a residue like 2.8e-17.
  return [successes === 0 ? 0 : Math.max(0, center - halfWidth), successes === n ? 1 : Math.min(1, center + halfWidth)];
}
