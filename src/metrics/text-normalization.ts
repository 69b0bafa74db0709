/** Lower-case, drop punctuation and the articles a/an/the, collapse whitespace (the usual QA normalisation). */
export function normalizeAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, ' ')
    .replace(/\b(a|an|the)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** A target may list several acceptable answers. */
export function targetsOf(target: unknown): unknown[] {
  return Array.isArray(target) ? target : [target];
}
