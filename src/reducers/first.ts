import { z } from 'zod';
import { defineReducer } from '../spec/definition.js';

const schema = z.strictObject({ kind: z.literal('first') });

/** The first candidate, unchanged. */
export const firstReducer = defineReducer({
  kind: 'first',
  version: '1',
  description: 'the first candidate',
  schema,
  create() {
    return {
      specificationVersion: 'assay.reducer.v1',
      reduce(candidates) {
        const first = candidates[0];
        if (!first) throw new TypeError('no candidates to reduce');
        return { text: first.text, sources: [first.sample] };
      },
    };
  },
});
