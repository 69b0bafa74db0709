import { z } from 'zod';
import { readReply, replySchema, type ReplyField } from '../core/structured-reply.js';
import { defineJudge } from '../spec/definition.js';
import type { JudgeExecution, Judgment } from '../spec/judge.js';
import { renderJudgePrompt } from './judge-prompt.js';

const DEFAULT_SYSTEM = 'You compare two answers to the same question and say which is better. Reply with one JSON object only.';
const DEFAULT_USER = `Question:
{{input}}

Answer A:
{{answerA}}

Answer B:
{{answerB}}

Which answer is {{criteria}}? Reply with a JSON object with the keys: reasoning, winner (A, B or tie).`;

const schema = z.strictObject({
  kind: z.literal('pairwise'),
  id: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'judge ids are letters, digits, _ and -'),
  models: z.array(z.string().min(1)).min(1),
  aggregate: z.enum(['mean', 'majority']).default('mean'),
  /** The other answer: the item's reference (its target), or another answering model's answer. */
  against: z.union([z.literal('reference'), z.strictObject({ model: z.string().min(1) })]).default('reference'),
  /** Ask each judge twice with the answers' positions swapped, to cancel position bias. */
  swap: z.boolean().default(true),
  criteria: z.string().min(1).default('more correct and more helpful'),
  prompt: z.strictObject({ system: z.string().min(1).optional(), user: z.string().min(1).optional() }).default({}),
});

const FIELDS: ReplyField[] = [
  { name: 'reasoning', type: 'string', description: 'a short justification, written first', optional: true },
  { name: 'winner', type: 'enum', values: ['A', 'B', 'tie'], description: 'the better answer, or tie' },
];

type Outcome = 'win' | 'tie' | 'loss';

/**
 * Pairwise comparison of the task's answer with a reference or another model's answer. The score is 1 for a
 * win, 0.5 for a tie and 0 for a loss, per judge call, then aggregated over the panel.
 */
export const pairwiseJudge = defineJudge({
  kind: 'pairwise',
  version: '1',
  description: 'compares the answer with a reference or another model (win, tie, loss)',
  schema,
  create(args) {
    const againstModel = args.against === 'reference' ? undefined : args.against.model;
    return {
      specificationVersion: 'assay.judge.v1',
      id: args.id,
      ...(againstModel ? { againstModel } : {}),
      async judge(input, context): Promise<Judgment> {
        const other = againstModel ? input.other?.answer : typeof input.item.target === 'string' ? input.item.target : JSON.stringify(input.item.target ?? '');
        if (other === undefined) throw new Error(`no answer from model '${againstModel}' to compare with`);
        const orders = args.swap ? [false, true] : [false];
        const executions: JudgeExecution[] = [];
        const outcomes: Outcome[] = [];
        await Promise.all(
          args.models.flatMap((model) =>
            orders.map(async (swapped) => {
              const prompt = renderJudgePrompt({ system: args.prompt.system ?? DEFAULT_SYSTEM, user: args.prompt.user ?? DEFAULT_USER }, input, {
                answerA: swapped ? other : input.answer,
                answerB: swapped ? input.answer : other,
                criteria: args.criteria,
              });
              let winner: string | undefined;
              let read: ReturnType<typeof readReply> | undefined;
              const reply = await context.callModel(model, {
                system: prompt.system,
                prompt: prompt.user,
                responseFormat: { type: 'json', name: `pairwise_${args.id}`, schema: replySchema(FIELDS) },
                accept: (result) => {
                  read = readReply(result.text, FIELDS);
                  if (!read.ok) return read.reason;
                  if (read.values.winner === null) return 'the reply names no winner';
                  winner = read.values.winner as string;
                  return null;
                },
              });
              const ours = swapped ? 'B' : 'A';
              outcomes.push(winner === 'tie' ? 'tie' : winner === ours ? 'win' : 'loss');
              executions.push({ model, prompt, rawResponse: reply.text, readAs: read!.ok ? read!.readAs : 'labelled', parsed: read!.ok ? read!.values : {}, swapped });
            }),
          ),
        );
        executions.sort((left, right) => args.models.indexOf(left.model) - args.models.indexOf(right.model) || Number(left.swapped) - Number(right.swapped));
        const points: number[] = outcomes.map((outcome) => (outcome === 'win' ? 1 : outcome === 'tie' ? 0.5 : 0));
        let value: number;
        if (args.aggregate === 'mean') value = points.reduce((sum, point) => sum + point, 0) / points.length;
        else {
          const wins = outcomes.filter((outcome) => outcome === 'win').length;
          const losses = outcomes.filter((outcome) => outcome === 'loss').length;
          value = wins > outcomes.length / 2 ? 1 : losses > outcomes.length / 2 ? 0 : 0.5;
        }
        const count = (kind: Outcome) => outcomes.filter((outcome) => outcome === kind).length / outcomes.length;
        return {
          judge: args.id,
          kind: 'pairwise',
          executions,
          scores: { [`${args.id}.win`]: { value, parts: { win: count('win'), tie: count('tie'), loss: count('loss') } } },
          aggregation: { method: args.aggregate, against: againstModel ?? 'reference', outcomes, swap: args.swap },
        };
      },
    };
  },
});
