import { z } from 'zod';
import { defineMetric, type MetricDefinition } from '../spec/definition.js';

/**
 * The unbiased pass@k estimator for n samples of which c are correct: 1 - C(n-c, k) / C(n, k), computed as
 * a product so large n does not overflow.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (k > n) throw new RangeError(`pass@${k} needs at least ${k} samples, got ${n}`);
  if (n - c < k) return 1;
  let failAll = 1;
  for (let index = n - c + 1; index <= n; index++) failAll *= 1 - k / index;
  return 1 - failAll;
}

/** pass@k over the task's samples; `of` says when a single sample counts as correct. */
export function createPassAtKMetric(baseMetrics: readonly MetricDefinition[]): MetricDefinition {
  const of = z.discriminatedUnion('kind', baseMetrics.map((metric) => metric.schema) as never) as z.ZodType<{ kind: string } & Record<string, unknown>>;
  const schema = z.strictObject({
    kind: z.literal('pass-at-k'),
    name: z.string().min(1).optional(),
    k: z.number().int().min(1),
    /** The metric that decides whether one sample is correct (a score of 1). */
    of,
  });
  return defineMetric({
    kind: 'pass-at-k',
    version: '1',
    description: 'unbiased pass@k over the samples of a task',
    requiresTarget: true,
    schema,
    create(args) {
      const base = baseMetrics.find((metric) => metric.kind === args.of.kind)!;
      const { kind: _kind, ...baseArgs } = args.of;
      const judge = base.create(baseArgs as never);
      return {
        specificationVersion: 'assay.metric.v1',
        name: args.name ?? `pass@${args.k}`,
        needsCandidates: true,
        score({ candidates, target, text }) {
          const outcomes = candidates ?? [];
          const correct = outcomes.filter((parsed) => judge.score({ parsed, target, text }).value === 1).length;
          return { value: passAtK(outcomes.length, correct, args.k), details: { n: outcomes.length, c: correct, k: args.k } };
        },
      };
    },
  });
}
