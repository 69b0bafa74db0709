import { z } from 'zod';
import { toNumber } from '../core/numbers.js';
import { defineMetric } from '../spec/definition.js';
import { asText } from './text-normalization.js';

const check = z.discriminatedUnion('check', [
  z.strictObject({ check: z.literal('exact') }),
  z.strictObject({ check: z.literal('case-insensitive') }),
  z.strictObject({ check: z.literal('numeric'), absoluteTolerance: z.number().min(0).default(1e-9), relativeTolerance: z.number().min(0).default(0) }),
  z.strictObject({ check: z.literal('set'), mode: z.enum(['equal', 'contains']).default('equal'), caseSensitive: z.boolean().default(false) }),
  z.strictObject({ check: z.literal('regex'), pattern: z.string().min(1), flags: z.string().regex(/^[imsu]*$/).default('') }),
  z.strictObject({ check: z.literal('contains'), caseSensitive: z.boolean().default(false) }),
]);

type Check = z.output<typeof check>;

const schema = z.strictObject({
  kind: z.literal('template-verify'),
  name: z.string().min(1).default('template-verify'),
  /** Per template field, how its value is checked against the expected value (the target's field). */
  fields: z.record(z.string().min(1), check).refine((fields) => Object.keys(fields).length > 0, 'give at least one field'),
  /** How the per-field results combine into the score. */
  combine: z.union([z.enum(['all', 'any']), z.strictObject({ atLeast: z.number().int().min(1) })]).default('all'),
});

function asList(value: unknown, caseSensitive: boolean): string[] {
  const list = Array.isArray(value) ? value : asText(value).split(/[,;]/);
  return list.map((entry) => asText(entry).trim()).filter((entry) => entry !== '').map((entry) => (caseSensitive ? entry : entry.toLowerCase()));
}

/** One declarative check; nothing from a dataset is ever executed. */
function verify(rule: Check, actual: unknown, expected: unknown): { passed: boolean; reason?: string } {
  if (actual === null || actual === undefined) return { passed: false, reason: 'the answer does not give it' };
  switch (rule.check) {
    case 'exact':
      return { passed: asText(actual).trim() === asText(expected).trim() };
    case 'case-insensitive':
      return { passed: asText(actual).trim().toLowerCase() === asText(expected).trim().toLowerCase() };
    case 'numeric': {
      const left = toNumber(actual);
      const right = toNumber(expected);
      if (left === null || right === null) return { passed: false, reason: left === null ? 'not a number' : 'the expected value is not a number' };
      return { passed: Math.abs(left - right) <= Math.max(rule.absoluteTolerance, rule.relativeTolerance * Math.abs(right)) };
    }
    case 'set': {
      const got = new Set(asList(actual, rule.caseSensitive));
      const want = asList(expected, rule.caseSensitive);
      const containsAll = want.every((entry) => got.has(entry));
      return { passed: rule.mode === 'contains' ? containsAll : containsAll && got.size === new Set(want).size };
    }
    case 'regex':
      return { passed: new RegExp(rule.pattern, rule.flags).test(asText(actual)) };
    case 'contains': {
      const haystack = rule.caseSensitive ? asText(actual) : asText(actual).toLowerCase();
      const needle = rule.caseSensitive ? asText(expected) : asText(expected).toLowerCase();
      return { passed: needle !== '' && haystack.includes(needle) };
    }
  }
}

/**
 * Checks a filled answer template (from the `template` parser) field by field against the target: the score
 * is the combination, and every field's result is reported as a part (`name.field`).
 */
export const templateVerifyMetric = defineMetric({
  kind: 'template-verify',
  version: '1',
  description: 'checks a filled answer template field by field',
  requiresTarget: true,
  schema,
  create(args) {
    const names = Object.keys(args.fields);
    return {
      specificationVersion: 'assay.metric.v1',
      name: args.name,
      score({ parsed, target }) {
        const filled = parsed.ok && parsed.value !== null && typeof parsed.value === 'object' && !Array.isArray(parsed.value) ? (parsed.value as Record<string, unknown>) : null;
        const expectedOf = (field: string) =>
          target !== null && typeof target === 'object' && !Array.isArray(target) ? (target as Record<string, unknown>)[field] : names.length === 1 ? target : undefined;
        const parts: Record<string, number> = {};
        const fields: Record<string, unknown> = {};
        for (const field of names) {
          const expected = expectedOf(field);
          const result = filled
            ? expected === undefined && args.fields[field]!.check !== 'regex'
              ? { passed: false, reason: `the target has no '${field}'` }
              : verify(args.fields[field]!, filled[field], expected)
            : { passed: false, reason: parsed.ok ? 'the parsed value is not a template' : parsed.reason };
          parts[field] = result.passed ? 1 : 0;
          fields[field] = { expected: expected ?? null, actual: filled?.[field] ?? null, ...result };
        }
        const passed = Object.values(parts).filter((value) => value === 1).length;
        const combined =
          args.combine === 'all' ? passed === names.length : args.combine === 'any' ? passed > 0 : passed >= args.combine.atLeast;
        return { value: combined ? 1 : 0, parts, details: { fields, passed, of: names.length } };
      },
    };
  },
});
