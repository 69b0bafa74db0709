import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, `undefined` members dropped, non-finite
 * numbers refused. Two values that mean the same thing produce the same string, whatever their key order.
 */
export function canonicalJson(value: unknown): string {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && isFlat(value as Record<string, unknown>)) {
    // Fast path for the common dataset row: no nested objects, so a sorted key list is the whole job.
    return JSON.stringify(value, Object.keys(value).sort());
  }
  return write(value, '$');
}

/** True when no member is an object, and every member serializes the same way canonically as with JSON.stringify. */
function isFlat(record: Record<string, unknown>): boolean {
  for (const key in record) {
    const member = record[key];
    if (member === null || typeof member === 'string' || typeof member === 'boolean') continue;
    if (typeof member === 'number' && Number.isFinite(member)) continue;
    return false;
  }
  return true;
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot hold ${value} at ${path}`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((entry, index) => (entry === undefined ? 'null' : write(entry, `${path}[${index}]`))).join(',')}]`;
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      const parts: string[] = [];
      for (const key of keys) {
        const member = record[key];
        if (member === undefined) continue;
        parts.push(`${JSON.stringify(key)}:${write(member, `${path}.${key}`)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value} at ${path}`);
  }
}

export function sha256Hex(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** SHA-256 of the canonical JSON of a value. */
export function hashValue(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
