import { z } from 'zod';
import { getField } from '../core/field-path.js';
import { findJson } from '../core/json-in-text.js';
import type { ParsedValue } from '../spec/parser.js';
import { defineParser } from '../spec/definition.js';

const schema = z.strictObject({
  kind: z.literal('json'),
  /** A dotted path into the JSON (e.g. `answer` or `result.items.0`); the whole value when absent. */
  path: z.string().min(1).optional(),
});

/** A JSON value in the answer (bare, fenced or embedded), optionally one field of it. */
export const jsonParser = defineParser({
  kind: 'json',
  version: '1',
  description: 'a JSON value in the answer, or one field of it',
  schema,
  create(args) {
    return {
      specificationVersion: 'assay.parser.v1',
      parse(text) {
        const document = findJson(text);
        if (document === undefined) return { ok: false, reason: 'no JSON in the answer' };
        if (args.path === undefined) return { ok: true, value: document as ParsedValue };
        const value = getField(document, args.path);
        return value === undefined ? { ok: false, reason: `the JSON has no '${args.path}'` } : { ok: true, value: value as ParsedValue };
      },
    };
  },
});
