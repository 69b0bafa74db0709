import { z } from 'zod';
import { defineMetric } from '../spec/definition.js';
import { targetsOf } from './text-normalization.js';

const schema = z.strictObject({
  kind: z.literal('exact-match'),
  name: z.string().min(1).default('exact-match'),
  caseSensitive: z.boolean().default(false),
  /** Collapse runs of whitespace and trim both ends before comparing. */
  normalizeWhitespace: z.boolean().default(true),
});

/** 1 when the parsed answer equals the target (any of them, when a list) as text after normalisation, else 0. */
export const exactMatchMetric = defineMetric({
  kind: 'exact-match',
  version: '1',
  description: 'the parsed answer equals the target as text',
  requiresTarget: true,
  schema,
  create(args) {
    const normalize = (value: unknown): string => {
      let text = typeof value === 'string' ? value : JSON.stringify(value);
      if (args.normalizeWhitespace) text = text.trim().replace(/\s+/g, ' ');
      return args.caseSensitive ? text : text.toLowerCase();
    };
    return {
      specificationVersion: 'assay.metric.v1',
      name: args.name,
      score({ parsed, target }) {
        if (!parsed.ok) return { value: 0, details: { unparseable: parsed.reason } };
        const answer = normalize(parsed.value);
        return { value: targetsOf(target).some((expected) => normalize(expected) === answer) ? 1 : 0 };
      },
    };
  },
});
