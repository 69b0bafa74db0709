import { z } from 'zod';
import { defineMetric } from '../spec/definition.js';
import { asText } from './text-normalization.js';

const schema = z.strictObject({
  kind: z.literal('regex'),
  name: z.string().min(1).default('regex'),
  /** `{{target}}` in the pattern stands for the item's target, matched literally. */
  pattern: z.string().min(1),
  flags: z.string().regex(/^[imsu]*$/, 'only the flags i, m, s and u are allowed').default(''),
  on: z.enum(['text', 'parsed']).default('text'),
  /** Score 1 when the pattern does NOT match (e.g. a forbidden phrase). */
  invert: z.boolean().default(false),
});

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** 1 when the answer matches a pattern (or does not, with invert). */
export const regexMetric = defineMetric({
  kind: 'regex',
  version: '1',
  description: 'the answer matches a regular expression',
  requiresTarget: false,
  schema: schema.refine((args) => {
    try {
      new RegExp(args.pattern.replaceAll('{{target}}', 'x'), args.flags);
      return true;
    } catch {
      return false;
    }
  }, 'not a valid regular expression'),
  create(args) {
    const usesTarget = args.pattern.includes('{{target}}');
    const fixed = usesTarget ? null : new RegExp(args.pattern, args.flags);
    return {
      specificationVersion: 'assay.metric.v1',
      name: args.name,
      score({ parsed, target, text }) {
        const subject = args.on === 'text' ? text : parsed.ok ? asText(parsed.value) : '';
        const expression = fixed ?? new RegExp(args.pattern.replaceAll('{{target}}', escape(asText(target))), args.flags);
        const matched = expression.test(subject);
        return { value: matched !== args.invert ? 1 : 0 };
      },
    };
  },
});
