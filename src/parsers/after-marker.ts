import { z } from 'zod';
import { NUMBER_PATTERN } from '../core/numbers.js';
import { defineParser } from '../spec/definition.js';

const schema = z.strictObject({
  kind: z.literal('after-marker'),
  /** The text that introduces the answer, e.g. "A:", "####", "Answer:". */
  marker: z.string().min(1),
  /** `text`: the rest of the marker's line; `number`: the first number after the marker. */
  read: z.enum(['text', 'number']).default('text'),
  /** Which occurrence of the marker counts when there are several. */
  occurrence: z.enum(['first', 'last']).default('last'),
  caseSensitive: z.boolean().default(true),
});

/** What follows a marker: GSM8K's "#### 18", a model's final "A: 18", "Answer: Paris". */
export const afterMarkerParser = defineParser({
  kind: 'after-marker',
  version: '1',
  description: 'the text or number after the last (or first) occurrence of a marker',
  schema,
  create(args) {
    const marker = args.caseSensitive ? args.marker : args.marker.toLowerCase();
    return {
      specificationVersion: 'assay.parser.v1',
      parse(text) {
        const haystack = args.caseSensitive ? text : text.toLowerCase();
        const at = args.occurrence === 'last' ? haystack.lastIndexOf(marker) : haystack.indexOf(marker);
        if (at < 0) return { ok: false, reason: `no '${args.marker}' in the answer` };
        const rest = text.slice(at + marker.length);
        if (args.read === 'number') {
          const match = new RegExp(NUMBER_PATTERN.source).exec(rest);
          if (!match) return { ok: false, reason: `no number after '${args.marker}'` };
          return { ok: true, value: Number(match[0].replace(/,/g, '')) };
        }
        const line = rest.split('\n', 1)[0]!.trim();
        return line === '' ? { ok: false, reason: `nothing after '${args.marker}'` } : { ok: true, value: line };
      },
    };
  },
});
