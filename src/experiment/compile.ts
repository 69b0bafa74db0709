import { metricName, type ExperimentConfig, type ModelConfig, type PromptConfig, type RuntimeConfig } from '../config/experiment-schema.js';
import type { ConfigSource } from '../config/config-file.js';
import { hashValue } from '../core/canonical-json.js';
import { ConfigError, DatasetError } from '../core/errors.js';
import { pipelineOf } from '../core/execution-state.js';
import { compileTemplate, missingVariable, TemplateError, type PromptTemplate } from '../core/prompt-template.js';
import { promptParts, type PromptParts } from '../core/prompt-render.js';
import { drawFewShot } from './few-shot.js';
import { createManifest, manifestShape, type Manifest, type ManifestShape } from '../core/manifest.js';
import { closest, formatPath } from '../config/zod-issue.js';
import { MissingColumnError, openDataset, type DatasetHandle, type DatasetItem, type ItemCheck, type LoadedDataset } from '../io/dataset-file.js';
import { itemTraitsOf } from '../judges/rubric.js';
import { findJudge, findMetric, findParser, findProvider, findReducer, pluginSpec } from '../registry.js';
import type { GenerationParams } from '../spec/model.js';
import { SNAPSHOT_FORMAT, SNAPSHOT_VERSION, type FewShotIdentity, type MessageIdentity, type ModelIdentity, type PromptIdentity, type RunSnapshot } from '../spec/snapshot.js';
import type { PipelineShape, TaskDescriptor } from '../spec/store.js';

/** A prompt of the config, compiled: its identity (as the snapshot holds it) and its templates. */
export interface CompiledPrompt extends PromptParts {
  readonly id: string;
  readonly identity: PromptIdentity;
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
  // `system` is written only when set: a model without one keeps the identity it always had.
  return { id: model.id, provider: model.provider, model: modelName, params: normalizeParams(model.params), options, ...(model.system !== undefined ? { system: model.system } : {}) };
}

/**
 * Compiles a validated config: loads its datasets, builds the snapshot (everything that changes results) and
 * hashes it into the run id. Runtime settings, paths and env values stay out of the snapshot.
 */
export function compileExperiment(config: ExperimentConfig, source: ConfigSource): CompiledRun {
  const entries = promptEntries(config);
  const templates = entries.map((entry) => compilePromptTemplates(entry, source));
  config.models.forEach((model, index) => {
    if (model.system !== undefined) compileAt(model.system, ['models', index, 'system'], source);
  });
  const check = itemCheck(entries.map((entry, index) => ({ id: entry.prompt.id, templates: [...templates[index]!.map((turn) => turn.template), ...modelSystemTemplates(config)] })), config);
  // Rows read now (not known from the cache) are checked as they are read, so a bad row is reported at once.
  const datasets = config.datasets.map((dataset, index) => {
    try {
      return openDataset(dataset, source.directory, check);
    } catch (error) {
      throw error instanceof MissingColumnError ? missingColumn(error, index, source) : error;
    }
  });
  const prompts = entries.map((entry, index): CompiledPrompt => {
    const fewShot = entry.prompt.fewShot ? drawFewShot(entry.prompt.fewShot, [...entry.path, 'fewShot'], config, datasets, source, templates[index]!.at(-1)!.template) : null;
    const identity = promptIdentity(entry.prompt.id, templates[index]!.map(({ role, content }) => ({ role, content })), fewShot);
    return { id: entry.prompt.id, identity, ...promptParts(identity) };
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
      fields: {
        input: dataset.config.input ?? 'question',
        target: dataset.config.target ?? (dataset.format === 'karenina' ? 'answer' : null),
        idField: dataset.config.idField ?? (dataset.format === 'karenina' ? 'id' : null),
        // Only when set: a dataset without choices keeps the identity it always had.
        ...(dataset.config.choices !== undefined ? { choices: dataset.config.choices } : {}),
      },
      targetParse: dataset.config.targetParse ? pluginSpec(findParser(dataset.config.targetParse.kind), dataset.config.targetParse) : null,
    })),
    models: config.models.map((model) => modelIdentity(model, source.directory)),
    evaluators: config.evaluators.map((model) => modelIdentity(model, source.directory)),
    prompts: prompts.map((prompt) => prompt.identity),
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

interface PromptEntry {
  readonly prompt: PromptConfig & { readonly id: string };
  /** Where the prompt is in the config. */
  readonly path: readonly (string | number)[];
}

function promptEntries(config: ExperimentConfig): PromptEntry[] {
  if (config.prompts) return config.prompts.map((prompt, index) => ({ prompt, path: ['prompts', index] }));
  return [{ prompt: { id: 'default', ...(config.prompt ?? { user: '{{input}}' }) }, path: ['prompt'] }];
}

/** A template compiled, or a ConfigError at its place in the config (an unknown filter). */
function compileAt(source: string, path: readonly (string | number)[], config: ConfigSource): PromptTemplate {
  try {
    return compileTemplate(source);
  } catch (error) {
    if (error instanceof TemplateError) throw new ConfigError(config.at(path), `${formatPath(path)}: ${error.message}`);
    throw error;
  }
}

/** A prompt's turns as written (system/user or messages), each with its compiled template. */
function compilePromptTemplates(entry: PromptEntry, source: ConfigSource): { role: MessageIdentity['role']; content: string; template: PromptTemplate }[] {
  const { prompt, path } = entry;
  if (prompt.messages) {
    return prompt.messages.map((message, index) => ({ ...message, template: compileAt(message.content, [...path, 'messages', index, 'content'], source) }));
  }
  const user = prompt.user!;
  return [
    ...(prompt.system !== undefined ? [{ role: 'system' as const, content: prompt.system, template: compileAt(prompt.system, [...path, 'system'], source) }] : []),
    { role: 'user' as const, content: user, template: compileAt(user, [...path, 'user'], source) },
  ];
}

function modelSystemTemplates(config: ExperimentConfig): PromptTemplate[] {
  return config.models.flatMap((model) => (model.system !== undefined ? [compileTemplate(model.system)] : []));
}

/**
 * A prompt's identity: a list of turns that is a system and a user turn, or a user turn alone, is identified
 * exactly as `system`/`user` prompts always were (so both spellings of one prompt share a run); any other
 * list is kept whole. `fewShot` is added only when the prompt has examples.
 */
export function promptIdentity(id: string, turns: readonly MessageIdentity[], fewShot: FewShotIdentity | null): PromptIdentity {
  const extra = fewShot ? { fewShot } : {};
  const [first, second] = turns;
  if (turns.length === 1 && first!.role === 'user') return { id, system: null, user: first!.content, ...extra };
  if (turns.length === 2 && first!.role === 'system' && second!.role === 'user') return { id, system: first!.content, user: second!.content, ...extra };
  return { id, messages: turns.map(({ role, content }) => ({ role, content })), ...extra };
}

/**
 * What every row must satisfy for this config: each prompt template finds its variables, and judges reading
 * rubric traits from the rows find valid ones. Applied to each row as it is read.
 */
function itemCheck(prompts: readonly { id: string; templates: readonly PromptTemplate[] }[], config: ExperimentConfig): ItemCheck | undefined {
  const templates = prompts.flatMap((prompt) => prompt.templates.filter((template) => template.variables.length > 0).map((template) => ({ prompt, template })));
  const traitJudges = config.judges.flatMap((judge) => {
    const path = (judge as { itemTraits?: string }).itemTraits;
    return path === undefined ? [] : [{ id: judge.id, path }];
  });
  if (templates.length === 0 && traitJudges.length === 0) return undefined;
  return (item, location) => {
    for (const { prompt, template } of templates) {
      const values = { input: item.input, id: item.itemId, fields: item.fields, fewShot: '' };
      const missing = missingVariable(template, values);
      if (missing !== undefined) {
        throw new DatasetError(location, `prompt '${prompt.id}' uses {{${missing}}}, which this row does not have`, { hint: 'add the field to every row or change the prompt template' });
      }
      try {
        template.render(values);
      } catch (error) {
        if (error instanceof TemplateError) throw new DatasetError(location, `prompt '${prompt.id}': ${error.message}`, { hint: 'shorten the list or format it another way' });
        throw error;
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

