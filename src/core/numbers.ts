/** Matches a number as people write it: optional sign, thousands separators, decimals, a leading dot. */
export const NUMBER_PATTERN = /-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\.\d+/g;

/**
 * Reads a number from a value that should be one: a number, or a string such as "1,234", "$5", "42." or
 * " 7 ". Returns null when the value is not a single number.
 */
export function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string') return null;
  const cleaned = value.trim().replace(/^\$/, '').replace(/[.,;:!]+$/, '').replace(/,(?=\d{3}\b)/g, '');
  if (cleaned === '' || !/^[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$/i.test(cleaned)) return null;
  const number = Number(cleaned);
  return Number.isFinite(number) ? number : null;
}

/** The last number written in a text, with thousands separators removed, or null. */
export function lastNumberIn(text: string): number | null {
  let last: string | null = null;
  for (const match of text.matchAll(NUMBER_PATTERN)) last = match[0];
  if (last === null) return null;
  const number = Number(last.replace(/,/g, ''));
  return Number.isFinite(number) ? number : null;
}
