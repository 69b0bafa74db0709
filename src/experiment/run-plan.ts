import { dirname } from 'node:path';
import { modelEntrySchema, type ModelConfig, type RuntimeConfig, runtimeSchema } from '../config/experiment-schema.js';
import { canonicalJson } from '../core/canonical-json.js';
import { InternalError, UserError } from '../core/errors.js';
import { pipelineOf } from '../core/execution-state.js';
import { PriceBook, type Price } from '../core/cost.js';
import { manifestShape, type ManifestShape } from '../core/manifest.js';
import { promptParts } from '../core/prompt-render.js';
import type { EngineInput } from '../engine/run-engine.js';
import type { CallableModel } from '../engine/model-caller.js';
import { createJudge, createMetric, createParser, createReducer, findProvider } from '../registry.js';
import type { PromptParts } from '../stages/generate.js';
import type { Parser } from '../spec/parser.js';
import type { PluginSpec } from '../spec/plugin.js';
import type { ModelIdentity, RunSnapshot } from '../spec/snapshot.js';
import { stageIndex, type Stage } from '../spec/stage.js';
import type { PipelineShape, Store } from '../spec/store.js';
import { modelIdentity, type CompiledRun } from './compile.js';

/**
 * Everything needed to execute a run, whether it was compiled from a config file or reopened from a store
 * with nothing but its id.
 */
export interface RunPlan {
  readonly runId: string;
  readonly name: string;
  readonly snapshot: RunSnapshot;
  readonly pipeline: PipelineShape;
  readonly shape: ManifestShape;
  readonly taskCount: number;
  readonly prompts: readonly PromptParts[];
  /** Answering models' config entries, in snapshot order. */
  readonly models: readonly ModelConfig[];
  readonly evaluators: readonly ModelConfig[];
  readonly runtime: RuntimeConfig;
  /** Relative paths in model configs resolve against this. */
  readonly directory: string;
}

export function planFromCompiled(compiled: CompiledRun, models: readonly ModelConfig[], evaluators: readonly ModelConfig[]): RunPlan {
  return {
    runId: compiled.runId,
    name: compiled.name,
    snapshot: compiled.snapshot,
    pipeline: compiled.pipeline,
    shape: compiled.shape,
    taskCount: compiled.taskCount,
    prompts: compiled.prompts,
    models,
    evaluators,
    runtime: compiled.runtime,
    directory: compiled.source.directory,
  };
}

/** Where the models of a reopened run come from when not from what the store recorded: a config the user gives. */
export interface ModelSource {
  readonly path: string;
  readonly models: readonly ModelConfig[];
  readonly evaluators: readonly ModelConfig[];
  readonly runtime: RuntimeConfig;
  readonly directory: string;
}

/**
 * Reopens a stored run from the store alone: items, prompts and plugins from the snapshot; models from a
 * config the user gives (`from`, checked against the snapshot's identities), or else from the identity plus
 * the transport a local `assay run` recorded. A run imported from a bundle has no usable transport (a bundle
 * is data, not instructions): its models must come from a config; `needed` says which the work needs.
 */
export async function planFromStore(
  store: Store,
  runId: string,
  options: { from?: ModelSource; needs?: (snapshot: RunSnapshot) => ReadonlySet<string>; purpose?: string } = {},
): Promise<RunPlan> {
  const run = await store.getRun(runId);
  if (!run) throw new UserError('run_not_found', `no run ${runId} in store ${store.location}`);
  const { snapshot, provenance } = run;
  const imported = provenance.origin?.kind === 'bundle';
  const from = options.from;
  const given = from ? new Map([...from.models, ...from.evaluators].map((config) => [config.id, config])) : null;
  const missing = imported && !from ? [...(options.needs?.(snapshot) ?? [])] : [];
  if (missing.length > 0) {
    throw new UserError('models_from_config', `run ${runId.slice(0, 12)} was imported from a bundle (${provenance.origin!.file}), whose transport settings are never used to make calls; ${options.purpose ?? 'this'} needs model(s) ${missing.map((id) => `'${id}'`).join(', ')}`, {
      hint: 'pass --config FILE with those models (checked against the run), or run the experiment config itself',
    });
  }
  const restore = (identity: ModelIdentity): ModelConfig => {
    if (given) return matchingModel(identity, given, from!, runId);
    // An imported run's models that the work does not need are never built (nothing would say where to call).
    if (imported) return unavailableModel(identity);
    const raw = findProvider(identity.provider).restore(identity, provenance.transport[identity.id] ?? {});
    return modelEntrySchema.parse(raw) as ModelConfig;
  };
  const recorded = imported ? {} : provenance.runtime;
  const runtime = from
    ? from.runtime
    : runtimeSchema.parse(Object.fromEntries(Object.entries(recorded).filter(([key]) => key in runtimeSchema.shape && key !== 'store')));
  return {
    runId,
    name: run.name,
    snapshot,
    pipeline: pipelineOf(snapshot),
    shape: manifestShape(snapshot),
    taskCount: run.taskCount,
    prompts: snapshot.prompts.map(promptParts),
    models: snapshot.models.map(restore),
    evaluators: snapshot.evaluators.map(restore),
    runtime,
    directory: from ? from.directory : provenance.configPath ? dirname(provenance.configPath) : process.cwd(),
  };
}

/** The config's model for a stored identity, refused unless it is the same model (provider, name, parameters, options). */
function matchingModel(identity: ModelIdentity, given: ReadonlyMap<string, ModelConfig>, from: ModelSource, runId: string): ModelConfig {
  const config = given.get(identity.id);
  if (!config) throw new UserError('model_mismatch', `${from.path} has no model '${identity.id}', which run ${runId.slice(0, 12)} uses`, { hint: `add '${identity.id}' to its models or evaluators` });
  const actual = modelIdentity(config, from.directory);
  const differs = (['provider', 'model', 'params', 'options', 'system'] as const).filter((field) => canonicalJson(actual[field] ?? null) !== canonicalJson(identity[field] ?? null));
  if (differs.length > 0) {
    throw new UserError('model_mismatch', `model '${identity.id}' in ${from.path} is not the model run ${runId.slice(0, 12)} was made with (its ${differs.join(', ')} differ)`, {
      hint: 'use the config the run was made with',
    });
  }
  return config;
}

/** Marks a model that must not be built: an imported run's model whose transport nobody has given. */
const UNAVAILABLE = Symbol('unavailable');

function unavailableModel(identity: ModelIdentity): ModelConfig {
  return { id: identity.id, provider: identity.provider, model: identity.model, params: identity.params, [UNAVAILABLE]: true } as unknown as ModelConfig;
}

/** A model that refuses every call: what an imported run's unneeded models are built as. */
function refusingModel(config: ModelConfig): CallableModel {
  return {
    model: {
      specificationVersion: 'assay.model.v1',
      id: config.id,
      provider: config.provider,
      modelName: config.id,
      doGenerate: () => Promise.reject(new InternalError(`model '${config.id}' came from a bundle and has no transport; it cannot be called`)),
    },
    params: config.params,
    concurrency: undefined,
  };
}

/**
 * The evaluator models the stages from `stage` on use: those whose id a reducer, parser, metric or judge at
 * or after that stage names in its arguments. A replay never calls an answering model.
 */
export function evaluatorsUsedFrom(snapshot: RunSnapshot, stage: Stage): Set<string> {
  const ids = new Set(snapshot.evaluators.map((identity) => identity.id));
  const from = stageIndex(stage);
  const specs: PluginSpec[] = [
    ...(from <= stageIndex('reduce') ? [snapshot.reduce] : []),
    ...(from <= stageIndex('parse') ? [snapshot.parse] : []),
    ...(from <= stageIndex('score') ? [...snapshot.metrics, ...snapshot.datasets.flatMap((dataset) => (dataset.targetParse ? [dataset.targetParse] : []))] : []),
    ...snapshot.judges,
  ];
  const used = new Set<string>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      if (ids.has(value)) used.add(value);
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(visit);
  };
  for (const spec of specs) visit(spec.args);
  return used;
}

function callable(config: ModelConfig, env: Readonly<Record<string, string | undefined>>, directory: string): CallableModel {
  if ((config as unknown as Record<symbol, unknown>)[UNAVAILABLE]) return refusingModel(config);
  const settings = config as ModelConfig & { adaptiveConcurrency?: boolean; rateLimit?: CallableModel['rateLimit'] };
  return {
    model: findProvider(config.provider).create(config, { env, directory }),
    params: config.params,
    concurrency: config.concurrency,
    adaptiveConcurrency: settings.adaptiveConcurrency ?? true,
    rateLimit: settings.rateLimit,
  };
}

/** Prices for every model of a plan (config first, then the maintained table). */
export function priceBook(plan: Pick<RunPlan, 'snapshot' | 'models' | 'evaluators'>): Promise<PriceBook> {
  const configs = new Map([...plan.models, ...plan.evaluators].map((config) => [config.id, config as ModelConfig & { price?: Price }]));
  return PriceBook.for(
    [...plan.snapshot.models, ...plan.snapshot.evaluators].map((identity) => ({ id: identity.id, provider: identity.provider, model: identity.model, price: configs.get(identity.id)?.price ?? null })),
  );
}

/** Builds every model before anything touches a store, so a missing key fails with nothing written. */
export function buildModels(plan: RunPlan, env: Readonly<Record<string, string | undefined>>) {
  const models = plan.models.map((config) => callable(config, env, plan.directory));
  const evaluators = new Map(plan.evaluators.map((config) => [config.id, callable(config, env, plan.directory)]));
  return { models, evaluators };
}

/** The engine's input for a plan, minus what the caller decides (store, stage, signals, progress). */
export function enginePlugins(plan: RunPlan): Pick<EngineInput, 'reducer' | 'parser' | 'metrics' | 'judges' | 'targetParsers' | 'shape' | 'snapshot' | 'seed' | 'pipeline' | 'prompts' | 'runId'> {
  const { snapshot } = plan;
  const targetParsers = new Map<string, Parser>();
  for (const dataset of snapshot.datasets) if (dataset.targetParse) targetParsers.set(dataset.id, createParser(dataset.targetParse));
  return {
    runId: plan.runId,
    shape: plan.shape,
    snapshot,
    seed: snapshot.seed,
    pipeline: plan.pipeline,
    prompts: plan.prompts,
    reducer: createReducer(snapshot.reduce),
    parser: createParser(snapshot.parse),
    metrics: snapshot.metrics.map(createMetric),
    judges: snapshot.judges.map(createJudge),
    targetParsers,
  };
}
