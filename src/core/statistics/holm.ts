/**
 * Holm–Bonferroni step-down adjusted p-values (Holm 1979, "A simple sequentially rejective multiple test
 * procedure"): with the m p-values sorted ascending p_(1) <= ... <= p_(m),
 *   adj_(i) = min(1, max_{j <= i} (m - j + 1) · p_(j)),
 * returned in the input's order. The running maximum makes them monotone in p; tied p-values get the same
 * adjusted value. Throws a RangeError for a p-value outside [0, 1] (or NaN).
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const m = pValues.length;
  pValues.forEach((p, i) => {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`pValues[${i}] is not a probability: ${p}`);
  });
  const order = pValues.map((_, i) => i).sort((i, j) => (pValues[i] as number) - (pValues[j] as number));
  const adjusted = new Array<number>(m);
  let runningMax = 0;
  order.forEach((index, rank) => {
    runningMax = Math.max(runningMax, Math.min(1, (m - rank) * (pValues[index] as number)));
    adjusted[index] = runningMax;
  });
  return adjusted;
}
