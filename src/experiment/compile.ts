import { metricName, type ExperimentConfig, type ModelConfig, type RuntimeConfig } from '../config/experiment-schema.js';
import type { ConfigSource } from '../config/config-file.js';
import { hashValue } from '../core/canonical-json.js';
import { ConfigError, DatasetError } from '../core/errors.js';
import { pipelineOf } from '../core/execution-state.js';
import { compileTemplate, missingVariable, type PromptTemplate } from '../core/prompt-template.js';
import { createManifest, manifestShape, type Manifest, type ManifestShape } from '../core/manifest.js';
import { closest, formatPath } from '../config/zod-issue.js';
import { MissingColumnError, openDataset, type DatasetHandle, type DatasetItem, type ItemCheck, type LoadedDataset } from '../io/dataset-file.js';
import { itemTraitsOf } from '../judges/rubric.js';
import { findJudge, findMetric, findParser, findProvider, findReducer, pluginSpec } from '../registry.js';
import type { GenerationParams } from '../spec/model.js';
import { SNAPSHOT_FORMAT, SNAPSHOT_VERSION, type ModelIdentity, type PromptIdentity, type RunSnapshot } from '../spec/snapshot.js';
import type { PipelineShape, TaskDescriptor } from '../spec/store.js';

export interface CompiledPrompt extends PromptIdentity {
  readonly system: string | null;
  readonly systemTemplate: PromptTemplate | null;
  readonly userTemplate: PromptTemplate;
}

/** An experiment turned into a run: its identity, its items and a manifest of tasks derived from both. */
export interface CompiledRun {
  readonly runId: string;
  readonly name: string;
  readonly snapshot: RunSnapshot;
  readonly pipeline: PipelineShape;
  readonly datasets: readonly DatasetHandle[];
  readonly models: readonly ModelConfig[];
  readonly prompts: readonly CompiledPrompt[];
  readonly shape: ManifestShape;
  readonly taskCount: number;
  readonly runtime: RuntimeConfig;
  readonly source: ConfigSource;
  /** Things worth telling the user, from reading the datasets. */
  readonly warnings: readonly string[];
  /**
   * Items of every dataset, in manifest order, checked against the prompts and judges, read from the files
   * again on every call and never kept: a run is created from this stream.
   */
  streamItems(): Iterable<DatasetItem>;
  /** Reads and checks the rows of datasets known only from the cache (so a bad row is refused before anything is written). */
  validate(): void;
  /** Every item in memory (read once, kept): for tools and tests that index items by position. */
  items(): readonly DatasetItem[];
  /** The task manifest over `items()`. */
  manifest(): Manifest;
  /** Manifest position -> task. Tasks are item-major: every model, prompt and replicate of item 0, then item 1. */
  task(ord: number): TaskDescriptor;
  tasks(): Iterable<TaskDescriptor>;
}

function normalizeParams(params: Record<string, unknown>): GenerationParams {
  return params as GenerationParams;
}

export function modelIdentity(model: ModelConfig, directory: string): ModelIdentity {
  const provider = findProvider(model.provider);
  const { model: modelName, options } = provider.identity(model, { env: {}, directory });
  return { id: model.id, provider: model.provider, model: modelName, params: normalizeParams(model.params), options };
}

/**
 * Compiles a validated config: loads its datasets, builds the snapshot (everything that changes results) and
 * hashes it into the run id. Runtime settings, paths and env values stay out of the snapshot.
 */
export function compileExperiment(config: ExperimentConfig, source: ConfigSource): CompiledRun {
  const prompts = compilePrompts(config);
  const check = itemCheck(prompts, config);
  // Rows read now (not known from the cache) are checked as they are read, so a bad row is reported at once.
  const datasets = config.datasets.map((dataset, index) => {
    try {
      return openDataset(dataset, source.directory, check);
    } catch (error) {
      throw error instanceof MissingColumnError ? missingColumn(error, index, source) : error;
    }
  });
  const metrics = config.metrics ?? (datasets.every((dataset) => dataset.config.target !== undefined || dataset.format === 'karenina') ? [defaultMetric()] : []);
  checkTargets(metrics, datasets, source);

  const snapshot: RunSnapshot = {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    datasets: datasets.map((dataset) => ({
      id: dataset.config.id,
      fingerprint: dataset.identity.fingerprint,
      itemCount: dataset.identity.itemCount,
      fields: { input: dataset.config.input ?? 'question', target: dataset.config.target ?? (dataset.format === 'karenina' ? 'answer' : null), idField: dataset.config.idField ?? (dataset.format === 'karenina' ? 'id' : null) },
      targetParse: dataset.config.targetParse ? pluginSpec(findParser(dataset.config.targetParse.kind), dataset.config.targetParse) : null,
    })),
    models: config.models.map((model) => modelIdentity(model, source.directory)),
    evaluators: config.evaluators.map((model) => modelIdentity(model, source.directory)),
    prompts: prompts.map(({ id, system, user }) => ({ id, system, user })),
    samples: config.samples,
    replicates: config.replicates,
    seed: config.seed,
    reduce: pluginSpec(findReducer(config.reduce.kind), config.reduce),
    parse: pluginSpec(findParser(config.parse.kind), config.parse),
    metrics: metrics.map((metric) => pluginSpec(findMetric(metric.kind), metric)),
    judges: config.judges.map((judge) => pluginSpec(findJudge(judge.kind), judge)),
  };

  const shape = manifestShape(snapshot);
  let validated = datasets.every((dataset) => !dataset.deferred);
  const streamItems = function* (): Generator<DatasetItem> {
    // Rows not yet checked by this process are checked on the way.
    for (const dataset of datasets) yield* dataset.items(dataset.deferred && !validated ? check : undefined);
    validated = true;
  };
  let items: DatasetItem[] | undefined;
  let manifest: Manifest | undefined;
  const loadItems = () => (items ??= [...streamItems()]);
  const manifestOf = () => (manifest ??= createManifest(shape, loadItems()));
  return {
    runId: hashValue(snapshot),
    name: config.name,
    snapshot,
    pipeline: pipelineOf(snapshot),
    datasets,
    models: config.models,
    prompts,
    shape,
    taskCount: snapshot.datasets.reduce((sum, dataset) => sum + dataset.itemCount, 0) * shape.perItem,
    runtime: config.runtime,
    source,
    warnings: datasets.flatMap((dataset) => dataset.identity.warnings),
    streamItems,
    validate() {
      if (validated) return;
      for (const dataset of datasets) if (dataset.deferred) for (const _item of dataset.items(check));
      validated = true;
    },
    items: loadItems,
    manifest: manifestOf,
    task: (ord) => manifestOf().task(ord),
    tasks: () => manifestOf().tasks(),
  };
}

function compilePrompts(config: ExperimentConfig): CompiledPrompt[] {
  const entries = config.prompts ?? [{ id: 'default', ...(config.prompt ?? { user: '{{input}}' }) }];
  return entries.map((entry) => ({
    id: entry.id,
    system: entry.system ?? null,
    user: entry.user,
    systemTemplate: entry.system !== undefined ? compileTemplate(entry.system) : null,
    userTemplate: compileTemplate(entry.user),
  }));
}

/**
 * What every row must satisfy for this config: each prompt template finds its variables, and judges reading
 * rubric traits from the rows find valid ones. Applied to each row as it is read.
 */
function itemCheck(prompts: readonly CompiledPrompt[], config: ExperimentConfig): ItemCheck | undefined {
  const templates = prompts.flatMap((prompt) =>
    [prompt.systemTemplate, prompt.userTemplate].filter((template): template is PromptTemplate => template !== null && template.variables.length > 0).map((template) => ({ prompt, template })),
  );
  const traitJudges = config.judges.flatMap((judge) => {
    const path = (judge as { itemTraits?: string }).itemTraits;
    return path === undefined ? [] : [{ id: judge.id, path }];
  });
  if (templates.length === 0 && traitJudges.length === 0) return undefined;
  return (item, location) => {
    for (const { prompt, template } of templates) {
      const missing = missingVariable(template, { input: item.input, id: item.itemId, fields: item.fields });
      if (missing !== undefined) {
        throw new DatasetError(location, `prompt '${prompt.id}' uses {{${missing}}}, which this row does not have`, { hint: 'add the field to every row or change the prompt template' });
      }
    }
    for (const judge of traitJudges) {
      const traits = itemTraitsOf(item.fields, judge.path);
      if (typeof traits === 'string') throw new DatasetError(location, `judge '${judge.id}': ${traits}`, { hint: 'fix the item traits in the dataset' });
    }
  };
}

function defaultMetric(): { kind: string; name?: string } {
  return findMetric('exact-match').schema.parse({ kind: 'exact-match' }) as { kind: string; name: string };
}

function checkTargets(metrics: readonly { kind: string; name?: string }[], datasets: readonly Pick<LoadedDataset, 'config' | 'format'>[], source: ConfigSource): void {
  const needsTarget = metrics.filter((metric) => findMetric(metric.kind).requiresTarget);
  if (needsTarget.length === 0) return;
  const index = datasets.findIndex((dataset) => dataset.config.target === undefined && dataset.format !== 'karenina');
  if (index >= 0) {
    throw new ConfigError(source.at(['datasets', index]), `datasets[${index}]: metric '${metricName(needsTarget[0]!)}' compares answers with a target, but dataset '${datasets[index]!.config.id}' names no target field`, {
      hint: 'add target: <field> to the dataset',
    });
  }
}

/**
 * A field the config names that the dataset's first row does not have, reported at that config field:
 * `datasets[0].input: column 'questoin' is not in data/x.jsonl (line 1); columns: id, question, answer; did you mean 'question'?`
 */
function missingColumn(error: MissingColumnError, index: number, source: ConfigSource): ConfigError {
  const field = ['datasets', index, error.role] as const;
  const within = error.file !== null ? `${error.file} (${error.row})` : `the dataset's ${error.row}`;
  const columns = error.columns.length > 0 ? `columns: ${error.columns.join(', ')}` : 'the row has no columns';
  const suggestion = closest(error.column, error.columns.filter((column) => column !== error.column));
  return new ConfigError(source.at(field), `${formatPath(field)}: column '${error.column}' is not in ${within}; ${columns}${suggestion ? `; did you mean '${suggestion}'?` : ''}`, { cause: error });
}

