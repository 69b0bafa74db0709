import { z } from 'zod';
import { readReply, replySchema, type ReplyField } from '../core/structured-reply.js';
import { defineReducer } from '../spec/definition.js';

const schema = z.strictObject({
  kind: z.literal('best-of'),
  /** The evaluator model that chooses. */
  model: z.string().min(1),
  /** What "best" means, shown to the chooser. */
  criteria: z.string().min(1).default('the most correct and complete answer to the question'),
});

const SYSTEM = 'You compare several candidate answers to the same question and pick the best one. Reply with one JSON object only.';

/** An evaluator model picks the best candidate; its choice and reason are kept with the reduction. */
export const bestOfReducer = defineReducer({
  kind: 'best-of',
  version: '1',
  description: 'an evaluator model picks the best candidate',
  schema,
  create(args) {
    return {
      specificationVersion: 'assay.reducer.v1',
      async reduce(candidates, context) {
        const first = candidates[0];
        if (!first) throw new TypeError('no candidates to reduce');
        if (candidates.length === 1) return { text: first.text, sources: [first.sample], details: { single: true } };
        const fields: ReplyField[] = [
          { name: 'best', type: 'integer', minimum: 1, maximum: candidates.length, description: 'the number of the best candidate' },
          { name: 'reason', type: 'string', description: 'one sentence on why' },
        ];
        const listing = candidates.map((candidate, index) => `Candidate ${index + 1}:\n${candidate.text}`).join('\n\n');
        let chosen: number | undefined;
        let reason: unknown;
        const reply = await context.callModel(args.model, {
          system: SYSTEM,
          prompt: `${context.input ? `Question:\n${context.input}\n\n` : ''}${listing}\n\nPick ${args.criteria}. Reply as JSON: {"best": <1..${candidates.length}>, "reason": "..."}`,
          responseFormat: { type: 'json', name: 'best_of', schema: replySchema(fields) },
          accept: (result) => {
            const read = readReply(result.text, fields);
            if (!read.ok) return read.reason;
            if (read.values.best === null) return 'the reply does not choose a candidate';
            chosen = read.values.best as number;
            reason = read.values.reason;
            return null;
          },
        });
        const winner = candidates[chosen! - 1]!;
        return { text: winner.text, sources: [winner.sample], details: { chooser: args.model, choice: chosen, reason, reply: reply.text } };
      },
    };
  },
});
