/** The mean and sample variance of a sample, computed in one pass for the mean and one for the deviations. */
export interface Moments {
  readonly n: number;
  readonly mean: number;
  /** Sample variance (n - 1 denominator); null when n < 2. Exactly 0 when every value is equal. */
  readonly variance: number | null;
  /** Whether every value equals the first (true for n <= 1). */
  readonly constant: boolean;
}

/**
 * Mean and sample variance by the corrected two-pass algorithm (Chan, Golub & LeVeque 1983, "Algorithms for
 * computing the sample variance"): var = (sum (x - m)^2 - (sum (x - m))^2 / n) / (n - 1). Constant data is
 * detected exactly, so its mean is the value itself and its variance exactly 0 (no rounding residue).
 * Values must be finite; an empty sample has mean NaN, so callers reject it first.
 */
export function moments(values: ArrayLike<number>): Moments {
  const n = values.length;
  const first = values[0] as number;
  let sum = 0;
  let constant = true;
  for (let i = 0; i < n; i++) {
    const value = values[i] as number;
    sum += value;
    if (value !== first) constant = false;
  }
  if (constant) return { n, mean: first, variance: n < 2 ? null : 0, constant };
  const mean = sum / n;
  let squares = 0;
  let residual = 0;
  for (let i = 0; i < n; i++) {
    const deviation = (values[i] as number) - mean;
    squares += deviation * deviation;
    residual += deviation;
  }
  const variance = Math.max(0, (squares - (residual * residual) / n) / (n - 1));
  return { n, mean, variance, constant };
}

/** Whether the sample is non-empty and every value is exactly 0 or 1. */
export function isBinary(values: ArrayLike<number>): boolean {
  if (values.length === 0) return false;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value !== 0 && value !== 1) return false;
  }
  return true;
}
