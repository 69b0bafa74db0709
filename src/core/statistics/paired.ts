import { clusteredMean } from './clustered.js';
import { binomialCdfAt, tCritical, tQuantileAt, tTwoSidedP } from './distributions.js';
import { tInterval } from './mean.js';
import { isBinary, moments } from './moments.js';
import { assertFinite, assertLevel, assertNonEmpty, assertSameLength } from './validate.js';

/** A paired comparison of two score vectors over the same items: a minus b. */
export interface PairedEstimate {
  n: number;
  meanA: number;
  meanB: number;
  /** meanA - meanB (the mean of the differences). */
  meanDiff: number;
  /** Paired: sd(d) / sqrt(n); clustered on d when clusters are given. Null when n < 2 (or < 2 clusters). */
  se: number | null;
  /** meanDiff ± t · se with n - 1 df (C - 1 when clustered); null when se is null. */
  ci: [number, number] | null;
  ciMethod: 't' | 'clustered-t';
  /** Two-sided; null for a t test without a standard error (n < 2, or < 2 clusters). */
  pValue: number | null;
  /** exact McNemar for 0/1 sides, paired t otherwise; clustered t (on C - 1 df) whenever clusters are given. */
  test: 'mcnemar-exact' | 'paired-t' | 'clustered-t';
  /** Pearson correlation of a and b; null when either side is constant (or n < 2). */
  correlation: number | null;
  /**
   * The se if the sides were independent samples: sqrt(var(a)/n + var(b)/n) with sample variances, or with
   * clusters sqrt(se_c(a)² + se_c(b)²) from each side's clustered se; null when either is unknown.
   */
  unpairedSe: number | null;
  /**
   * (t_{1-(1-level)/2, df} + t_{0.80, df}) · se with the interval's df: the minimum detectable effect at 80%
   * power (the t form, which the normal one approaches as df grows); null when se is null or 0.
   */
  mde: number | null;
  /** Items where a > b and items where b > a (for 0/1: only a right, only b right). */
  flipped: [number, number];
}

/**
 * Compares a[i] with b[i] item by item. The test is exact McNemar on the discordant pairs when both sides are
 * 0/1, else the paired t-test on d = a - b; the interval is the paired t-interval, or the clustered one
 * (Miller 2024, clustered standard error applied to d) when `clusters` gives each item's cluster id; with
 * clusters the test is the clustered t on C - 1 df too, so interval and p-value agree. MDE is
 * (t_{1-α/2, df} + t_{1-β, df}) · se with power 1 - β = 0.80. Throws a RangeError for empty or mismatched input, a non-finite value or a bad level.
 */
export function comparePaired(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  level: number,
  clusters?: ArrayLike<number>,
): PairedEstimate {
  assertNonEmpty(a, 'a');
  assertSameLength(a, b, 'a and b');
  assertFinite(a, 'a');
  assertFinite(b, 'b');
  assertLevel(level);
  const n = a.length;
  const diffs = new Float64Array(n);
  let aAbove = 0;
  let bAbove = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    diffs[i] = x - y;
    if (x > y) aAbove++;
    else if (y > x) bAbove++;
  }
  const momentsA = moments(a);
  const momentsB = moments(b);
  const meanDiff = momentsA.mean - momentsB.mean;

  let se: number | null;
  let ci: [number, number] | null;
  let df: number;
  let unpairedSe: number | null;
  if (clusters === undefined) {
    const variance = moments(diffs).variance;
    se = variance === null ? null : Math.sqrt(variance / n);
    df = n - 1;
    ci = tInterval(meanDiff, se, df, level);
    unpairedSe = momentsA.variance === null || momentsB.variance === null ? null : Math.sqrt(momentsA.variance / n + momentsB.variance / n);
  } else {
    const clustered = clusteredMean(diffs, clusters, level);
    se = clustered.se;
    df = clustered.clusters - 1;
    ci = tInterval(meanDiff, se, df, level);
    const sideA = clusteredMean(a, clusters, level).se;
    const sideB = clusteredMean(b, clusters, level).se;
    unpairedSe = sideA === null || sideB === null ? null : Math.sqrt(sideA * sideA + sideB * sideB);
  }

  const binary = isBinary(a) && isBinary(b);
  let pValue: number | null;
  let test: PairedEstimate['test'];
  if (clusters !== undefined) {
    // Items of one cluster move together: the test uses the clustered se and its C - 1 df, like the interval.
    test = 'clustered-t';
    pValue = se === null ? null : se === 0 ? (meanDiff === 0 ? 1 : 0) : tTwoSidedP(meanDiff / se, df);
  } else {
    test = binary ? 'mcnemar-exact' : 'paired-t';
    pValue = binary ? mcnemarExact(aAbove, bAbove) : pairedT(diffs).pValue;
  }
  return {
    n,
    meanA: momentsA.mean,
    meanB: momentsB.mean,
    meanDiff,
    se,
    ci,
    ciMethod: clusters === undefined ? 't' : 'clustered-t',
    pValue,
    test,
    correlation: pearson(a, b, momentsA.mean, momentsB.mean, momentsA.constant || momentsB.constant),
    unpairedSe,
    mde: se === null || se === 0 || df < 1 ? null : (tCritical(level, df) + tQuantileAt(0.8, df)) * se,
    flipped: [aAbove, bAbove],
  };
}

/** Pearson's r = Σ(x-x̄)(y-ȳ) / sqrt(Σ(x-x̄)² Σ(y-ȳ)²); null when either side is constant. */
function pearson(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  meanA: number,
  meanB: number,
  constant: boolean,
): number | null {
  if (constant) return null;
  let cross = 0;
  let squaresA = 0;
  let squaresB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) - meanA;
    const y = (b[i] as number) - meanB;
    cross += x * y;
    squaresA += x * x;
    squaresB += y * y;
  }
  const scale = Math.sqrt(squaresA * squaresB);
  if (!(scale > 0) || !Number.isFinite(scale)) return null;
  const r = cross / scale;
  return Math.max(-1, Math.min(1, r));
}

/**
 * Exact McNemar test (McNemar 1947; the exact form is the two-sided sign test): with m = aOnly + bOnly
 * discordant pairs, p = min(1, 2 · P(X <= min(aOnly, bOnly))) for X ~ Binomial(m, 0.5); p = 1 when m = 0.
 * Throws a RangeError unless both counts are non-negative integers.
 */
export function mcnemarExact(aOnly: number, bOnly: number): number {
  for (const count of [aOnly, bOnly]) {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`McNemar needs counts, got ${count}`);
  }
  const discordant = aOnly + bOnly;
  if (discordant === 0) return 1;
  return Math.min(1, 2 * binomialCdfAt(Math.min(aOnly, bOnly), discordant, 0.5));
}

/**
 * Paired (one-sample) t-test of mean(d) = 0: t = mean(d) / (sd(d) / sqrt(n)), df = n - 1, two-sided
 * p = 2 · P(T_df <= -|t|). With n < 2, t and p are null. When sd(d) = 0, t is null (it would be 0/0 or ±∞)
 * and p is 1 if mean(d) = 0, else 0. Throws a RangeError for empty input or a non-finite value.
 */
export function pairedT(diffs: ArrayLike<number>): { t: number | null; df: number; pValue: number | null } {
  assertNonEmpty(diffs, 'diffs');
  assertFinite(diffs, 'diffs');
  const { n, mean, variance } = moments(diffs);
  const df = n - 1;
  if (variance === null) return { t: null, df, pValue: null };
  if (variance === 0) return { t: null, df, pValue: mean === 0 ? 1 : 0 };
  const t = mean / Math.sqrt(variance / n);
  return { t, df, pValue: tTwoSidedP(t, df) };
}
