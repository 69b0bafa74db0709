import { z } from 'zod';
import { InvalidTargetError } from '../core/errors.js';
import { toNumber } from '../core/numbers.js';
import { defineMetric } from '../spec/definition.js';

const schema = z.strictObject({
  kind: z.literal('numeric-match'),
  name: z.string().min(1).default('numeric-match'),
  absoluteTolerance: z.number().min(0).default(1e-9),
  relativeTolerance: z.number().min(0).default(0),
});

/** 1 when the parsed answer and the target are numbers within tolerance, else 0. */
export const numericMatchMetric = defineMetric({
  kind: 'numeric-match',
  version: '1',
  description: 'the parsed answer equals the target as a number, within tolerance',
  requiresTarget: true,
  schema,
  create(args) {
    return {
      specificationVersion: 'assay.metric.v1',
      name: args.name,
      score({ parsed, target }) {
        const expected = toNumber(target);
        if (expected === null) throw new InvalidTargetError(`target ${JSON.stringify(target)} is not a number`);
        if (!parsed.ok) return { value: 0, details: { unparseable: parsed.reason } };
        const actual = toNumber(parsed.value);
        if (actual === null) return { value: 0, details: { notANumber: parsed.value } };
        const tolerance = Math.max(args.absoluteTolerance, args.relativeTolerance * Math.abs(expected));
        return { value: Math.abs(actual - expected) <= tolerance ? 1 : 0 };
      },
    };
  },
});
