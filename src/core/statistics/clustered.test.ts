import { describe, expect, it } from 'vitest';
import { clusteredMean } from './index.js';

// Reference values: python3 (numpy 2.4.6, scipy 1.17.1), Miller (2024)'s clustered SE from its formula:
//   import numpy as np; from scipy import stats
//   def clustered(x, c, level):
//       x = np.asarray(x, float); c = np.asarray(c); n = len(x); m = x.mean()
//       ids = np.unique(c); C = len(ids)
//       S = np.array([(x[c == k] - m).sum() for k in ids])
//       se = np.sqrt(C / (C - 1) * (S**2).sum()) / n
//       sei = x.std(ddof=1) / np.sqrt(n)
//       q = stats.t.ppf(1 - (1 - level) / 2, C - 1)
//       return m, se, sei, (se / sei)**2, m - q*se, m + q*se
//   clustered([0.2, 0.4, 0.9, 1.0, 0.1, 0.3, 0.35], [0, 0, 1, 1, 1, 2, 2], .95)
//   clustered([1, 0, 1, 1, 0, 0, 1, 1, 1, 0], [7, 7, 7, 3, 3, -2, -2, -2, -2, 10], .9)
//   clustered([1, 1, 1, 0, 0, 0, 1, 1, 0, 0], [0, 0, 0, 1, 1, 1, 2, 2, 3, 3], .95)
//   clustered([1, 2, 3, 4], [0, 1, 2, 3], .95)
describe('clusteredMean', () => {
  const cases: [string, number[], number[], number, [number, number, number, number, number, number]][] = [
    [
      'unequal cluster sizes',
      [0.2, 0.4, 0.9, 1.0, 0.1, 0.3, 0.35],
      [0, 0, 1, 1, 1, 2, 2],
      0.95,
      [0.4642857142857143, 0.13024901662083882, 0.13125506145083546, 0.9847291335092772, -0.09613057262512092, 1.0247020011965495],
    ],
    [
      'arbitrary ids, 0/1 data, a cluster of one',
      [1, 0, 1, 1, 0, 0, 1, 1, 1, 0],
      [7, 7, 7, 3, 3, -2, -2, -2, -2, 10],
      0.9,
      [0.6, 0.10327955589886444, 0.1632993161855452, 0.4, 0.3569456695850415, 0.8430543304149585],
    ],
    [
      'clusters that agree inside (design effect > 1)',
      [1, 1, 1, 0, 0, 0, 1, 1, 0, 0],
      [0, 0, 0, 1, 1, 1, 2, 2, 3, 3],
      0.95,
      [0.5, 0.29439202887759486, 0.16666666666666666, 3.119999999999999, -0.4368868246064763, 1.4368868246064763],
    ],
    [
      'one item per cluster (equals the independent se)',
      [1, 2, 3, 4],
      [0, 1, 2, 3],
      0.95,
      [2.5, 0.6454972243679028, 0.6454972243679028, 1.0, 0.4457397432394794, 4.554260256760521],
    ],
  ];
  for (const [name, values, clusters, level, [mean, se, seIndependent, designEffect, low, high]] of cases) {
    it(`matches the formula: ${name}`, () => {
      const estimate = clusteredMean(Float64Array.from(values), Int32Array.from(clusters), level);
      expect(estimate.n).toBe(values.length);
      expect(estimate.clusters).toBe(new Set(clusters).size);
      expect(estimate.method).toBe('clustered-t');
      expect(estimate.mean).toBeCloseTo(mean, 10);
      expect(estimate.se).toBeCloseTo(se, 10);
      expect(estimate.seIndependent).toBeCloseTo(seIndependent, 10);
      expect(estimate.designEffect).toBeCloseTo(designEffect, 10);
      expect(estimate.ci?.[0]).toBeCloseTo(low, 10);
      expect(estimate.ci?.[1]).toBeCloseTo(high, 10);
    });
  }

  it('has no clustered se, design effect or interval with a single cluster', () => {
    const estimate = clusteredMean([0.2, 0.4, 0.9], [5, 5, 5], 0.95);
    expect(estimate).toMatchObject({ n: 3, clusters: 1, se: null, designEffect: null, ci: null });
    // np.std([0.2, 0.4, 0.9], ddof=1) / np.sqrt(3)
    expect(estimate.seIndependent).toBeCloseTo(0.2081665999466133, 10);
  });

  it('has no independent se for one item, and no design effect for constant data', () => {
    expect(clusteredMean([0.5], [0], 0.95)).toEqual({
      n: 1, clusters: 1, mean: 0.5, se: null, seIndependent: null, designEffect: null, ci: null, method: 'clustered-t',
    });
    expect(clusteredMean([0.5, 0.5, 0.5], [0, 1, 1], 0.95)).toEqual({
      n: 3, clusters: 2, mean: 0.5, se: 0, seIndependent: 0, designEffect: null, ci: [0.5, 0.5], method: 'clustered-t',
    });
  });

  it('rejects empty or mismatched input and non-integer ids', () => {
    expect(() => clusteredMean([], [], 0.95)).toThrow(RangeError);
    expect(() => clusteredMean([1, 2], [0], 0.95)).toThrow(RangeError);
    expect(() => clusteredMean([1, 2], [0, 0.5], 0.95)).toThrow(RangeError);
    expect(() => clusteredMean([1, 2], [0, Number.NaN], 0.95)).toThrow(RangeError);
  });
});
