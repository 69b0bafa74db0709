import { describe, expect, it } from 'vitest';
import { withinItemShare } from './index.js';

/** Per-item sums, sums of squares and counts of replicate scores, the form the report accumulates. */
function accumulate(replicates: number[][]): [Float64Array, Float64Array, Uint32Array] {
  const sums = Float64Array.from(replicates, (r) => r.reduce((s, x) => s + x, 0));
  const squares = Float64Array.from(replicates, (r) => r.reduce((s, x) => s + x * x, 0));
  return [sums, squares, Uint32Array.from(replicates, (r) => r.length)];
}

// Reference values: python3 (numpy 2.4.6), from the definition with numpy's variances (not from sums of squares):
//   import numpy as np
//   def share(reps):
//       means = np.array([np.mean(r) for r in reps])
//       w = np.mean([np.var(r, ddof=1) / len(r) for r in reps if len(r) >= 2])
//       return min(1, max(0, w / np.var(means, ddof=1)))
//   share([[1, 0, 1], [0, 0, 0], [1, 1, 0], [1, 1, 1]])                  # 0.31578947368421056
//   share([[0.2, 0.4], [0.9, 0.7, 0.8, 1.0], [0.5], [0.1, 0.3, 0.2]])     # 0.07088607594936712
//   share([[1, 0], [0, 1], [1, 1], [0, 0]])                              # 0.75
//   share([[1, 0], [0, 1]])                                              # 1 (w / 0, clamped)
describe('withinItemShare', () => {
  it('matches the definition', () => {
    expect(withinItemShare(...accumulate([[1, 0, 1], [0, 0, 0], [1, 1, 0], [1, 1, 1]]))).toBeCloseTo(0.31578947368421056, 10);
    expect(withinItemShare(...accumulate([[0.2, 0.4], [0.9, 0.7, 0.8, 1.0], [0.5], [0.1, 0.3, 0.2]]))).toBeCloseTo(
      0.07088607594936712,
      10,
    );
    expect(withinItemShare(...accumulate([[1, 0], [0, 1], [1, 1], [0, 0]]))).toBeCloseTo(0.75, 10);
  });

  it('is 1 when the item means agree but replicates disagree', () => {
    expect(withinItemShare(...accumulate([[1, 0], [0, 1]]))).toBe(1);
  });

  it('is 0 when replicates always agree and items differ', () => {
    expect(withinItemShare(...accumulate([[1, 1], [0, 0], [1, 1]]))).toBe(0);
  });

  it('is null without replicates, with one item, or with nothing varying', () => {
    expect(withinItemShare(...accumulate([[1], [0], [1]]))).toBeNull();
    expect(withinItemShare(...accumulate([[1, 0, 1]]))).toBeNull();
    expect(withinItemShare(...accumulate([[0.3, 0.3], [0.3, 0.3]]))).toBeNull();
    expect(withinItemShare(...accumulate([]))).toBeNull();
  });

  it('ignores items with no replicates', () => {
    const [sums, squares, counts] = accumulate([[1, 0], [0, 1], [1, 1], [0, 0]]);
    const withEmpty = withinItemShare([...sums, 0], [...squares, 0], [...counts, 0]);
    expect(withEmpty).toBeCloseTo(0.75, 10);
  });

  it('rejects mismatched lengths and non-counts', () => {
    expect(() => withinItemShare([1], [1, 1], [1])).toThrow(RangeError);
    expect(() => withinItemShare([1], [1], [1.5])).toThrow(RangeError);
    expect(() => withinItemShare([1], [1], [-1])).toThrow(RangeError);
  });
});
