import { manifestShape, describeTask, taskCoordinates, type ManifestShape } from '../core/manifest.js';
import { TaskKey } from '../core/task-key.js';
import { getExecutionState, getUsageSummary } from '../experiment/summary.js';
import { getTaskInput } from '../experiment/inspect.js';
import type { RunRecord, Store, StoredItem, TaskArtifacts, TaskFilter, TaskQuery, TaskSort } from '../spec/store.js';
import { STAGES, type StageIndex } from '../spec/stage.js';

/**
 * What the viewer's JSON API returns: the store's read queries, shaped for pages. Read-only: nothing here
 * writes (the store is opened read-only besides). Model output goes out as JSON strings, for the page to
 * show as text.
 */

/** A viewer request for something that does not exist: answered with a 404, never a stack. */
export class NotFound extends Error {}

/** An API request with a bad parameter: answered with a 400 naming it. */
export class BadRequest extends Error {}

const PREVIEW = 160;
const clip = (text: string) => (text.length > PREVIEW ? `${text.slice(0, PREVIEW)}…` : text);

export async function runOf(store: Store, runId: string): Promise<RunRecord> {
  const run = await store.getRun(runId);
  if (!run) throw new NotFound(`no run ${runId} in this store`);
  return run;
}

/** The runs page: every run with its progress and cost. */
export async function listRunsData(store: Store) {
  const runs = await store.listRuns();
  return Promise.all(
    runs.map(async (run) => {
      const state = await getExecutionState(store, run.runId);
      const { cost } = await getUsageSummary(store, run.runId);
      return {
        runId: run.runId,
        name: run.name,
        status: run.status,
        tasks: run.taskCount,
        done: state.done,
        failed: state.failed,
        cost: cost.total,
        createdAt: run.createdAt,
        updatedAt: run.updatedAt,
        models: run.snapshot.models.map((model) => model.id),
        importedFrom: run.provenance.origin?.file ?? null,
      };
    }),
  );
}

/** The counts of a run that change while it runs: stages, failures, usage and cost. */
export async function progressData(store: Store, runId: string) {
  const run = await runOf(store, runId);
  const [state, failures, usage] = await Promise.all([getExecutionState(store, runId), store.countFailures(runId), getUsageSummary(store, runId)]);
  return { status: run.status, updatedAt: run.updatedAt, state, failures, usage: usage.usage, cost: usage.cost };
}

/** The run page: identity, the grid's dimensions, and the live counts. */
export async function runData(store: Store, runId: string) {
  const run = await runOf(store, runId);
  return {
    runId: run.runId,
    name: run.name,
    createdAt: run.createdAt,
    taskCount: run.taskCount,
    models: run.snapshot.models.map((model) => model.id),
    prompts: run.snapshot.prompts.map((prompt) => prompt.id),
    datasets: run.snapshot.datasets.map((dataset) => ({ id: dataset.id, items: dataset.itemCount })),
    metrics: run.snapshot.metrics.map((metric) => String(metric.args.name ?? metric.id)),
    judges: run.snapshot.judges.map((judge) => judge.id),
    replicates: run.snapshot.replicates,
    samples: run.snapshot.samples,
    importedFrom: run.provenance.origin?.file ?? null,
    progress: await progressData(store, runId),
  };
}

function integer(params: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const text = params.get(name);
  if (text === null || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new BadRequest(`${name} must be a whole number from ${min} to ${max}, got '${text}'`);
  return value;
}

function number(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name);
  if (text === null || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new BadRequest(`${name} must be a number, got '${text}'`);
  return value;
}

/**
 * The task table's query from the page's URL parameters: model, prompt (ids), dataset, stage (a stage name or
 * `done`), failed (yes/no), category, score (a metric or judge.trait) with pass (yes/no), min, max; q (text);
 * sort (ord or a score name), desc; offset, limit.
 */
export function taskQueryOf(run: RunRecord, params: URLSearchParams): TaskQuery {
  const filter: { -readonly [K in keyof TaskFilter]: TaskFilter[K] } = {};
  const indexOf = (name: string, ids: readonly string[]) => {
    const id = params.get(name);
    if (!id) return undefined;
    const index = ids.indexOf(id);
    if (index < 0) throw new BadRequest(`${name} '${id}' is not one of this run's: ${ids.join(', ')}`);
    return index;
  };
  filter.modelIndex = indexOf('model', run.snapshot.models.map((model) => model.id));
  filter.promptIndex = indexOf('prompt', run.snapshot.prompts.map((prompt) => prompt.id));
  if (params.get('dataset')) filter.datasetId = params.get('dataset')!;
  const stage = params.get('stage');
  if (stage) {
    const index = stage === 'done' ? 5 : (STAGES as readonly string[]).indexOf(stage);
    if (index < 0) throw new BadRequest(`stage must be one of ${STAGES.join(', ')} or done, got '${stage}'`);
    filter.nextStage = index as StageIndex;
  }
  const yesNo = (name: string) => {
    const text = params.get(name);
    if (!text) return undefined;
    if (text !== 'yes' && text !== 'no') throw new BadRequest(`${name} must be yes or no, got '${text}'`);
    return text === 'yes';
  };
  filter.failed = yesNo('failed');
  if (params.get('category')) filter.failureCategory = params.get('category')!;
  const scoreName = params.get('score');
  const pass = yesNo('pass');
  const min = number(params, 'min');
  const max = number(params, 'max');
  if (scoreName) filter.score = { name: scoreName, ...(pass !== undefined ? { pass } : {}), ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
  else if (pass !== undefined || min !== undefined || max !== undefined) throw new BadRequest('pass, min and max need score (a metric or judge.trait name)');
  if (params.get('q')) filter.text = params.get('q')!;
  for (const key of Object.keys(filter) as (keyof TaskFilter)[]) if (filter[key] === undefined) delete filter[key];
  const sortBy = params.get('sort');
  const descending = yesNo('desc') ?? false;
  const sort: TaskSort = !sortBy || sortBy === 'ord' ? { by: 'ord', descending } : { by: 'score', name: sortBy, descending };
  return { filter, sort, offset: integer(params, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? 0, limit: integer(params, 'limit', 1, 500) ?? 50 };
}

function answerOf(artifacts: TaskArtifacts | undefined): string | null {
  if (!artifacts) return null;
  return artifacts.reduced?.text ?? artifacts.candidates.find((candidate) => candidate !== null)?.text ?? null;
}

/** The tasks page: one page of the run's tasks, each with its coordinates and the start of input and answer. */
export async function tasksData(store: Store, runId: string, params: URLSearchParams) {
  const run = await runOf(store, runId);
  const query = taskQueryOf(run, params);
  const started = performance.now();
  const page = await store.queryTasks(runId, query);
  const queryMs = performance.now() - started;
  const shape = manifestShape(run.snapshot);
  const itemOrds = [...new Set(page.rows.map((row) => taskCoordinates(shape, row.ord).itemOrd))];
  const [items, artifacts] = await Promise.all([store.loadItemsAt(runId, itemOrds), store.loadArtifacts(runId, page.rows.map((row) => row.ord))]);
  const rows = page.rows.map((row) => {
    const at = taskCoordinates(shape, row.ord);
    const item = items.get(at.itemOrd);
    return {
      ...row,
      key: item ? describeTask(shape, row.ord, item).key : String(row.ord),
      itemOrd: at.itemOrd,
      dataset: item?.datasetId ?? null,
      item: item?.itemId ?? null,
      model: shape.modelIds[at.modelIndex],
      prompt: shape.promptIds[at.promptIndex],
      replicate: at.replicate,
      input: item ? clip(item.input) : '',
      answer: ((text) => (text === null ? null : clip(text)))(answerOf(artifacts.get(row.ord))),
    };
  });
  return { query, rows, more: page.more, queryMs: Math.round(queryMs * 10) / 10 };
}

function checkOrd(run: RunRecord, text: string): number {
  const ord = Number(text);
  if (!Number.isInteger(ord) || ord < 0 || ord >= run.taskCount) throw new NotFound(`run ${run.runId} has no task ${text}`);
  return ord;
}

/** Everything about one task: item, prompt as sent, candidates, reduction, parse, scores, judgments, events. */
export async function taskData(store: Store, runId: string, ordText: string) {
  const run = await runOf(store, runId);
  const ord = checkOrd(run, ordText);
  const shape = manifestShape(run.snapshot);
  const at = taskCoordinates(shape, ord);
  const item = (await store.loadItemsAt(runId, [at.itemOrd])).get(at.itemOrd);
  if (!item) throw new NotFound(`run ${runId} has no item for task ${ord}`);
  const descriptor = describeTask(shape, ord, item);
  const [input, artifacts, events] = await Promise.all([getTaskInput(store, runId, descriptor), store.loadArtifacts(runId, [ord]), store.readTaskEvents(runId, ord)]);
  return {
    runId,
    runName: run.name,
    task: { ...descriptor, model: shape.modelIds[at.modelIndex], prompt: shape.promptIds[at.promptIndex] },
    item: { dataset: item.datasetId, id: item.itemId, input: item.input, target: item.target, fields: item.fields },
    promptAsSent: input.prompt,
    artifacts: artifacts.get(ord) ?? null,
    events,
  };
}

async function itemTasks(store: Store, run: RunRecord, shape: ManifestShape, item: StoredItem) {
  const ords = Array.from({ length: shape.perItem }, (_, index) => item.ord * shape.perItem + index);
  const artifacts = await store.loadArtifacts(run.runId, ords);
  return ords.map((ord) => {
    const at = taskCoordinates(shape, ord);
    const found = artifacts.get(ord);
    return {
      ord,
      key: describeTask(shape, ord, item).key,
      model: shape.modelIds[at.modelIndex]!,
      prompt: shape.promptIds[at.promptIndex]!,
      replicate: at.replicate,
      nextStage: found?.progress.nextStage ?? 0,
      failure: found?.progress.failure ?? null,
      answer: answerOf(found),
      parsed: found?.parsed ?? null,
      scores: { ...Object.fromEntries(Object.entries(found?.scores ?? {}).map(([name, score]) => [name, score.value])), ...Object.fromEntries((found?.judgments ?? []).flatMap((judgment) => Object.entries(judgment.scores).map(([name, score]) => [name, score.value]))) },
    };
  });
}

/** Side by side within a run: one item answered by every model, prompt and replicate of the run. */
export async function itemData(store: Store, runId: string, itemText: string) {
  const run = await runOf(store, runId);
  const itemOrd = Number(itemText);
  const shape = manifestShape(run.snapshot);
  const itemCount = run.taskCount / Math.max(1, shape.perItem);
  if (!Number.isInteger(itemOrd) || itemOrd < 0 || itemOrd >= itemCount) throw new NotFound(`run ${runId} has no item ${itemText}`);
  const item = (await store.loadItemsAt(runId, [itemOrd])).get(itemOrd);
  if (!item) throw new NotFound(`run ${runId} has no item ${itemText}`);
  return { runId, runName: run.name, item: { ord: itemOrd, dataset: item.datasetId, id: item.itemId, input: item.input, target: item.target }, tasks: await itemTasks(store, run, shape, item) };
}

/** Side by side across two runs: the same item (dataset and id) in run a and run b. */
export async function compareItemData(store: Store, runA: string, runB: string, itemText: string) {
  const left = await itemData(store, runA, itemText);
  const right = await runOf(store, runB);
  const shape = manifestShape(right.snapshot);
  // The item's position in run b, found by a task key of it (one indexed lookup).
  const key = TaskKey.format({ datasetId: left.item.dataset, itemId: left.item.id, modelId: shape.modelIds[0] ?? '', promptId: shape.promptIds[0] ?? '', replicate: 0 });
  const task = await store.getTask(runB, key);
  if (!task) throw new NotFound(`run ${runB} has no item ${left.item.dataset}/${left.item.id}`);
  const item = (await store.loadItemsAt(runB, [task.itemOrd])).get(task.itemOrd)!;
  return { a: left, b: { runId: runB, runName: right.name, item: { ord: task.itemOrd }, tasks: await itemTasks(store, right, shape, item) } };
}
