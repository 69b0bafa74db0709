import { dirname } from 'node:path';
import { modelEntrySchema, type ModelConfig, type RuntimeConfig, runtimeSchema } from '../config/experiment-schema.js';
import { UserError } from '../core/errors.js';
import { pipelineOf } from '../core/execution-state.js';
import { PriceBook, type Price } from '../core/cost.js';
import { manifestShape, type ManifestShape } from '../core/manifest.js';
import { compileTemplate } from '../core/prompt-template.js';
import type { EngineInput } from '../engine/run-engine.js';
import type { CallableModel } from '../engine/model-caller.js';
import { createJudge, createMetric, createParser, createReducer, findProvider } from '../registry.js';
import type { PromptParts } from '../stages/generate.js';
import type { Parser } from '../spec/parser.js';
import type { ModelIdentity, RunSnapshot } from '../spec/snapshot.js';
import type { PipelineShape, Store } from '../spec/store.js';
import type { CompiledRun } from './compile.js';

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

/** Reopens a stored run from the store alone: items, prompts and plugins from the snapshot, models from identity plus transport. */
export async function planFromStore(store: Store, runId: string): Promise<RunPlan> {
  const run = await store.getRun(runId);
  if (!run) throw new UserError('run_not_found', `no run ${runId} in store ${store.location}`);
  const { snapshot, provenance } = run;
  const restore = (identity: ModelIdentity): ModelConfig => {
    const raw = findProvider(identity.provider).restore(identity, provenance.transport[identity.id] ?? {});
    return modelEntrySchema.parse(raw) as ModelConfig;
  };
  const runtime = runtimeSchema.parse(Object.fromEntries(Object.entries(provenance.runtime).filter(([key]) => key in runtimeSchema.shape && key !== 'store')));
  return {
    runId,
    name: run.name,
    snapshot,
    pipeline: pipelineOf(snapshot),
    shape: manifestShape(snapshot),
    taskCount: run.taskCount,
    prompts: snapshot.prompts.map((prompt) => ({
      systemTemplate: prompt.system !== null ? compileTemplate(prompt.system) : null,
      userTemplate: compileTemplate(prompt.user),
    })),
    models: snapshot.models.map(restore),
    evaluators: snapshot.evaluators.map(restore),
    runtime,
    directory: provenance.configPath ? dirname(provenance.configPath) : process.cwd(),
  };
}

function callable(config: ModelConfig, env: Readonly<Record<string, string | undefined>>, directory: string): CallableModel {
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
