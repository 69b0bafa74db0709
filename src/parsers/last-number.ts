import { z } from 'zod';
import { lastNumberIn } from '../core/numbers.js';
import { defineParser } from '../spec/definition.js';

const schema = z.strictObject({ kind: z.literal('last-number') });

/** The last number in the answer ("... so the total is 1,250." -> 1250). */
export const lastNumberParser = defineParser({
  kind: 'last-number',
  version: '1',
  description: 'the last number written in the answer',
  schema,
  create() {
    return {
      specificationVersion: 'assay.parser.v1',
      parse(text) {
        const value = lastNumberIn(text);
        return value === null ? { ok: false, reason: 'no number in the answer' } : { ok: true, value };
      },
    };
  },
});
