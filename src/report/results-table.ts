import { createWriteStream, rmSync } from 'node:fs';
import { once } from 'node:events';
import { UserError } from '../core/errors.js';
import { describeTask, manifestShape, taskCoordinates } from '../core/manifest.js';
import { promptParts, promptText, renderPrompt, type PromptParts } from '../core/prompt-render.js';
import { compileTemplate, type PromptTemplate } from '../core/prompt-template.js';
import type { ChatMessage } from '../spec/model.js';
import { storedPriceBook } from '../experiment/summary.js';
import { stageName } from '../spec/stage.js';
import type { Store, StoredItem, TaskArtifacts } from '../spec/store.js';
import { syncAndRename } from '../stores/files/progressive-save.js';
import { csvRow } from './csv-row.js';

export type ResultsFormat = 'csv' | 'json' | 'jsonl';

export interface ResultsOptions {
  readonly format: ResultsFormat;
  /** Only tasks of these models / datasets (ids); all when empty. */
  readonly models?: readonly string[];
  readonly datasets?: readonly string[];
  /** Only tasks that failed. */
  readonly failed?: boolean;
}

/** Tasks read per page: a few thousand artifacts in memory at a time, whatever the run's size. */
const PAGE = 2_000;

/** The fixed columns of a results row, before one column per score. */
export const RESULT_COLUMNS = [
  'task', 'dataset', 'item', 'model', 'prompt', 'replicate', 'stage', 'input', 'target', 'rendered_prompt', 'answer', 'parsed',
] as const;
/** The columns after the scores. */
export const RESULT_TAIL_COLUMNS = ['failure_stage', 'failure_category', 'failure_message', 'input_tokens', 'output_tokens', 'cost_usd', 'latency_ms'] as const;

/** One task's row, as JSON (`--format json|jsonl`); CSV flattens it into the columns above. */
export interface ResultRow {
  readonly task: string;
  readonly dataset: string;
  readonly item: string;
  readonly model: string;
  readonly prompt: string;
  readonly replicate: number;
  /** The stage the task is at next (`done` when finished). */
  readonly stage: string;
  readonly input: string;
  readonly target: unknown;
  /**
   * The prompt as sent to the answering model: system and user, rendered for this item; `messages` is the
   * whole conversation when it was more than those two (chat turns, few-shot examples).
   */
  readonly renderedPrompt: { readonly system: string | null; readonly user: string; readonly messages?: readonly ChatMessage[] };
  /** The reduced answer (the text scored), or null before reduce. */
  readonly answer: string | null;
  /** The parsed value, or null (with `unparseable` the parser's reason). */
  readonly parsed: unknown;
  readonly unparseable: string | null;
  /** Every metric and judge score by name (`metric`, `metric.part`, `judge.trait`). */
  readonly scores: Readonly<Record<string, number>>;
  readonly failure: { readonly stage: string; readonly category: string; readonly message: string } | null;
  /** Answering calls of this task (every sample): tokens, USD (null without a price), latency in ms. */
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cost: number | null;
  readonly latencyMs: number | null;
}

function scoresOf(artifacts: TaskArtifacts | undefined): Record<string, number> {
  const scores: Record<string, number> = {};
  const add = (record: Readonly<Record<string, { value: number; parts?: Readonly<Record<string, number>> }>> | null | undefined) => {
    for (const [name, score] of Object.entries(record ?? {})) {
      scores[name] = score.value;
      for (const [part, value] of Object.entries(score.parts ?? {})) scores[`${name}.${part}`] = value;
    }
  };
  add(artifacts?.scores);
  for (const judgment of artifacts?.judgments ?? []) add(judgment.scores);
  return scores;
}

function cell(value: unknown): string | number {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? value : '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/**
 * Writes one row per task of a stored run (every task, or those the filters keep), streaming: tasks are read a
 * page at a time in manifest order with their items, so memory stays flat on a run of any size. Writes to a
 * partial file renamed into place (`out`), or to `write` (stdout).
 */
export async function writeResults(store: Store, runId: string, options: ResultsOptions, target: { out: string } | { write: (text: string) => Promise<void> }): Promise<{ rows: number }> {
  const run = await store.getRun(runId);
  if (!run) throw new UserError('run_not_found', `no run ${runId} in store ${store.location}`);
  const shape = manifestShape(run.snapshot);
  for (const model of options.models ?? []) {
    if (!shape.modelIds.includes(model)) throw new UserError('unknown_model', `--model ${model} is not a model of this run`, { hint: `its models are: ${shape.modelIds.join(', ')}` });
  }
  const datasetIds = run.snapshot.datasets.map((dataset) => dataset.id);
  for (const dataset of options.datasets ?? []) {
    if (!datasetIds.includes(dataset)) throw new UserError('unknown_dataset', `--dataset ${dataset} is not a dataset of this run`, { hint: `its datasets are: ${datasetIds.join(', ')}` });
  }
  const keepModel = options.models?.length ? new Set(options.models.map((model) => shape.modelIds.indexOf(model))) : null;
  const keepDataset = options.datasets?.length ? new Set(options.datasets) : null;
  const prices = await storedPriceBook(run);
  const templates = run.snapshot.prompts.map(promptParts);
  const modelSystems = run.snapshot.models.map((model) => (model.system !== undefined ? compileTemplate(model.system) : null));
  // Score columns: every name the store's totals know, in a stable order.
  const scoreNames = [...new Set((await store.getScoreTotals(runId)).map((row) => row.metric))].sort();

  let partial: string | null = null;
  let stream: ReturnType<typeof createWriteStream> | null = null;
  let write: (text: string) => Promise<void>;
  if ('out' in target) {
    partial = `${target.out}.${process.pid}.partial`;
    const file = createWriteStream(partial);
    stream = file;
    write = async (text) => {
      if (!file.write(text)) await once(file, 'drain');
    };
  } else write = target.write;

  let rows = 0;
  try {
    if (options.format === 'csv') await write(csvRow([...RESULT_COLUMNS, ...scoreNames, ...RESULT_TAIL_COLUMNS]));
    if (options.format === 'json') await write('[\n');
    for (let start = 0; start < run.taskCount; start += PAGE) {
      const ords: number[] = [];
      const itemOrds = new Set<number>();
      for (let ord = start; ord < Math.min(run.taskCount, start + PAGE); ord++) {
        const coordinates = taskCoordinates(shape, ord);
        if (keepModel && !keepModel.has(coordinates.modelIndex)) continue;
        ords.push(ord);
        itemOrds.add(coordinates.itemOrd);
      }
      if (ords.length === 0) continue;
      const [artifacts, items] = await Promise.all([store.loadArtifacts(runId, ords), store.loadItemsAt(runId, [...itemOrds])]);
      const chunk: string[] = [];
      for (const ord of ords) {
        const coordinates = taskCoordinates(shape, ord);
        const item = items.get(coordinates.itemOrd) as StoredItem;
        if (keepDataset && !keepDataset.has(item.datasetId)) continue;
        const found = artifacts.get(ord);
        const progress = found?.progress;
        if (options.failed && !progress?.failed) continue;
        const row = toRow(describeTask(shape, ord, item).key, run.snapshot.models[coordinates.modelIndex]!.id, run.snapshot.prompts[coordinates.promptIndex]!.id, coordinates.replicate, item, found, { parts: templates[coordinates.promptIndex]!, system: modelSystems[coordinates.modelIndex]! }, prices);
        rows++;
        if (options.format === 'csv') {
          chunk.push(
            csvRow([
              row.task, row.dataset, row.item, row.model, row.prompt, row.replicate, row.stage, row.input, cell(row.target),
              promptText({ ...(row.renderedPrompt.system !== null ? { system: row.renderedPrompt.system } : {}), prompt: row.renderedPrompt.user, ...(row.renderedPrompt.messages ? { messages: row.renderedPrompt.messages } : {}) }),
              row.answer ?? '', row.unparseable !== null ? '' : cell(row.parsed),
              ...scoreNames.map((name) => cell(row.scores[name])),
              row.failure?.stage ?? '', row.failure?.category ?? '', row.failure?.message ?? '',
              row.inputTokens, row.outputTokens, cell(row.cost), cell(row.latencyMs),
            ]),
          );
        } else if (options.format === 'jsonl') chunk.push(`${JSON.stringify(row)}\n`);
        else chunk.push(`${rows > 1 ? ',\n' : ''}${JSON.stringify(row)}`);
      }
      await write(chunk.join(''));
    }
    if (options.format === 'json') await write('\n]\n');
    if (stream && partial) {
      stream.end();
      await once(stream, 'close');
      syncAndRename(partial, (target as { out: string }).out);
    }
  } catch (error) {
    stream?.destroy();
    if (partial) rmSync(partial, { force: true });
    throw error;
  }
  return { rows };
}

function toRow(
  key: string,
  model: string,
  prompt: string,
  replicate: number,
  item: StoredItem,
  found: TaskArtifacts | undefined,
  template: { parts: PromptParts; system: PromptTemplate | null },
  prices: Awaited<ReturnType<typeof storedPriceBook>>,
): ResultRow {
  const candidates = (found?.candidates ?? []).filter((candidate) => candidate !== null);
  // What this task paid for: answers reused from another run cost it nothing.
  const paid = candidates.filter((candidate) => !candidate!.reusedFrom);
  const inputTokens = paid.reduce((sum, candidate) => sum + (candidate!.usage.inputTokens ?? 0), 0);
  const outputTokens = paid.reduce((sum, candidate) => sum + (candidate!.usage.outputTokens ?? 0), 0);
  const parsed = found?.parsed ?? null;
  const progress = found?.progress;
  const failure = progress?.failed && progress.failure ? { stage: progress.failure.stage, category: progress.failure.category, message: progress.failure.message } : null;
  return {
    task: key,
    dataset: item.datasetId,
    item: item.itemId,
    model,
    prompt,
    replicate,
    stage: stageName(progress?.nextStage ?? 0),
    input: item.input,
    target: item.target,
    renderedPrompt: renderedFor(renderPrompt(template.parts, item, template.system)),
    answer: found?.reduced?.text ?? null,
    parsed: parsed?.ok ? parsed.value : null,
    unparseable: parsed && !parsed.ok ? parsed.reason : null,
    scores: scoresOf(found),
    failure,
    inputTokens,
    outputTokens,
    cost: paid.length === 0 ? 0 : prices.cost(model, { inputTokens, outputTokens }),
    latencyMs: candidates.length > 0 ? candidates.reduce((sum, candidate) => sum + candidate!.latencyMs, 0) : null,
  };
}

function renderedFor(rendered: ReturnType<typeof renderPrompt>): ResultRow['renderedPrompt'] {
  return { system: rendered.system ?? null, user: rendered.prompt, ...(rendered.messages ? { messages: rendered.messages } : {}) };
}
