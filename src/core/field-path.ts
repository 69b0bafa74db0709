/** Reads a dotted field path (`answer`, `meta.source`, `choices.0`) from a row; undefined when absent. */
export function getField(row: unknown, path: string): unknown {
  if (!path.includes('.')) return row !== null && typeof row === 'object' ? (row as Record<string, unknown>)[path] : undefined;
  let value: unknown = row;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}
