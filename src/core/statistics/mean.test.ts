import { describe, expect, it } from 'vitest';
import { estimateMean, estimateMeanFromSums, isBinary, wilsonInterval } from './index.js';

function expectInterval(actual: [number, number] | null, expected: [number, number]): void {
  expect(actual).not.toBeNull();
  expect(actual?.[0]).toBeCloseTo(expected[0], 10);
  expect(actual?.[1]).toBeCloseTo(expected[1], 10);
}

// Reference values: python3 (numpy 2.4.6, scipy 1.17.1), Wilson from its formula with scipy's normal quantile:
//   import numpy as np; from scipy import stats
//   def wilson(k, n, level):
//       z = stats.norm.ppf(1 - (1 - level) / 2); p = k / n
//       c = (p + z**2 / (2*n)) / (1 + z**2 / n)
//       h = z * np.sqrt(p*(1-p)/n + z**2/(4*n**2)) / (1 + z**2/n)
//       return [max(0, c - h), min(1, c + h)]
//   wilson(3, 5, .95); wilson(10, 10, .95); wilson(0, 10, .95); wilson(1, 1, .95); wilson(0, 1, .95)
//   wilson(3, 10, .9); wilson(37, 120, .99); wilson(1, 2, .95)
//   np.std([1, 0, 1, 1, 0], ddof=1) / np.sqrt(5)   # 0.24494897427831783
describe('wilsonInterval', () => {
  it('matches the formula', () => {
    expectInterval(wilsonInterval(3, 5, 0.95), [0.2307242812760128, 0.882379225767352]);
    expectInterval(wilsonInterval(3, 10, 0.9), [0.1268765839031979, 0.5583002041301649]);
    expectInterval(wilsonInterval(37, 120, 0.99), [0.21219370709039861, 0.42455728939891313]);
    expectInterval(wilsonInterval(1, 2, 0.95), [0.09453120573423074, 0.9054687942657693]);
  });

  it('stays non-degenerate at 0 and n successes, within [0, 1]', () => {
    expectInterval(wilsonInterval(10, 10, 0.95), [0.7224672001371107, 1]);
    expectInterval(wilsonInterval(0, 10, 0.95), [0, 0.2775327998628892]);
    expectInterval(wilsonInterval(1, 1, 0.95), [0.20654931437723745, 1]);
    expectInterval(wilsonInterval(0, 1, 0.95), [0, 0.7934506856227626]);
    for (const [k, n] of [[0, 1], [1, 1], [0, 10], [10, 10], [5, 7]] as const) {
      const [low, high] = wilsonInterval(k, n, 0.95);
      expect(low).toBeGreaterThanOrEqual(0);
      expect(high).toBeLessThanOrEqual(1);
      expect(high - low).toBeGreaterThan(0);
    }
  });

  it('rejects n = 0, impossible counts and bad levels', () => {
    expect(() => wilsonInterval(0, 0, 0.95)).toThrow(RangeError);
    expect(() => wilsonInterval(6, 5, 0.95)).toThrow(RangeError);
    expect(() => wilsonInterval(-1, 5, 0.95)).toThrow(RangeError);
    expect(() => wilsonInterval(1.5, 5, 0.95)).toThrow(RangeError);
    expect(() => wilsonInterval(1, 5, 1)).toThrow(RangeError);
    expect(() => wilsonInterval(1, 5, 0)).toThrow(RangeError);
  });
});

describe('isBinary', () => {
  it('is true only for a non-empty sample of 0s and 1s', () => {
    expect(isBinary([0, 1, 1])).toBe(true);
    expect(isBinary(new Float64Array([1, 1]))).toBe(true);
    expect(isBinary([0, 0.5, 1])).toBe(false);
    expect(isBinary([0, 2])).toBe(false);
    expect(isBinary([])).toBe(false);
  });
});

describe('estimateMean', () => {
  it('uses Wilson for 0/1 data, with the sample se', () => {
    const estimate = estimateMean([1, 0, 1, 1, 0], 0.95);
    expect(estimate).toMatchObject({ n: 5, method: 'wilson', binary: true });
    expect(estimate.mean).toBeCloseTo(0.6, 10);
    expect(estimate.se).toBeCloseTo(0.24494897427831783, 10);
    expectInterval(estimate.ci, [0.2307242812760128, 0.882379225767352]);
  });

  it('gives all-1 and all-0 data se 0 and a non-degenerate Wilson interval', () => {
    const ones = estimateMean(new Float64Array(10).fill(1), 0.95);
    expect(ones).toMatchObject({ n: 10, mean: 1, se: 0, method: 'wilson', binary: true });
    expectInterval(ones.ci, [0.7224672001371107, 1]);
    const zeros = estimateMean(new Float64Array(10), 0.95);
    expect(zeros).toMatchObject({ n: 10, mean: 0, se: 0, method: 'wilson', binary: true });
    expectInterval(zeros.ci, [0, 0.2775327998628892]);
  });

  it('gives one 0/1 value a Wilson interval and a null se', () => {
    const estimate = estimateMean([1], 0.95);
    expect(estimate).toMatchObject({ n: 1, mean: 1, se: null, method: 'wilson' });
    expectInterval(estimate.ci, [0.20654931437723745, 1]);
  });

  // Reference values: the t-interval with n - 1 df,
  //   def tci(x, level):
  //       x = np.asarray(x, float); n = len(x); m = x.mean(); se = x.std(ddof=1) / np.sqrt(n)
  //       q = stats.t.ppf(1 - (1 - level) / 2, n - 1); return m, se, [m - q*se, m + q*se]
  //   tci([0.5, 0.25, 1, 0.75], .95); tci([0.2, 0.9], .95); tci([0.1, 0.4, 0.8], .9)
  //   tci([3.5, -1.25, 2, 7, 0.5, 4.75], .99)
  it('uses a t-interval with n - 1 df for other data (n = 2, 3, 4, 6)', () => {
    const cases: [number[], number, number, number, [number, number]][] = [
      [[0.5, 0.25, 1, 0.75], 0.95, 0.625, 0.1613743060919757, [0.11143493580986985, 1.1385650641901301]],
      [[0.2, 0.9], 0.95, 0.55, 0.35, [-3.8971716576611426, 4.997171657661142]],
      [[0.1, 0.4, 0.8], 0.9, 0.43333333333333335, 0.2027587510099407, [-0.15871929590622458, 1.0253859625728912]],
      [[3.5, -1.25, 2, 7, 0.5, 4.75], 0.99, 2.75, 1.214495780149112, [-2.1470206384856745, 7.6470206384856745]],
    ];
    for (const [values, level, mean, se, ci] of cases) {
      const estimate = estimateMean(Float64Array.from(values), level);
      expect(estimate).toMatchObject({ n: values.length, method: 't', binary: false });
      expect(estimate.mean).toBeCloseTo(mean, 10);
      expect(estimate.se).toBeCloseTo(se, 10);
      expectInterval(estimate.ci, ci);
    }
  });

  it('has no se or interval for one continuous value', () => {
    expect(estimateMean([0.3], 0.95)).toEqual({ n: 1, mean: 0.3, se: null, ci: null, method: 't', binary: false });
  });

  it('gives constant continuous data se 0 and the zero-width interval, exactly', () => {
    expect(estimateMean([0.1, 0.1, 0.1], 0.95)).toEqual({
      n: 3,
      mean: 0.1,
      se: 0,
      ci: [0.1, 0.1],
      method: 't',
      binary: false,
    });
  });

  it('rejects empty input, non-finite values and bad levels', () => {
    expect(() => estimateMean([], 0.95)).toThrow(RangeError);
    expect(() => estimateMean([1, Number.NaN], 0.95)).toThrow(RangeError);
    expect(() => estimateMean([1, Number.POSITIVE_INFINITY], 0.95)).toThrow(RangeError);
    expect(() => estimateMean([1, 0], 95)).toThrow(RangeError);
  });
});

describe('estimateMeanFromSums', () => {
  it('agrees with estimateMean on the values behind the sums: Wilson for 0/1, t otherwise', () => {
    const binary = [1, 0, 1, 1, 0];
    const fromSums = estimateMeanFromSums(5, 3, 3, 0.95);
    expect(fromSums).toMatchObject({ n: 5, method: 'wilson', binary: true });
    expect(fromSums.ci).toEqual(estimateMean(binary, 0.95).ci);
    expect(fromSums.se).toBeCloseTo(estimateMean(binary, 0.95).se!, 12);
    // python3: x = np.array([0.2, 0.9, 0.5, 0.75, 1.0, 0.0, 0.35]); se = x.std(ddof=1)/np.sqrt(7)
    //   t = scipy.stats.t.ppf(0.975, 6); (x.mean() - t*se, x.mean() + t*se)
    const values = [0.2, 0.9, 0.5, 0.75, 1.0, 0.0, 0.35];
    const sum = values.reduce((total, value) => total + value, 0);
    const squares = values.reduce((total, value) => total + value * value, 0);
    const continuous = estimateMeanFromSums(7, sum, squares, 0.95);
    expect(continuous).toMatchObject({ n: 7, method: 't', binary: false });
    expect(continuous.mean).toBeCloseTo(0.5285714285714286, 12);
    expect(continuous.se).toBeCloseTo(0.14051653980647144, 10);
    expectInterval(continuous.ci, [0.1847398420370885, 0.8724030151057687]);
  });

  it('floors a variance that drifted below zero, and has no se for one value', () => {
    expect(estimateMeanFromSums(3, 1.5, 0.75 - 1e-12, 0.95).se).toBe(0);
    expect(estimateMeanFromSums(1, 0.4, 0.16, 0.95)).toMatchObject({ se: null, ci: null, method: 't' });
    expect(() => estimateMeanFromSums(0, 0, 0, 0.95)).toThrow(RangeError);
  });
});
