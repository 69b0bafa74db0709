import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { assertLevel } from './validate.js';

/** z_{1-(1-level)/2}: the two-sided standard normal critical value for a confidence level such as 0.95. */
export function normalCritical(level: number): number {
  assertLevel(level);
  return normalQuantile(1 - (1 - level) / 2, 0, 1);
}

/** The standard normal quantile at probability p (0 < p < 1), e.g. z_{0.80} for 80% power. */
export function normalQuantileAt(p: number): number {
  return normalQuantile(p, 0, 1);
}

/** t_{1-(1-level)/2, df}: the two-sided Student t critical value; df >= 1. */
export function tCritical(level: number, df: number): number {
  assertLevel(level);
  if (!(df >= 1)) throw new RangeError(`t critical value needs df >= 1, got ${df}`);
  return tQuantile(1 - (1 - level) / 2, df);
}

/** The Student t quantile at probability p with df degrees of freedom, e.g. t_{0.80, df} for 80% power. */
export function tQuantileAt(p: number, df: number): number {
  return tQuantile(p, df);
}

/** Two-sided p-value of a t statistic: 2 * P(T_df <= -|t|) (the lower tail keeps precision for small p). */
export function tTwoSidedP(t: number, df: number): number {
  return Math.min(1, 2 * tCdf(-Math.abs(t), df));
}

/** P(X <= k) for X ~ Binomial(n, p). */
export function binomialCdfAt(k: number, n: number, p: number): number {
  return binomialCdf(k, n, p);
}
