import { describe, expect, it } from 'vitest';
import { quantile } from './index.js';

// Reference values: python3 (numpy 2.4.6), numpy's default (method='linear'):
//   import numpy as np
//   np.quantile([12.5, 3, 7, 100, 45, 8.25, 19], [0, 0.1, 0.5, 0.95, 1])   # [3, 5.4, 12.5, 83.5, 100]
//   np.quantile([1, 1, 2, 2, 2, 3], 0.3)    # 1.5
//   np.quantile([1, 2, 3, 4], 0.5)          # 2.5
//   np.quantile([5.0], 0.7)                 # 5.0
//   np.quantile([-2.5, 4], 0.25)            # -0.875
describe('quantile', () => {
  it('matches numpy on unsorted input', () => {
    const values = Float64Array.from([12.5, 3, 7, 100, 45, 8.25, 19]);
    const expected: [number, number][] = [[0, 3], [0.1, 5.4], [0.5, 12.5], [0.95, 83.5], [1, 100]];
    for (const [q, value] of expected) expect(quantile(values, q)).toBeCloseTo(value, 10);
    expect(Array.from(values)).toEqual([12.5, 3, 7, 100, 45, 8.25, 19]);
  });

  it('interpolates between ties, pairs and one value', () => {
    expect(quantile([1, 1, 2, 2, 2, 3], 0.3)).toBeCloseTo(1.5, 10);
    expect(quantile([4, 2, 3, 1], 0.5)).toBeCloseTo(2.5, 10);
    expect(quantile([5], 0.7)).toBe(5);
    expect(quantile([4, -2.5], 0.25)).toBeCloseTo(-0.875, 10);
  });

  it('is null for empty input and rejects bad q or values', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(() => quantile([1, 2], 1.5)).toThrow(RangeError);
    expect(() => quantile([1, 2], -0.1)).toThrow(RangeError);
    expect(() => quantile([1, Number.NaN], 0.5)).toThrow(RangeError);
  });
});
