import { z } from 'zod';
import { defineMetric } from '../spec/definition.js';
import { asText, normalizeAnswer, targetsOf } from './text-normalization.js';

const schema = z.strictObject({
  kind: z.literal('contains'),
  name: z.string().min(1).default('contains'),
  /** Look in the whole answer text, or only in the parsed value. */
  on: z.enum(['text', 'parsed']).default('text'),
  /** Compare after the usual normalisation (case, punctuation, articles). */
  normalize: z.boolean().default(true),
});

/** 1 when the answer contains the target (any of them, when several are acceptable). */
export const containsMetric = defineMetric({
  kind: 'contains',
  version: '1',
  description: 'the answer contains the target',
  requiresTarget: true,
  schema,
  create(args) {
    const prepare = (text: string) => (args.normalize ? ` ${normalizeAnswer(text)} ` : text);
    return {
      specificationVersion: 'assay.metric.v1',
      name: args.name,
      score({ parsed, target, text }) {
        if (args.on === 'parsed' && !parsed.ok) return { value: 0, details: { unparseable: parsed.reason } };
        const haystack = prepare(args.on === 'text' ? text : asText(parsed.ok ? parsed.value : ''));
        const found = targetsOf(target).some((expected) => {
          const needle = args.normalize ? ` ${normalizeAnswer(asText(expected))} ` : asText(expected);
          return needle.trim() !== '' && haystack.includes(needle);
        });
        return { value: found ? 1 : 0 };
      },
    };
  },
});
