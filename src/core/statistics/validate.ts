/** Throws a RangeError unless level is a confidence level strictly between 0 and 1. */
export function assertLevel(level: number): void {
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be between 0 and 1, got ${level}`);
}

/** Throws a RangeError unless every value is a finite number (NaN or Infinity would poison every result). */
export function assertFinite(values: ArrayLike<number>, what: string): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (!Number.isFinite(value)) throw new RangeError(`${what}[${i}] is not a finite number: ${value}`);
  }
}

/** Throws a RangeError unless the arrays have the same length. */
export function assertSameLength(a: ArrayLike<unknown>, b: ArrayLike<unknown>, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: lengths differ (${a.length} and ${b.length})`);
}

/** Throws a RangeError when the array is empty. */
export function assertNonEmpty(values: ArrayLike<unknown>, what: string): void {
  if (values.length === 0) throw new RangeError(`${what} is empty`);
}
