import { z } from 'zod';
import type { ReplyField, ReplyValue } from '../core/structured-reply.js';
import type { MetricScore } from '../spec/metric.js';

const traitName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'trait names are letters, digits, _ and -');

/** Traits a judge model answers. */
const llmTraits = [
  z.strictObject({ name: traitName, kind: z.literal('boolean'), description: z.string().min(1) }),
  z.strictObject({
    name: traitName,
    kind: z.literal('score'),
    description: z.string().min(1),
    min: z.number().int().default(1),
    max: z.number().int().default(5),
  }),
  z.strictObject({
    name: traitName,
    kind: z.literal('class'),
    description: z.string().min(1),
    classes: z.array(z.string().min(1)).min(2),
    /** Classes that count as a pass (score 1); by default the first. */
    positive: z.array(z.string().min(1)).min(1).optional(),
  }),
] as const;

/** Traits checked in code, no model involved. */
const localTraits = [
  z.strictObject({
    name: traitName,
    kind: z.literal('regex'),
    pattern: z.string().min(1),
    caseSensitive: z.boolean().default(false),
    /** Pass when the pattern does NOT match (a forbidden phrase). */
    invert: z.boolean().default(false),
  }),
  z.strictObject({
    name: traitName,
    kind: z.literal('keywords'),
    mustInclude: z.array(z.string().min(1)).default([]),
    mustExclude: z.array(z.string().min(1)).default([]),
    /** Which figure is the score; all three are reported as parts. */
    measure: z.enum(['f1', 'precision', 'recall']).default('f1'),
    caseSensitive: z.boolean().default(false),
  }),
] as const;

export const traitSchema = z
  .discriminatedUnion('kind', [...llmTraits, ...localTraits])
  .refine((trait) => trait.kind !== 'score' || trait.max > trait.min, { error: 'max must be above min' })
  .refine((trait) => trait.kind !== 'regex' || isPattern(trait.pattern), { error: 'not a valid regular expression' })
  .refine((trait) => trait.kind !== 'class' || (trait.positive ?? []).every((value) => trait.classes.includes(value)), {
    error: 'positive classes must be among classes',
  });

function isPattern(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

export type Trait = z.output<typeof traitSchema>;
export type LlmTrait = Extract<Trait, { kind: 'boolean' | 'score' | 'class' }>;

export function isLlmTrait(trait: Trait): trait is LlmTrait {
  return trait.kind === 'boolean' || trait.kind === 'score' || trait.kind === 'class';
}

export function traitField(trait: LlmTrait): ReplyField {
  switch (trait.kind) {
    case 'boolean':
      return { name: trait.name, type: 'boolean', description: trait.description };
    case 'score':
      return { name: trait.name, type: 'integer', minimum: trait.min, maximum: trait.max, description: trait.description };
    case 'class':
      return { name: trait.name, type: 'enum', values: trait.classes, description: trait.description };
  }
}

/** A judge model's answer for one trait as a score in [0, 1]. */
export function llmTraitScore(trait: LlmTrait, value: ReplyValue): MetricScore {
  switch (trait.kind) {
    case 'boolean':
      // A panel's mean arrives as the share of judges that said yes.
      return { value: typeof value === 'number' ? value : value === true ? 1 : 0, details: { answer: value } };
    case 'score':
      return { value: typeof value === 'number' ? (value - trait.min) / (trait.max - trait.min) : 0, details: { answer: value } };
    case 'class': {
      const positive = trait.positive ?? [trait.classes[0]!];
      const parts = Object.fromEntries(trait.classes.map((name) => [name, name === value ? 1 : 0]));
      return { value: typeof value === 'string' && positive.includes(value) ? 1 : 0, parts, details: { answer: value } };
    }
  }
}

/** A trait checked in code against the answer. */
export function localTraitScore(trait: Exclude<Trait, LlmTrait>, answer: string): MetricScore {
  if (trait.kind === 'regex') {
    const matched = new RegExp(trait.pattern, trait.caseSensitive ? '' : 'i').test(answer);
    return { value: matched !== trait.invert ? 1 : 0, details: { matched } };
  }
  const haystack = trait.caseSensitive ? answer : answer.toLowerCase();
  const has = (term: string) => haystack.includes(trait.caseSensitive ? term : term.toLowerCase());
  const truePositives = trait.mustInclude.filter(has).length;
  const falseNegatives = trait.mustInclude.length - truePositives;
  const falsePositives = trait.mustExclude.filter(has).length;
  const precision = truePositives + falsePositives === 0 ? 1 : truePositives / (truePositives + falsePositives);
  const recall = truePositives + falseNegatives === 0 ? 1 : truePositives / (truePositives + falseNegatives);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  const figures = { precision, recall, f1 };
  return {
    value: figures[trait.measure],
    parts: figures,
    details: { found: trait.mustInclude.filter(has), missing: trait.mustInclude.filter((term) => !has(term)), forbiddenFound: trait.mustExclude.filter(has) },
  };
}
