import { z } from 'zod';

/**
 * The shapes a bundle's header and records must have. A bundle is data from elsewhere: everything in it is
 * checked here, at the boundary, before any of it is believed (a checksum catches damage, not forgery).
 */

const json = z.unknown();
const finite = z.number().refine(Number.isFinite, 'not a finite number');
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const pluginSpecSchema = z.object({ id: z.string().min(1), version: z.string().min(1), args: z.record(z.string(), json) });

const modelIdentitySchema = z.object({
  id: z.string().min(1),
  provider: z.string().min(1),
  model: z.string(),
  params: z.record(z.string(), json),
  options: z.record(z.string(), json),
  system: z.string().optional(),
});

const fewShotSchema = z.object({
  source: z.enum(['dataset', 'file']),
  dataset: z.string().nullable(),
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  itemCount: count,
  k: z.number().int().min(1),
  seed: z.number().int(),
  format: z.enum(['turns', 'text']),
  examples: z.array(z.object({ id: z.string(), input: z.string(), target: json, fields: z.record(z.string(), json) })),
});

const messageSchema = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() });

/** A prompt: the system/user form, or a list of turns; either with few-shot examples. */
const promptSchema = z.union([
  z.object({ id: z.string().min(1), system: z.string().nullable(), user: z.string(), fewShot: fewShotSchema.optional() }),
  z.object({ id: z.string().min(1), messages: z.array(messageSchema).min(1), fewShot: fewShotSchema.optional() }),
]);

export const snapshotSchema = z.object({
  format: z.literal('assay.snapshot'),
  version: z.literal(1),
  datasets: z
    .array(
      z.object({
        id: z.string().min(1),
        fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
        itemCount: count,
        fields: z.object({ input: z.string().min(1), target: z.string().nullable(), idField: z.string().nullable(), choices: z.string().optional() }),
        targetParse: pluginSpecSchema.nullable(),
      }),
    )
    .min(1),
  models: z.array(modelIdentitySchema).min(1),
  evaluators: z.array(modelIdentitySchema),
  prompts: z.array(promptSchema).min(1),
  samples: z.number().int().min(1).max(1000),
  replicates: z.number().int().min(1).max(100_000),
  seed: z.number().int(),
  reduce: pluginSpecSchema,
  parse: pluginSpecSchema,
  metrics: z.array(pluginSpecSchema),
  judges: z.array(pluginSpecSchema),
});

export const headerSchema = z.object({
  format: z.literal('assay.bundle'),
  version: z.number(),
  kind: z.string(),
  runId: z.string().regex(/^[0-9a-f]{64}$/, 'not a run id (64 hex digits)'),
  name: z.string(),
  snapshot: snapshotSchema,
  provenance: z.record(z.string(), json),
  items: count,
  records: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  tool: z.string(),
});

export const itemSchema = z.object({
  type: z.literal('item'),
  ord: count,
  datasetId: z.string(),
  itemId: z.string(),
  input: z.string(),
  target: json,
  fields: z.record(z.string(), json),
});

const usageSchema = z.object({ inputTokens: count.nullable(), outputTokens: count.nullable() });
const attemptSchema = z.object({ attempt: count, category: z.string(), message: z.string(), status: z.number().optional(), delayMs: finite.optional(), at: z.string() });

const candidateSchema = z.object({
  text: z.string(),
  finishReason: z.object({ unified: z.string(), raw: z.string().nullable() }),
  usage: usageSchema,
  latencyMs: finite,
  raw: json.optional(),
  reusedFrom: z.string().optional(),
  failedAttempts: z.array(attemptSchema).optional(),
});

const scoreSchema = z.object({ value: finite, parts: z.record(z.string(), finite).optional(), details: z.record(z.string(), json).optional() });
const scoresSchema = z.record(z.string(), scoreSchema);

const judgmentSchema = z.object({
  judge: z.string(),
  kind: z.string(),
  executions: z.array(
    z.object({
      model: z.string(),
      prompt: z.object({ system: z.string().nullable(), user: z.string() }),
      rawResponse: z.string(),
      readAs: z.enum(['structured', 'json', 'labelled']),
      parsed: z.record(z.string(), json),
      abstained: z.boolean().optional(),
      swapped: z.boolean().optional(),
    }),
  ),
  scores: scoresSchema,
  aggregation: z.record(z.string(), json),
});

const task = z.string().min(1);

/** One schema per record kind: the artifact a bundle of that kind carries. */
export const RECORD_SCHEMAS = {
  generation: z.object({ type: z.literal('generation'), task, sample: count, candidate: candidateSchema }),
  reduction: z.object({
    type: z.literal('reduction'),
    task,
    reduced: z.object({ sources: z.array(count).min(1), text: z.string().optional(), details: z.record(z.string(), json).optional() }),
  }),
  parse: z.object({
    type: z.literal('parse'),
    task,
    outcome: z.union([
      z.object({ ok: z.literal(true), value: z.json(), details: z.record(z.string(), json).optional() }),
      z.object({ ok: z.literal(false), reason: z.string(), details: z.record(z.string(), json).optional() }),
    ]),
  }),
  score: z.object({ type: z.literal('score'), task, scores: scoresSchema }),
  evaluation: z.object({ type: z.literal('evaluation'), task, judgments: z.array(judgmentSchema), scores: scoresSchema }),
} as const;

/** The first problem zod found, as a short phrase: `snapshot.samples: expected a number`. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('').replace(/^\./, '');
  return `${path || 'the line'}: ${issue.message}`;
}
