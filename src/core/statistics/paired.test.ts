import { describe, expect, it } from 'vitest';
import { comparePaired, mcnemarExact, pairedT, type PairedEstimate } from './index.js';

/** The numeric fields of a comparison, in the order the python snippet prints them. */
function expectNumbers(estimate: PairedEstimate, expected: number[]): void {
  const actual = [
    estimate.meanA,
    estimate.meanB,
    estimate.meanDiff,
    estimate.se,
    estimate.ci?.[0],
    estimate.ci?.[1],
    estimate.pValue,
    estimate.correlation,
    estimate.unpairedSe,
    estimate.mde,
  ];
  expect(actual).toHaveLength(expected.length);
  expected.forEach((value, i) => expect(actual[i], `field ${i}`).toBeCloseTo(value, 10));
}

// Reference values: python3 (numpy 2.4.6, scipy 1.17.1):
//   import numpy as np; from scipy import stats
//   def paired(a, b, level):
//       a = np.asarray(a, float); b = np.asarray(b, float); d = a - b; n = len(d)
//       se = d.std(ddof=1) / np.sqrt(n); q = stats.t.ppf(1 - (1 - level)/2, n - 1)
//       tt = stats.ttest_rel(a, b)
//       r = np.corrcoef(a, b)[0, 1]
//       unp = np.sqrt(a.var(ddof=1)/n + b.var(ddof=1)/n)
//       mde = (stats.t.ppf(1 - (1 - level)/2, n - 1) + stats.t.ppf(0.8, n - 1)) * se
//       return (a.mean(), b.mean(), d.mean(), se, d.mean() - q*se, d.mean() + q*se, tt.pvalue, r, unp, mde), \
//           int((a > b).sum()), int((b > a).sum())
//   paired([0.9, 0.4, 0.7, 0.8, 0.3, 0.6], [0.7, 0.5, 0.4, 0.8, 0.1, 0.65], .95)
//   paired([0.2, 0.9, 0.4], [0.1, 0.3, 0.5], .9)
// and for 0/1 sides the p-value is replaced by stats.binomtest(min(k, l), k + l, 0.5).pvalue:
//   paired([1,1,0,1,1,0,1,1,0,1,1,1], [1,0,0,1,0,0,1,0,1,1,0,1], .95)   # k, l = 4, 1; binomtest(1, 5) = 0.375
//   paired([1,0,1,0,1,1], [0,1,0,1,0,0], .95)                           # k, l = 4, 2; binomtest(2, 6) = 0.6875
describe('comparePaired', () => {
  it('uses the paired t-test for continuous scores', () => {
    const estimate = comparePaired(
      Float64Array.from([0.9, 0.4, 0.7, 0.8, 0.3, 0.6]),
      Float64Array.from([0.7, 0.5, 0.4, 0.8, 0.1, 0.65]),
      0.95,
    );
    expect(estimate).toMatchObject({ n: 6, ciMethod: 't', test: 'paired-t', flipped: [3, 2] });
    expectNumbers(estimate, [
      0.6166666666666666, 0.525, 0.09166666666666666, 0.06635343079131462, -0.07890025725763804, 0.26223359059097134,
      0.22567229135904973, 0.7778914381287833, 0.13989083045162198, 0.23158180850609822,
    ]);
  });

  it('handles n = 3 at another level', () => {
    const estimate = comparePaired([0.2, 0.9, 0.4], [0.1, 0.3, 0.5], 0.9);
    expect(estimate).toMatchObject({ n: 3, test: 'paired-t', flipped: [2, 1] });
    expectNumbers(estimate, [
      0.5, 0.3, 0.20000000000000004, 0.2081665999466133, -0.40784347015537314, 0.8078434701553733, 0.43804851305098363,
      0.27735009811261446, 0.23804761428476168, 0.8286374918135694,
    ]);
  });

  it('uses exact McNemar for 0/1 scores and counts the flips', () => {
    const estimate = comparePaired([1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1], [1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1], 0.95);
    expect(estimate).toMatchObject({ n: 12, ciMethod: 't', test: 'mcnemar-exact', flipped: [4, 1] });
    expectNumbers(estimate, [
      0.75, 0.5, 0.25, 0.17943514064131835, -0.14493408175049782, 0.6449340817504978, 0.375, 0.19245008972987526,
      0.1994310088043664, 0.5520349265018751,
    ]);
  });

  it('handles every pair discordant (correlation -1)', () => {
    const estimate = comparePaired([1, 0, 1, 0, 1, 1], [0, 1, 0, 1, 0, 0], 0.95);
    expect(estimate).toMatchObject({ test: 'mcnemar-exact', flipped: [4, 2] });
    expectNumbers(estimate, [
      0.6666666666666666, 0.3333333333333333, 0.3333333333333333, 0.421637021355784, -0.7505191349956459,
      1.4171858016623124, 0.6875, -1.0, 0.29814239699997197, 1.4715661688359591,
    ]);
  });

  it('gives p = 1 with no discordant pairs, and a zero se', () => {
    const estimate = comparePaired([1, 0, 1, 1], [1, 0, 1, 1], 0.95);
    expect(estimate).toEqual({
      n: 4, meanA: 0.75, meanB: 0.75, meanDiff: 0, se: 0, ci: [0, 0], ciMethod: 't', pValue: 1, test: 'mcnemar-exact',
      correlation: 1, unpairedSe: estimate.unpairedSe, mde: null, flipped: [0, 0],
    });
    // np.sqrt(2 * np.var([1, 0, 1, 1], ddof=1) / 4)
    expect(estimate.unpairedSe).toBeCloseTo(0.3535533905932738, 10);
  });

  it('counts ties neither way, and uses paired t when only one side is 0/1', () => {
    const estimate = comparePaired([0.5, 0.5, 0.7, 1], [0.5, 0.6, 0.7, 1], 0.95);
    expect(estimate).toMatchObject({ flipped: [0, 1], test: 'paired-t' });
    expect(comparePaired([1, 0, 1], [0.5, 0.5, 1], 0.95).test).toBe('paired-t');
  });

  it('gives p = 0 for a constant non-zero difference, p = 1 for a zero one', () => {
    const shifted = comparePaired([1.5, 2.5, 3.5], [1, 2, 3], 0.95);
    expect(shifted).toMatchObject({ meanDiff: 0.5, se: 0, ci: [0.5, 0.5], pValue: 0, correlation: 1, flipped: [3, 0] });
    expect(comparePaired([0.2, 0.7], [0.2, 0.7], 0.95)).toMatchObject({ meanDiff: 0, pValue: 1, flipped: [0, 0] });
  });

  it('has nulls where one item leaves them undefined', () => {
    expect(comparePaired([0.4], [0.1], 0.95)).toMatchObject({
      n: 1, se: null, ci: null, pValue: null, test: 'paired-t', correlation: null, unpairedSe: null, mde: null, flipped: [1, 0],
    });
    // One 0/1 item still has a McNemar p: binomtest(0, 1, 0.5).pvalue = 1.
    expect(comparePaired([1], [0], 0.95)).toMatchObject({ se: null, ci: null, pValue: 1, test: 'mcnemar-exact' });
  });

  it('has no correlation when a side is constant', () => {
    expect(comparePaired([1, 1, 1], [1, 0, 1], 0.95).correlation).toBeNull();
    expect(comparePaired([0.3, 0.4, 0.9], [0.5, 0.5, 0.5], 0.95).correlation).toBeNull();
  });

  // Reference values: the clustered SE of d (clusteredMean's snippet) with C - 1 df, the clustered t test,
  // the MDE on it, and the unpaired se from each side's clustered se:
  //   def clustered(x, c, level):
  //       x = np.asarray(x, float); c = np.asarray(c); n = len(x); m = x.mean()
  //       ids = np.unique(c); C = len(ids)
  //       S = np.array([(x[c == k] - m).sum() for k in ids])
  //       se = np.sqrt(C / (C - 1) * (S**2).sum()) / n
  //       q = stats.t.ppf(1 - (1 - level) / 2, C - 1)
  //       mde = (q + stats.t.ppf(0.8, C - 1)) * se; p = 2 * stats.t.sf(abs(m / se), C - 1)
  //       return m, se, m - q*se, m + q*se, mde, p
  //   unpaired = np.sqrt(clustered(a, c, level)[1]**2 + clustered(b, c, level)[1]**2)
  //   a = np.array([0.9,0.4,0.7,0.8,0.3,0.6]); b = np.array([0.7,0.5,0.4,0.8,0.1,0.65])
  //   clustered(a - b, [0,0,1,1,1,2], .95)
  //   a = np.array([1,1,0,1,1,0,1,1,0,1,1,1]); b = np.array([1,0,0,1,0,0,1,0,1,1,0,1])
  //   clustered(a - b, [0,0,0,1,1,1,2,2,2,3,3,3], .9)
  it('clusters the difference when clusters are given, and tests it with the clustered t', () => {
    const continuous = comparePaired(
      [0.9, 0.4, 0.7, 0.8, 0.3, 0.6],
      [0.7, 0.5, 0.4, 0.8, 0.1, 0.65],
      0.95,
      [0, 0, 1, 1, 1, 2],
    );
    expect(continuous).toMatchObject({ ciMethod: 'clustered-t', test: 'clustered-t' });
    expect(continuous.meanDiff).toBeCloseTo(0.09166666666666666, 10);
    expect(continuous.se).toBeCloseTo(0.05687665341512018, 10);
    expect(continuous.ci?.[0]).toBeCloseTo(-0.15305382140891421, 10);
    expect(continuous.ci?.[1]).toBeCloseTo(0.33638715474224756, 10);
    expect(continuous.mde).toBeCloseTo(0.30504728905712364, 10);
    expect(continuous.pValue).toBeCloseTo(0.24834812263449924, 10);
    expect(continuous.unpairedSe).toBeCloseTo(0.07099654399517809, 10);

    const binary = comparePaired(
      [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1],
      [1, 0, 0, 1, 0, 0, 1, 0, 1, 1, 0, 1],
      0.9,
      [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
    );
    expect(binary).toMatchObject({ ciMethod: 'clustered-t', test: 'clustered-t' });
    expect(binary.pValue).toBeCloseTo(0.0576688856224373, 10);
    expect(binary.unpairedSe).toBeCloseTo(0.12729376930432887, 10);
    expect(binary.se).toBeCloseTo(0.08333333333333333, 10);
    expect(binary.ci?.[0]).toBeCloseTo(0.05388638043318139, 10);
    expect(binary.ci?.[1]).toBeCloseTo(0.4461136195668186, 10);
    expect(binary.mde).toBeCloseTo(0.2776529789304273, 10);
  });

  it('has no se, interval or MDE with a single cluster', () => {
    const estimate = comparePaired([0.9, 0.4, 0.7], [0.7, 0.5, 0.4], 0.95, [3, 3, 3]);
    expect(estimate).toMatchObject({ ciMethod: 'clustered-t', test: 'clustered-t', se: null, ci: null, mde: null, pValue: null });
  });

  it('rejects empty or mismatched input', () => {
    expect(() => comparePaired([], [], 0.95)).toThrow(RangeError);
    expect(() => comparePaired([1, 0], [1], 0.95)).toThrow(RangeError);
    expect(() => comparePaired([1, 0], [1, 0], 0.95, [0])).toThrow(RangeError);
    expect(() => comparePaired([1, Number.NaN], [1, 0], 0.95)).toThrow(RangeError);
  });
});

// Reference values: stats.binomtest(min(k, l), k + l, 0.5).pvalue for each (k, l) below.
describe('mcnemarExact', () => {
  it('is the two-sided exact binomial test on the discordant pairs', () => {
    const cases: [number, number, number][] = [
      [0, 1, 1.0],
      [3, 0, 0.25],
      [5, 5, 1.0],
      [2, 9, 0.0654296875],
      [1, 1, 1.0],
      [10, 3, 0.09228515625],
      [40, 25, 0.08168153394154003],
    ];
    for (const [aOnly, bOnly, p] of cases) {
      expect(mcnemarExact(aOnly, bOnly)).toBeCloseTo(p, 10);
      expect(mcnemarExact(bOnly, aOnly)).toBeCloseTo(p, 10);
    }
  });

  it('is 1 with no discordant pairs and never above 1', () => {
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(mcnemarExact(7, 7)).toBe(1);
  });

  it('rejects non-counts', () => {
    expect(() => mcnemarExact(-1, 2)).toThrow(RangeError);
    expect(() => mcnemarExact(1.5, 2)).toThrow(RangeError);
  });
});

// Reference values: r = stats.ttest_1samp(d, 0); r.statistic, r.pvalue for each d below.
describe('pairedT', () => {
  it('matches scipy', () => {
    const cases: [number[], number, number][] = [
      [[0.5, -0.25, 1.0, 0.75], 1.851640199545103, 0.1611618472135195],
      [[1, 2], 3.0, 0.20483276469913345],
      [[0.1, 0.2, 0.4, -0.05, 0.3], 2.4327007187250236, 0.07177139073765303],
    ];
    for (const [diffs, t, p] of cases) {
      const result = pairedT(diffs);
      expect(result.df).toBe(diffs.length - 1);
      expect(result.t).toBeCloseTo(t, 10);
      expect(result.pValue).toBeCloseTo(p, 10);
    }
  });

  it('keeps precision for tiny p-values', () => {
    const result = pairedT([50, 51, 52, 53, 54, 55, 56, 57, 58, 59.5]);
    expect(result.t).toBeCloseTo(55.41094037267065, 10);
    expect(Math.abs((result.pValue as number) / 1.0216704718346921e-12 - 1)).toBeLessThan(1e-6);
  });

  it('has null t and p with one difference; null t with zero spread', () => {
    expect(pairedT([0.3])).toEqual({ t: null, df: 0, pValue: null });
    expect(pairedT([0, 0, 0])).toEqual({ t: null, df: 2, pValue: 1 });
    expect(pairedT([0.25, 0.25])).toEqual({ t: null, df: 1, pValue: 0 });
    expect(() => pairedT([])).toThrow(RangeError);
  });
});
