import { assertFinite } from './validate.js';

/**
 * The q-quantile (0 <= q <= 1) by linear interpolation between order statistics, numpy's default
 * (`numpy.quantile(..., method='linear')`, Hyndman & Fan 1996 definition 7): with the sorted copy x and
 * h = (n - 1) q, the result is x[⌊h⌋] + (h - ⌊h⌋)(x[⌊h⌋ + 1] - x[⌊h⌋]). Null for empty input.
 * Throws a RangeError for q outside [0, 1] or a non-finite value.
 */
export function quantile(values: ArrayLike<number>, q: number): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile needs 0 <= q <= 1, got ${q}`);
  assertFinite(values, 'values');
  const n = values.length;
  if (n === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const h = (n - 1) * q;
  const lower = Math.floor(h);
  const below = sorted[lower] as number;
  if (lower + 1 >= n) return below;
  const above = sorted[lower + 1] as number;
  const fraction = h - lower;
  return fraction === 0 ? below : below + fraction * (above - below);
}
