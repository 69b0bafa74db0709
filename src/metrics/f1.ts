import { z } from 'zod';
import { defineMetric } from '../spec/definition.js';
import { asText, normalizeAnswer, targetsOf } from './text-normalization.js';

const schema = z.strictObject({
  kind: z.literal('f1'),
  name: z.string().min(1).default('f1'),
});

function tokenF1(predicted: string, expected: string): number {
  const predictedTokens = normalizeAnswer(predicted).split(' ').filter(Boolean);
  const expectedTokens = normalizeAnswer(expected).split(' ').filter(Boolean);
  if (predictedTokens.length === 0 || expectedTokens.length === 0) return predictedTokens.length === expectedTokens.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const token of expectedTokens) counts.set(token, (counts.get(token) ?? 0) + 1);
  let common = 0;
  for (const token of predictedTokens) {
    const left = counts.get(token) ?? 0;
    if (left > 0) {
      common++;
      counts.set(token, left - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / predictedTokens.length;
  const recall = common / expectedTokens.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Token-level F1 between the parsed answer and the target (best over several acceptable targets). */
export const f1Metric = defineMetric({
  kind: 'f1',
  version: '1',
  description: 'token F1 between answer and target (normalised)',
  requiresTarget: true,
  schema,
  create(args) {
    return {
      specificationVersion: 'assay.metric.v1',
      name: args.name,
      score({ parsed, target }) {
        if (!parsed.ok) return { value: 0, details: { unparseable: parsed.reason } };
        const answer = asText(parsed.value);
        return { value: Math.max(...targetsOf(target).map((expected) => tokenF1(answer, asText(expected)))) };
      },
    };
  },
});
