import { moments } from './moments.js';
import { assertFinite, assertSameLength } from './validate.js';

/**
 * With K_i replicates of item i (sum S_i, sum of squares Q_i): the share of the variance of the item means
 * that comes from disagreement between replicates of an item rather than between items,
 *   share = ( mean over items with K_i >= 2 of s_i² / K_i ) / ( sample variance of the item means ),
 * where s_i² = (Q_i - S_i²/K_i) / (K_i - 1) is the item's sample variance (clamped at 0 against rounding).
 * By the law of total variance, Var(item mean) = Var(true item score) + E[s²/K] (cf. Miller 2024, "Adding
 * Error Bars to Evals", on resampling answers), so this is the within-item term's share. Clamped to [0, 1]:
 * the within estimate can exceed the observed spread by chance, and a share above 1 means "all of it".
 * Items with K_i = 0 are ignored.
 * Null when no item has 2 or more replicates, when fewer than 2 items have a mean, or when the item means are
 * constant and the within-item variance is 0 (0 / 0). Constant item means with within variance > 0 give 1.
 */
export function withinItemShare(
  sums: ArrayLike<number>,
  sumsOfSquares: ArrayLike<number>,
  counts: ArrayLike<number>,
): number | null {
  assertSameLength(sums, sumsOfSquares, 'sums and sumsOfSquares');
  assertSameLength(sums, counts, 'sums and counts');
  assertFinite(sums, 'sums');
  assertFinite(sumsOfSquares, 'sumsOfSquares');
  const itemMeans: number[] = [];
  let within = 0;
  let replicated = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i] as number;
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`counts[${i}] is not a count: ${count}`);
    if (count === 0) continue;
    const sum = sums[i] as number;
    itemMeans.push(sum / count);
    if (count >= 2) {
      const itemVariance = Math.max(0, ((sumsOfSquares[i] as number) - (sum * sum) / count) / (count - 1));
      within += itemVariance / count;
      replicated++;
    }
  }
  if (replicated === 0 || itemMeans.length < 2) return null;
  within /= replicated;
  const between = moments(itemMeans).variance as number;
  if (between === 0) return within === 0 ? null : 1;
  return Math.min(1, Math.max(0, within / between));
}
