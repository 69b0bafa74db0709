import { z } from 'zod';
import { getField } from '../core/field-path.js';
import { readReply, replySchema, type ReplyField, type ReplyValue } from '../core/structured-reply.js';
import { defineJudge } from '../spec/definition.js';
import type { JudgeExecution, Judgment } from '../spec/judge.js';
import type { MetricScore } from '../spec/metric.js';
import { isAbstention } from './abstention.js';
import { renderJudgePrompt } from './judge-prompt.js';
import { isLlmTrait, llmTraitScore, localTraitScore, traitField, traitSchema, type LlmTrait, type Trait } from './traits.js';

const DEFAULT_SYSTEM =
  'You are a strict, fair grader. You judge one answer against a rubric. Judge only what the answer says. ' +
  'Reply with one JSON object only.';
const DEFAULT_USER = `Question:
{{input}}

Reference answer (may be empty):
{{target}}

Answer to judge:
{{answer}}

Rubric:
{{rubric}}

Reply with a JSON object with the keys: {{keys}}.`;

const schema = z
  .strictObject({
    kind: z.literal('rubric'),
    /** The judge's id; its scores are reported as `id.trait`. */
    id: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'judge ids are letters, digits, _ and -'),
    /** Evaluator models on the panel (needed when there are model-judged traits). */
    models: z.array(z.string().min(1)).default([]),
    /** How the panel's answers combine: the mean, or the most common answer. */
    aggregate: z.enum(['mean', 'majority']).default('mean'),
    traits: z.array(traitSchema).default([]),
    /** A dataset field (dotted path) holding extra traits for that item. */
    itemTraits: z.string().min(1).optional(),
    /** Detect refusals: a refusal scores 0 on every trait and is labelled. */
    abstention: z.boolean().default(false),
    prompt: z.strictObject({ system: z.string().min(1).optional(), user: z.string().min(1).optional() }).default({}),
  })
  .refine((args) => args.traits.length > 0 || args.itemTraits !== undefined, { error: 'give traits, itemTraits, or both' })
  .refine((args) => !args.traits.some(isLlmTrait) || args.models.length > 0, { error: 'traits judged by a model need models: [...]' })
  .refine((args) => new Set(args.traits.map((trait) => trait.name)).size === args.traits.length, { error: 'trait names must be unique' });

/** Reads an item's own traits; undefined when the item has none, an error message when they are invalid. */
export function itemTraitsOf(fields: Readonly<Record<string, unknown>>, path: string): Trait[] | string {
  const raw = getField(fields, path);
  if (raw === undefined || raw === null) return [];
  const parsed = z.array(traitSchema).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return `${path}[${issue.path.join('.')}]: ${issue.message}`;
  }
  return parsed.data;
}

function aggregateValues(trait: LlmTrait, values: readonly ReplyValue[], how: 'mean' | 'majority'): ReplyValue {
  const present = values.filter((value) => value !== null);
  if (present.length === 0) return null;
  if (how === 'mean' && trait.kind !== 'class') {
    const numbers = present.map((value) => (typeof value === 'boolean' ? (value ? 1 : 0) : Number(value)));
    // For a boolean, the mean is the share of the panel that said yes.
    return numbers.reduce((sum, value) => sum + value, 0) / numbers.length;
  }
  const counts = new Map<string, { value: ReplyValue; count: number }>();
  for (const value of present) {
    const key = JSON.stringify(value);
    counts.set(key, { value, count: (counts.get(key)?.count ?? 0) + 1 });
  }
  // Most common answer; a tie goes to the lowest (the more conservative grade).
  return [...counts.values()].sort((left, right) => right.count - left.count || (Number(left.value) || 0) - (Number(right.value) || 0) || String(left.value).localeCompare(String(right.value)))[0]!.value;
}

/** A rubric: traits judged by a panel of models, by patterns or by keyword lists; scores per trait. */
export const rubricJudge = defineJudge({
  kind: 'rubric',
  version: '1',
  description: 'rubric traits judged by models, patterns or keyword lists',
  schema,
  create(args) {
    return {
      specificationVersion: 'assay.judge.v1',
      id: args.id,
      async judge(input, context): Promise<Judgment> {
        const extra = args.itemTraits !== undefined ? itemTraitsOf(input.item.fields, args.itemTraits) : [];
        if (typeof extra === 'string') throw new Error(`item traits are invalid: ${extra}`);
        const traits = [...args.traits, ...extra];
        const modelTraits = traits.filter(isLlmTrait);
        const abstainedByPattern = args.abstention && isAbstention(input.answer);
        const executions: JudgeExecution[] = [];

        if (modelTraits.length > 0 && !abstainedByPattern) {
          const fields: ReplyField[] = [
            { name: 'reasoning', type: 'string', description: 'a short justification, written first', optional: true },
            ...modelTraits.map(traitField),
            ...(args.abstention ? [{ name: 'abstained', type: 'boolean' as const, description: 'true when the answer refuses or declines to answer', optional: true }] : []),
          ];
          const rubric = modelTraits.map((trait) => `- ${traitField(trait).name}: ${trait.description}${trait.kind === 'score' ? ` (an integer from ${trait.min} to ${trait.max})` : trait.kind === 'class' ? ` (one of: ${trait.classes.join(', ')})` : ' (true or false)'}`).join('\n');
          const prompt = renderJudgePrompt({ system: args.prompt.system ?? DEFAULT_SYSTEM, user: args.prompt.user ?? DEFAULT_USER }, input, {
            rubric,
            keys: fields.map((field) => field.name).join(', '),
          });
          const responseFormat = { type: 'json' as const, name: `rubric_${args.id}`, schema: replySchema(fields) };
          await Promise.all(
            args.models.map(async (model) => {
              let read: ReturnType<typeof readReply> | undefined;
              const reply = await context.callModel(model, {
                system: prompt.system,
                prompt: prompt.user,
                responseFormat,
                accept: (result) => {
                  read = readReply(result.text, fields);
                  return read.ok ? null : read.reason;
                },
              });
              const values = read!.ok ? read!.values : {};
              executions.push({
                model,
                prompt: { system: prompt.system, user: prompt.user },
                rawResponse: reply.text,
                readAs: read!.ok ? read!.readAs : 'labelled',
                parsed: values,
                ...(args.abstention ? { abstained: values.abstained === true } : {}),
              });
            }),
          );
          executions.sort((left, right) => args.models.indexOf(left.model) - args.models.indexOf(right.model));
        }

        const abstainedByPanel = args.abstention && executions.length > 0 && executions.filter((execution) => execution.abstained).length * 2 > executions.length;
        const abstained = abstainedByPattern || abstainedByPanel;
        const scores: Record<string, MetricScore> = {};
        const perTrait: Record<string, unknown> = {};
        for (const trait of traits) {
          const name = `${args.id}.${trait.name}`;
          if (abstained) {
            // A refusal is not a correct answer: 0 on the trait and on each of its parts, so every mean keeps its denominator.
            const shape = isLlmTrait(trait) ? llmTraitScore(trait, null) : localTraitScore(trait, input.answer);
            const parts = shape.parts ? Object.fromEntries(Object.keys(shape.parts).map((part) => [part, 0])) : undefined;
            scores[name] = { value: 0, ...(parts ? { parts } : {}), details: { abstained: true } };
            continue;
          }
          if (isLlmTrait(trait)) {
            const answers = executions.map((execution) => (execution.parsed[trait.name] ?? null) as ReplyValue);
            const combined = aggregateValues(trait, answers, args.aggregate);
            scores[name] = llmTraitScore(trait, combined);
            perTrait[trait.name] = { answers, combined };
          } else {
            scores[name] = localTraitScore(trait, input.answer);
          }
        }
        return {
          judge: args.id,
          kind: 'rubric',
          executions,
          scores,
          aggregation: { method: args.aggregate, panel: args.models, traits: perTrait, abstained, ...(abstained ? { abstainedBy: abstainedByPattern ? 'pattern' : 'panel' } : {}) },
        };
      },
    };
  },
});
