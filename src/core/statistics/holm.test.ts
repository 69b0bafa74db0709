import { describe, expect, it } from 'vitest';
import { holmAdjust } from './index.js';

// Reference values: python3 (numpy 2.4.6), Holm's step-down from its formula:
//   import numpy as np
//   def holm(p):
//       p = np.asarray(p, float); m = len(p); o = np.argsort(p, kind='stable')
//       adj = np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * p[o]))
//       out = np.empty(m); out[o] = adj; return out
//   holm([0.01, 0.04, 0.03, 0.005]); holm([0.02, 0.5, 0.02]); holm([0.3, 0.6, 0.9]); holm([0.04])
//   holm([0.001, 0.01, 0.011, 0.2, 0.012])
describe('holmAdjust', () => {
  const cases: [string, number[], number[]][] = [
    ['the monotone step (0.04 · 1 < 0.03 · 2)', [0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]],
    ['ties get the same value', [0.02, 0.5, 0.02], [0.06, 0.5, 0.06]],
    ['capped at 1', [0.3, 0.6, 0.9], [0.9, 1, 1]],
    ['one p-value is unchanged', [0.04], [0.04]],
    ['a run of monotone steps', [0.001, 0.01, 0.011, 0.2, 0.012], [0.005, 0.04, 0.04, 0.2, 0.04]],
  ];
  for (const [name, pValues, expected] of cases) {
    it(name, () => {
      const adjusted = holmAdjust(pValues);
      expect(adjusted).toHaveLength(expected.length);
      expected.forEach((value, i) => expect(adjusted[i]).toBeCloseTo(value, 10));
    });
  }

  it('is monotone in p and never below p', () => {
    const pValues = [0.2, 0.001, 0.049, 0.05, 0.7, 0.012, 0.012, 0.3];
    const adjusted = holmAdjust(pValues);
    pValues.forEach((p, i) => {
      expect(adjusted[i]).toBeGreaterThanOrEqual(p);
      expect(adjusted[i]).toBeLessThanOrEqual(1);
      pValues.forEach((q, j) => {
        if (p < q) expect(adjusted[i]).toBeLessThanOrEqual(adjusted[j] as number);
      });
    });
  });

  it('handles empty input, 0 and 1', () => {
    expect(holmAdjust([])).toEqual([]);
    expect(holmAdjust([0, 1])).toEqual([0, 1]);
  });

  it('rejects values that are not probabilities', () => {
    expect(() => holmAdjust([0.1, 1.2])).toThrow(RangeError);
    expect(() => holmAdjust([-0.1])).toThrow(RangeError);
    expect(() => holmAdjust([Number.NaN])).toThrow(RangeError);
  });
});
