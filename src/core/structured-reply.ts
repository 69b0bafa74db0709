import { findJson } from './json-in-text.js';
import { toNumber } from './numbers.js';

/** A field a model is asked to fill: its type decides the JSON Schema and how a reply's value is read. */
export interface ReplyField {
  readonly name: string;
  readonly type: 'string' | 'number' | 'boolean' | 'list' | 'enum' | 'integer';
  readonly description?: string;
  /** For `enum`: the allowed values. */
  readonly values?: readonly string[];
  /** For numbers: the allowed range. */
  readonly minimum?: number;
  readonly maximum?: number;
  /** A reply may leave this field out (it reads as null); required fields must be present, if only as null. */
  readonly optional?: boolean;
}

export type ReplyValue = string | number | boolean | string[] | null;

/** The JSON Schema of an object with these fields, each nullable (a model may say it does not know). */
export function replySchema(fields: readonly ReplyField[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const field of fields) {
    const description = field.description ? { description: field.description } : {};
    switch (field.type) {
      case 'list':
        properties[field.name] = { type: ['array', 'null'], items: { type: 'string' }, ...description };
        break;
      case 'enum':
        properties[field.name] = { type: ['string', 'null'], enum: [...(field.values ?? []), null], ...description };
        break;
      case 'integer':
      case 'number':
        properties[field.name] = {
          type: [field.type, 'null'],
          ...(field.minimum !== undefined ? { minimum: field.minimum } : {}),
          ...(field.maximum !== undefined ? { maximum: field.maximum } : {}),
          ...description,
        };
        break;
      default:
        properties[field.name] = { type: [field.type, 'null'], ...description };
    }
  }
  return { type: 'object', properties, required: fields.filter((field) => !field.optional).map((field) => field.name), additionalProperties: false };
}

/** Describes the fields as lines a prompt can show. */
export function describeFields(fields: readonly ReplyField[]): string {
  return fields
    .map((field) => {
      const type = field.type === 'enum' ? `one of ${field.values?.join(', ')}` : field.type === 'list' ? 'list of strings' : field.type;
      const range = field.minimum !== undefined || field.maximum !== undefined ? ` from ${field.minimum ?? '-inf'} to ${field.maximum ?? 'inf'}` : '';
      return `- ${field.name} (${type}${range})${field.description ? `: ${field.description}` : ''}`;
    })
    .join('\n');
}

function coerce(field: ReplyField, raw: unknown): { value: ReplyValue } | { error: string } {
  if (raw === null || raw === undefined) return { value: null };
  // A word standing for "no value" means null for typed fields; for a string field it may be the answer itself.
  if (field.type !== 'string' && typeof raw === 'string' && /^(null|none|n\/a|)$/i.test(raw.trim())) return { value: null };
  switch (field.type) {
    case 'string':
      return typeof raw === 'string' ? { value: raw.trim() } : { value: JSON.stringify(raw) };
    case 'integer':
    case 'number': {
      const number = toNumber(typeof raw === 'string' ? raw.replace(/\s*\/\s*\d+\s*$/, '') : raw);
      if (number === null) return { error: `${field.name} should be a number, got ${JSON.stringify(raw)}` };
      if (field.type === 'integer' && !Number.isInteger(number)) return { error: `${field.name} should be an integer, got ${number}` };
      if ((field.minimum !== undefined && number < field.minimum) || (field.maximum !== undefined && number > field.maximum)) {
        return { error: `${field.name} should be within ${field.minimum}..${field.maximum}, got ${number}` };
      }
      return { value: number };
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return { value: raw };
      const text = String(raw).trim().toLowerCase().replace(/[.!]$/, '');
      if (['true', 'yes', 'y', 'pass', 'correct', '1'].includes(text)) return { value: true };
      if (['false', 'no', 'n', 'fail', 'incorrect', '0'].includes(text)) return { value: false };
      return { error: `${field.name} should be true or false, got ${JSON.stringify(raw)}` };
    }
    case 'list':
      if (Array.isArray(raw)) return { value: raw.map((entry) => (typeof entry === 'string' ? entry.trim() : JSON.stringify(entry))) };
      return { value: String(raw).split(/[,;\n]/).map((entry) => entry.trim()).filter((entry) => entry !== '') };
    case 'enum': {
      const text = String(raw).trim();
      const match = field.values?.find((value) => value.toLowerCase() === text.toLowerCase());
      return match !== undefined ? { value: match } : { error: `${field.name} should be one of ${field.values?.join(', ')}, got ${JSON.stringify(raw)}` };
    }
  }
}

export type ReadReply =
  | { readonly ok: true; readonly values: Record<string, ReplyValue>; readonly readAs: 'structured' | 'json' | 'labelled' }
  | { readonly ok: false; readonly reason: string };

/**
 * Reads a model's reply into the requested fields: the whole reply as JSON first (structured output), then
 * JSON found inside the text, then `name: value` lines. Every field must be present (null allowed) and of
 * its type, or the reply is refused with the reason.
 */
export function readReply(text: string, fields: readonly ReplyField[]): ReadReply {
  let document: unknown;
  let readAs: 'structured' | 'json' | 'labelled' = 'structured';
  try {
    document = JSON.parse(text.trim());
  } catch {
    document = undefined;
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    document = findJson(text);
    readAs = 'json';
  }
  if (document === undefined || document === null || typeof document !== 'object' || Array.isArray(document)) {
    document = labelledLines(text, fields);
    readAs = 'labelled';
  }
  const record = document as Record<string, unknown>;
  const lowered = new Map(Object.entries(record).map(([key, value]) => [key.toLowerCase(), value]));
  const values: Record<string, ReplyValue> = {};
  const missing: string[] = [];
  for (const field of fields) {
    if (!(field.name in record) && !lowered.has(field.name.toLowerCase())) {
      if (field.optional) values[field.name] = null;
      else missing.push(field.name);
      continue;
    }
    const result = coerce(field, field.name in record ? record[field.name] : lowered.get(field.name.toLowerCase()));
    if ('error' in result) return { ok: false, reason: result.error };
    values[field.name] = result.value;
  }
  if (missing.length > 0) return { ok: false, reason: `the reply does not give ${missing.join(', ')}` };
  return { ok: true, values, readAs };
}

function labelledLines(text: string, fields: readonly ReplyField[]): Record<string, string> {
  const found: Record<string, string> = {};
  for (const field of fields) {
    const escaped = field.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const matches = [...text.matchAll(new RegExp(`^[\\s*_#-]*${escaped}[\\s*_]*[:=]\\s*(.+?)\\s*$`, 'gim'))];
    const last = matches.at(-1);
    if (last) found[field.name] = last[1]!.replace(/^\*+|\*+$/g, '').trim();
  }
  return found;
}
