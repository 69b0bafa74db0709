import { z } from 'zod';
import { defineParser } from '../spec/definition.js';

const schema = z.strictObject({
  kind: z.literal('exact-text'),
  trim: z.boolean().default(true),
});

/** The answer text itself (trimmed by default); empty answers are unparseable. */
export const exactTextParser = defineParser({
  kind: 'exact-text',
  version: '1',
  description: 'the whole answer text',
  schema,
  create(args) {
    return {
      specificationVersion: 'assay.parser.v1',
      parse(text) {
        const value = args.trim ? text.trim() : text;
        return value === '' ? { ok: false, reason: 'empty answer' } : { ok: true, value };
      },
    };
  },
});
