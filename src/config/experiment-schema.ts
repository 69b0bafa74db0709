import { z } from 'zod';
import { registry } from '../registry.js';

const id = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\s]+$/, 'ids may not contain spaces');

function unionOf<Key extends string>(key: Key, definitions: readonly { schema: z.ZodType }[]) {
  return z.discriminatedUnion(key, definitions.map((definition) => definition.schema) as never);
}

export const parserEntrySchema = unionOf('kind', registry.parsers) as z.ZodType<{ kind: string } & Record<string, unknown>>;
export const metricEntrySchema = unionOf('kind', registry.metrics) as z.ZodType<{ kind: string; name?: string } & Record<string, unknown>>;
export const reducerEntrySchema = unionOf('kind', registry.reducers) as z.ZodType<{ kind: string } & Record<string, unknown>>;
export const judgeEntrySchema = unionOf('kind', registry.judges) as z.ZodType<{ kind: string; id: string } & Record<string, unknown>>;
export const modelEntrySchema = unionOf('provider', registry.providers) as z.ZodType<
  { id: string; provider: string; params: Record<string, unknown>; concurrency?: number; system?: string } & Record<string, unknown>
>;

export const datasetSchema = z
  .strictObject({
    id,
    /** A JSONL, CSV or JSON (array) file, relative to the config file. */
    path: z.string().min(1).optional(),
    /** Rows given inline (for TypeScript configs). */
    items: z.array(z.record(z.string(), z.unknown())).optional(),
    format: z.enum(['jsonl', 'csv', 'json', 'karenina']).optional(),
    /** Field (dotted path) holding the input (karenina checkpoints default to `question`). */
    input: z.string().min(1).optional(),
    /** Field (dotted path) holding the expected answer. */
    target: z.string().min(1).optional(),
    /**
     * Field (dotted path) holding a multiple-choice item's options: a target given as an option's text or
     * 0-based index is read as that option's letter (A, B, ...), as `{{choices | letters}}` writes them.
     */
    choices: z.string().min(1).optional(),
    /** Field (dotted path) holding a stable id; otherwise a content hash of the row. */
    idField: z.string().min(1).optional(),
    /** Use only the first N rows. */
    limit: z.number().int().positive().optional(),
    /** A parser applied to every target before scoring (e.g. the number after "####"). */
    targetParse: parserEntrySchema.optional(),
  })
  .refine((dataset) => (dataset.path === undefined) !== (dataset.items === undefined), {
    error: 'give exactly one of path (a file) or items (inline rows)',
  })
  .refine((dataset) => dataset.input !== undefined || dataset.format === 'karenina' || dataset.path?.toLowerCase().endsWith('.jsonld'), {
    error: 'name the field holding the input with input: <field>',
    path: ['input'],
  });

/** One chat turn of a prompt: its content is a template rendered for every item. */
export const messageSchema = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().min(1),
});

/** Examples shown before each item, drawn once (seeded) from a dataset of the config or a file. */
export const fewShotSchema = z.strictObject({
  /** The id of a dataset of this config, or else a JSONL/CSV/JSON file (relative to the config file). */
  from: z.string().min(1),
  /** How many examples each item is shown. */
  k: z.number().int().min(1).max(64),
  /** Which examples are drawn: the same seed draws the same ones. */
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
  /** `turns`: user/assistant turns before the item's; `text`: one text block placed by `{{fewShot}}`. */
  format: z.enum(['turns', 'text']).default('turns'),
  /** For a file: the fields holding input, target and id (default: those of the config's first dataset). */
  input: z.string().min(1).optional(),
  target: z.string().min(1).optional(),
  idField: z.string().min(1).optional(),
});

const promptShape = {
  system: z.string().optional(),
  user: z.string().min(1).optional(),
  /** Chat turns instead of system/user: at most one system turn (first), ending with the user's turn. */
  messages: z.array(messageSchema).min(1).optional(),
  fewShot: fewShotSchema.optional(),
};

const FEW_SHOT_PLACEHOLDER = /\{\{\s*fewShot\s*\}\}/;

/** The rules a prompt's fields obey together (a prompt is system/user or messages, never both). */
function checkPrompt(prompt: z.output<z.ZodObject<typeof promptShape>>, context: z.core.$RefinementCtx): void {
  if (prompt.messages !== undefined) {
    if (prompt.user !== undefined || prompt.system !== undefined) {
      context.addIssue({ code: 'custom', path: [prompt.user !== undefined ? 'user' : 'system'], message: 'give either messages or system/user, not both' });
    }
    const last = prompt.messages.length - 1;
    prompt.messages.forEach((message, index) => {
      if (message.role === 'system' && index > 0) context.addIssue({ code: 'custom', path: ['messages', index, 'role'], message: 'a system message may only be the first message' });
    });
    if (prompt.messages[last]!.role !== 'user') context.addIssue({ code: 'custom', path: ['messages', last, 'role'], message: 'the last message must be the user\'s (role: user), the turn the model answers' });
  } else if (prompt.user === undefined) {
    context.addIssue({ code: 'custom', path: ['user'], message: 'is required (a template such as "{{input}}"), or give messages: [...]' });
  }
  const templates = prompt.messages ? prompt.messages.map((message) => message.content) : [prompt.system ?? '', prompt.user ?? ''];
  const placed = templates.some((template) => FEW_SHOT_PLACEHOLDER.test(template));
  if (prompt.fewShot?.format === 'text' && !placed) {
    context.addIssue({ code: 'custom', path: ['fewShot', 'format'], message: 'format text needs {{fewShot}} in a template, where the examples go' });
  }
  if (prompt.fewShot?.format !== 'text' && placed) {
    context.addIssue({ code: 'custom', path: ['fewShot'], message: '{{fewShot}} places few-shot examples as text: add fewShot: { from, k, format: text }' });
  }
}

export const promptSchema = z.strictObject(promptShape).superRefine(checkPrompt);
export const namedPromptSchema = z.strictObject({ ...promptShape, id }).superRefine(checkPrompt);

export const runtimeSchema = z.strictObject({
  /** Model calls in flight at once, across all models. */
  concurrency: z.number().int().min(1).max(10_000).default(32),
  /** SQLite store file, relative to the config file. */
  store: z.string().min(1).optional(),
  /** Per-request timeout. */
  timeoutMs: z.number().int().min(100).default(120_000),
  /** Attempts per model call, including the first. */
  maxAttempts: z.number().int().min(1).max(50).default(5),
  retryBaseDelayMs: z.number().int().min(0).default(500),
  retryMaxDelayMs: z.number().int().min(0).default(60_000),
  /** After the first Ctrl+C, how long in-flight calls may take to finish before they are cancelled. */
  gracePeriodMs: z.number().int().min(0).default(30_000),
  /** How long a claimed task stays leased to a process that stops heartbeating. */
  leaseMs: z.number().int().min(1_000).default(300_000),
  /** The most the run may cost in all (USD, every session and model role); calls that could pass it are not made. */
  maxCostUsd: z.number().positive().optional(),
  /**
   * Stop calling a model whose last this-many calls all failed with a connection, authentication or
   * not-found error while none has succeeded (a server that is down, a wrong key or URL): the run stops with
   * the error quoted instead of failing every task. 0 never stops.
   */
  stopAfterFailures: z.number().int().min(0).default(10),
});

export const experimentSchema = z
  .strictObject({
    name: z.string().min(1),
    description: z.string().optional(),
    datasets: z.array(datasetSchema).min(1),
    models: z.array(modelEntrySchema).min(1),
    /** Models that read answers: parsing models, judges, best-of choosers. They get no tasks of their own. */
    evaluators: z.array(modelEntrySchema).default([]),
    prompt: promptSchema.optional(),
    prompts: z.array(namedPromptSchema).min(1).optional(),
    samples: z.number().int().min(1).max(1000).default(1),
    replicates: z.number().int().min(1).max(1000).default(1),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
    reduce: reducerEntrySchema.prefault({ kind: 'first' }),
    parse: parserEntrySchema.prefault({ kind: 'exact-text' }),
    /** Default: exact-match when every dataset has a target, none otherwise. */
    metrics: z.array(metricEntrySchema).optional(),
    judges: z.array(judgeEntrySchema).default([]),
    runtime: runtimeSchema.prefault({}),
  })
  .superRefine((config, context) => {
    if (config.prompt && config.prompts) {
      context.addIssue({ code: 'custom', path: ['prompts'], message: 'give either prompt or prompts, not both' });
    }
    const unique = (values: readonly string[], path: (index: number) => (string | number)[], what: string, from = 0) => {
      const seen = new Set<string>();
      values.forEach((value, index) => {
        if (seen.has(value) && index >= from) context.addIssue({ code: 'custom', path: path(index), message: `duplicate ${what} '${value}'` });
        seen.add(value);
      });
    };
    unique(config.datasets.map((dataset) => dataset.id), (index) => ['datasets', index, 'id'], 'dataset id');
    unique(config.models.map((model) => model.id), (index) => ['models', index, 'id'], 'model id');
    unique(
      [...config.models, ...config.evaluators].map((model) => model.id),
      (index) => (index < config.models.length ? ['models', index, 'id'] : ['evaluators', index - config.models.length, 'id']),
      'model id (models and evaluators share one namespace)',
      config.models.length, // a duplicate among the models alone is reported once, above
    );
    unique(config.judges.map((judge) => judge.id), (index) => ['judges', index, 'id'], 'judge id');
    const evaluatorIds = new Set(config.evaluators.map((model) => model.id));
    const answeringIds = new Set(config.models.map((model) => model.id));
    const needEvaluator = (id: unknown, path: (string | number)[]) => {
      if (typeof id === 'string' && !evaluatorIds.has(id)) {
        context.addIssue({ code: 'custom', path, message: `no evaluator model '${id}'; declare it under evaluators:` });
      }
    };
    if (config.parse.kind === 'template') needEvaluator(config.parse.model, ['parse', 'model']);
    if (config.reduce.kind === 'best-of') needEvaluator(config.reduce.model, ['reduce', 'model']);
    config.judges.forEach((judge, index) => {
      ((judge.models as string[] | undefined) ?? []).forEach((model, position) => needEvaluator(model, ['judges', index, 'models', position]));
      const against = judge.against as { model?: string } | string | undefined;
      if (typeof against === 'object' && against.model !== undefined && !answeringIds.has(against.model)) {
        context.addIssue({ code: 'custom', path: ['judges', index, 'against', 'model'], message: `no answering model '${against.model}' to compare with` });
      }
    });
    config.datasets.forEach((dataset, index) => {
      if (dataset.targetParse?.kind === 'template') {
        context.addIssue({ code: 'custom', path: ['datasets', index, 'targetParse', 'kind'], message: 'targets are parsed without a model; use after-marker, regex, json, ...' });
      }
    });
    (config.metrics ?? []).forEach((metric, index) => {
      if (metric.kind === 'pass-at-k' && (metric.k as number) > config.samples) {
        context.addIssue({ code: 'custom', path: ['metrics', index, 'k'], message: `pass@${String(metric.k)} needs samples >= ${String(metric.k)} (samples is ${config.samples})` });
      }
    });
    unique((config.prompts ?? []).map((prompt) => prompt.id), (index) => ['prompts', index, 'id'], 'prompt id');
    config.evaluators.forEach((model, index) => {
      if (model.system !== undefined) context.addIssue({ code: 'custom', path: ['evaluators', index, 'system'], message: 'system replaces the prompt of an answering model\'s tasks; evaluators take their prompts from the parser, reducer or judge' });
    });
    unique((config.metrics ?? []).map(metricName), (index) => ['metrics', index, 'name'], 'metric name');
  });

/** The name a metric's scores are reported under (pass@k metrics default to `pass@k`). */
export function metricName(metric: { kind: string; name?: unknown; k?: unknown }): string {
  if (typeof metric.name === 'string') return metric.name;
  return metric.kind === 'pass-at-k' ? `pass@${String(metric.k)}` : metric.kind;
}

/** What a config file or `defineExperiment` accepts. */
export type ExperimentInput = z.input<typeof experimentSchema>;
/** A validated config, defaults filled in. */
export type ExperimentConfig = z.output<typeof experimentSchema>;
export type DatasetConfig = z.output<typeof datasetSchema>;
export type RuntimeConfig = z.output<typeof runtimeSchema>;
export type PromptConfig = z.output<typeof promptSchema>;
export type FewShotConfig = z.output<typeof fewShotSchema>;
export type ModelConfig = ExperimentConfig['models'][number];
