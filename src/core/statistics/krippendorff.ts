import { moments } from './moments.js';

/** One rating: a label, number or boolean; null when the rater did not rate the unit. */
export type Rating = string | number | boolean | null;

/**
 * Krippendorff's alpha, by the coincidence-matrix formulation of Krippendorff (2011), "Computing
 * Krippendorff's Alpha-Reliability" (University of Pennsylvania, repository.upenn.edu/asc_papers/43).
 * `units` holds one array per unit (item) with one entry per rater, null = not rated; units with fewer than
 * 2 ratings are not pairable and are dropped. With m_u ratings in unit u and n_uc of them equal to c:
 *   coincidences  o_ck = Σ_u n_uc (n_uk - [c = k]) / (m_u - 1),   n_c = Σ_k o_ck,   n = Σ_c n_c
 *   alpha         = 1 - (n - 1) · Σ_{c,k} o_ck δ²_ck / Σ_{c,k} n_c n_k δ²_ck
 * with δ²_ck = [c ≠ k] for 'nominal' (values compared with SameValueZero, so 1, '1' and true differ) and
 * (c - k)² for 'interval' (numbers only). The δ-weighted sums over the matrix are evaluated through exact
 * identities instead of cell by cell, so the cost is linear in the number of ratings:
 *   nominal   Σ o δ² = Σ_u (m_u² - Σ_c n_uc²) / (m_u - 1),   Σ n_c n_k δ² = n² - Σ_c n_c²
 *   interval  Σ o δ² = Σ_u 2 m_u SS_u / (m_u - 1),           Σ n_c n_k δ² = 2 n SS
 * where SS_u and SS are the sums of squared deviations from the mean in unit u and over all pairable values.
 * Null when alpha is undefined: no pairable values, or expected disagreement 0 (every pairable value equal).
 * Throws a RangeError for a non-finite number, or a non-number with 'interval'.
 */
export function krippendorffAlpha(units: readonly (readonly Rating[])[], level: 'nominal' | 'interval'): number | null {
  const pairable = units.map((unit, u) => ratedValues(unit, u, level)).filter((values) => values.length >= 2);
  if (pairable.length === 0) return null;
  const { observed, expected, n } = level === 'nominal' ? nominalSums(pairable) : intervalSums(pairable as number[][]);
  if (expected === 0) return null;
  return 1 - ((n - 1) * observed) / expected;
}

function ratedValues(unit: readonly Rating[], u: number, level: 'nominal' | 'interval'): Exclude<Rating, null>[] {
  const values: Exclude<Rating, null>[] = [];
  unit.forEach((value, rater) => {
    if (value === null) return;
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new RangeError(`units[${u}][${rater}] is not a finite number: ${value}`);
    }
    if (level === 'interval' && typeof value !== 'number') {
      throw new RangeError(`units[${u}][${rater}] is not a number, which interval alpha needs: ${String(value)}`);
    }
    values.push(value);
  });
  return values;
}

interface DisagreementSums {
  /** Σ_{c,k} o_ck δ²_ck */
  readonly observed: number;
  /** Σ_{c,k} n_c n_k δ²_ck */
  readonly expected: number;
  /** Pairable values. */
  readonly n: number;
}

function nominalSums(units: readonly (readonly Exclude<Rating, null>[])[]): DisagreementSums {
  const totals = new Map<Exclude<Rating, null>, number>();
  let observed = 0;
  let n = 0;
  for (const values of units) {
    const counts = new Map<Exclude<Rating, null>, number>();
    for (const value of values) {
      counts.set(value, (counts.get(value) ?? 0) + 1);
      totals.set(value, (totals.get(value) ?? 0) + 1);
    }
    const m = values.length;
    let agreeing = 0;
    for (const count of counts.values()) agreeing += count * count;
    observed += (m * m - agreeing) / (m - 1);
    n += m;
  }
  let squares = 0;
  for (const count of totals.values()) squares += count * count;
  return { observed, expected: n * n - squares, n };
}

function intervalSums(units: readonly (readonly number[])[]): DisagreementSums {
  let observed = 0;
  const all: number[] = [];
  for (const values of units) {
    const m = values.length;
    const squares = (moments(values).variance as number) * (m - 1);
    observed += (2 * m * squares) / (m - 1);
    all.push(...values);
  }
  const n = all.length;
  const squares = (moments(all).variance as number) * (n - 1);
  return { observed, expected: 2 * n * squares, n };
}
