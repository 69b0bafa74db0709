import { tInterval } from './mean.js';
import { moments } from './moments.js';
import { assertFinite, assertLevel, assertNonEmpty, assertSameLength } from './validate.js';

/** The mean with a cluster-robust standard error, and what the clustering costs against independent items. */
export interface ClusteredEstimate {
  n: number;
  /** Distinct cluster ids. */
  clusters: number;
  mean: number;
  /** Clustered standard error; null with fewer than 2 clusters. */
  se: number | null;
  /** sd / sqrt(n) (n - 1 in sd), as if the items were independent; null when n < 2. */
  seIndependent: number | null;
  /** (se / seIndependent)²; null when either is null or seIndependent is 0 (constant data). */
  designEffect: number | null;
  /** mean ± t_{1-(1-level)/2, C-1} · se; null when se is null. */
  ci: [number, number] | null;
  method: 'clustered-t';
}

/**
 * Clustered standard error of the mean (Miller 2024, "Adding Error Bars to Evals: A Statistical Approach to
 * Language Model Evaluations", arXiv:2411.00640, section on clustered standard errors), with the usual
 * small-cluster correction C / (C - 1):
 *   SE = sqrt( C/(C-1) · Σ_c ( Σ_{i in c} (x_i - mean) )² ) / n,
 * design effect = (SE / SE_iid)² with SE_iid = sd / sqrt(n), and the interval uses t with C - 1 df.
 * clusters[i] is the integer cluster id of values[i]; cluster sizes may differ. O(n) with a hash map.
 * Throws a RangeError for empty or mismatched input, a non-finite value, a non-integer id or a bad level.
 */
export function clusteredMean(
  values: ArrayLike<number>,
  clusters: ArrayLike<number>,
  level: number,
): ClusteredEstimate {
  assertNonEmpty(values, 'values');
  assertSameLength(values, clusters, 'values and clusters');
  assertFinite(values, 'values');
  assertLevel(level);
  const { n, mean, variance } = moments(values);
  const residualSums = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const id = clusters[i] as number;
    if (!Number.isInteger(id)) throw new RangeError(`clusters[${i}] is not an integer cluster id: ${id}`);
    residualSums.set(id, (residualSums.get(id) ?? 0) + ((values[i] as number) - mean));
  }
  const count = residualSums.size;
  let squares = 0;
  for (const sum of residualSums.values()) squares += sum * sum;
  const se = count < 2 ? null : Math.sqrt((count / (count - 1)) * squares) / n;
  const seIndependent = variance === null ? null : Math.sqrt(variance / n);
  const designEffect = se === null || seIndependent === null || seIndependent === 0 ? null : (se / seIndependent) ** 2;
  return {
    n,
    clusters: count,
    mean,
    se,
    seIndependent,
    designEffect,
    ci: tInterval(mean, se, count - 1, level),
    method: 'clustered-t',
  };
}
