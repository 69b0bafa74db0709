import { describe, expect, it } from 'vitest';
import { krippendorffAlpha, type Rating } from './index.js';

const N = null;

/** Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the example with missing data: 4 observers x 12 units. */
const observers: Rating[][] = [
  [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
  [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
  [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
  [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
];
const paperUnits = (observers[0] as Rating[]).map((_, unit) => observers.map((row) => row[unit] as Rating));

// Reference values: the published ones (nominal 0.743, interval 0.849), and python3 (numpy 2.4.6) building the
// coincidence matrix cell by cell from ordered pairs of values within each unit, as the paper does:
//   import numpy as np; from itertools import permutations
//   def alpha(units, level):
//       units = [[v for v in u if v is not None] for u in units]
//       units = [u for u in units if len(u) >= 2]
//       values = sorted({v for u in units for v in u}, key=repr)
//       idx = {v: i for i, v in enumerate(values)}
//       o = np.zeros((len(values), len(values)))
//       for u in units:
//           m = len(u)
//           for i, j in permutations(range(m), 2):
//               o[idx[u[i]], idx[u[j]]] += 1 / (m - 1)
//       nc = o.sum(axis=1); n = nc.sum()
//       if level == 'nominal':
//           delta = np.array([[0.0 if c == k else 1.0 for k in values] for c in values])
//       else:
//           delta = np.array([[(c - k) ** 2 for k in values] for c in values], dtype=float)
//       Do = (o * delta).sum() / n
//       De = (np.outer(nc, nc) * delta).sum() / (n * (n - 1))
//       return None if De == 0 else 1 - Do / De
// called on the units written in each test below.
describe('krippendorffAlpha', () => {
  it("reproduces Krippendorff's 2011 example (missing ratings, a unit rated once)", () => {
    const nominal = krippendorffAlpha(paperUnits, 'nominal');
    const interval = krippendorffAlpha(paperUnits, 'interval');
    expect(nominal).toBeCloseTo(0.743421052631579, 10);
    expect(interval).toBeCloseTo(0.8491071428571428, 10);
    expect((nominal as number).toFixed(3)).toBe('0.743');
    expect((interval as number).toFixed(3)).toBe('0.849');
  });

  it('handles labels and booleans with missing ratings', () => {
    const labels: Rating[][] = [
      ['a', 'a', N], ['b', 'a', 'b'], [N, 'c', 'c'], ['a', N, N], ['b', 'b', 'b'], ['c', 'a', N],
    ];
    expect(krippendorffAlpha(labels, 'nominal')).toBeCloseTo(0.5319148936170213, 10);
    const booleans: Rating[][] = [[true, true], [false, true], [false, false], [true, true], [true, N, true]];
    expect(krippendorffAlpha(booleans, 'nominal')).toBeCloseTo(0.5714285714285714, 10);
  });

  it('handles continuous interval ratings', () => {
    const units: Rating[][] = [[0.2, 0.4, N], [0.9, 0.8, 0.85], [N, 0.1, 0.3], [0.5, N, N], [0.6, 0.65, 0.7]];
    expect(krippendorffAlpha(units, 'interval')).toBeCloseTo(0.88125, 10);
  });

  it('is exactly 1 for perfect agreement', () => {
    const units: Rating[][] = [[1, 1], [2, 2, N], [3, 3, 3]];
    expect(krippendorffAlpha(units, 'nominal')).toBe(1);
    expect(krippendorffAlpha(units, 'interval')).toBe(1);
    expect(krippendorffAlpha([[0.1, 0.1], [0.7, 0.7]], 'interval')).toBe(1);
  });

  it('is negative for systematic disagreement', () => {
    expect(krippendorffAlpha([[1, 2], [2, 1]], 'nominal')).toBeCloseTo(-0.5, 10);
    expect(krippendorffAlpha([[1, 2], [2, 1]], 'interval')).toBeCloseTo(-0.5, 10);
    const units: Rating[][] = [[0, 1, 0], [1, 0, 1], [0, 1], [1, 0]];
    expect(krippendorffAlpha(units, 'nominal')).toBeCloseTo(-0.43999999999999995, 10);
    expect(krippendorffAlpha(units, 'interval')).toBeCloseTo(-0.43999999999999995, 10);
  });

  it('compares nominal values by type as well as value', () => {
    // 1 and '1' are different labels: the same as [['x', 'y'], ['y', 'x']], alpha -0.5.
    expect(krippendorffAlpha([[1, '1'], ['1', 1]], 'nominal')).toBeCloseTo(-0.5, 10);
    expect(krippendorffAlpha([[true, 'true'], ['true', true]], 'nominal')).toBeCloseTo(-0.5, 10);
  });

  it('is null when undefined: nothing pairable, or no variation at all', () => {
    expect(krippendorffAlpha([], 'nominal')).toBeNull();
    expect(krippendorffAlpha([[1, N], [N, 2], [3]], 'nominal')).toBeNull();
    expect(krippendorffAlpha([[1, 1], [1, 1, N]], 'nominal')).toBeNull();
    expect(krippendorffAlpha([[0.3, 0.3], [0.3, 0.3, N]], 'interval')).toBeNull();
  });

  it('rejects non-numbers for interval and non-finite numbers', () => {
    expect(() => krippendorffAlpha([['a', 'b']], 'interval')).toThrow(RangeError);
    expect(() => krippendorffAlpha([[true, false]], 'interval')).toThrow(RangeError);
    expect(() => krippendorffAlpha([[1, Number.NaN]], 'nominal')).toThrow(RangeError);
  });
});
