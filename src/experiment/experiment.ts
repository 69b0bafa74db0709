import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfigFile, validateExperiment, type ConfigSource } from '../config/config-file.js';
import type { ExperimentConfig, ExperimentInput, RuntimeConfig } from '../config/experiment-schema.js';
import { formatPath } from '../config/zod-issue.js';
import { PriceBook } from '../core/cost.js';
import { RunBusyError, RunExistsError, UserError } from '../core/errors.js';
import { reachesStage, shownThroughStage, stageCountsFromHistogram } from '../core/execution-state.js';
import { ProgressTracker } from '../engine/progress-tracker.js';
import { RunEngine } from '../engine/run-engine.js';
import { unpricedModels, type Budget } from '../engine/spend-guard.js';
import { activeOwners, describeOwners } from '../stores/active-owners.js';
import { STAGES, stageIndex, type Stage } from '../spec/stage.js';
import type { Store, StoredItem } from '../spec/store.js';
import { compileExperiment, type CompiledRun } from './compile.js';
import { provenanceFor } from './provenance.js';
import { buildModels, enginePlugins, evaluatorsUsedFrom, planFromCompiled, planFromStore, priceBook, type ModelSource, type RunPlan } from './run-plan.js';
import { defaultStorePath, isStoreUrl, openProgressiveSave, openStore, type ProgressiveStore } from '../stores/open-store.js';
import { redactText } from '../core/redact.js';
import { outputFormat, readState } from '../stores/files/progressive-save.js';
import { writeResultsFile } from '../report/results-file.js';
import { summarizeRun, type RunSummary } from './summary.js';

export type ExistingRunPolicy = 'auto' | 'error' | 'rerun';
export type ReplayStage = Exclude<Stage, 'generate'>;

type RuntimeOverrides = Partial<Pick<RuntimeConfig, 'concurrency' | 'timeoutMs' | 'maxAttempts' | 'gracePeriodMs' | 'leaseMs' | 'maxCostUsd'>>;

export interface ExecutionOptions {
  readonly runtime?: RuntimeOverrides & {
    /** A store file; overrides the config's runtime.store. */
    readonly store?: string;
  };
  /** An open store to use instead of opening one (it is left open). */
  readonly store?: Store;
  /** Aborting it stops scheduling; calls in flight get `gracePeriodMs` to finish. */
  readonly stopSignal?: AbortSignal;
  /** Aborting it cancels calls in flight at once. */
  readonly cancelSignal?: AbortSignal;
  /** Receives the live progress tracker once work starts. */
  readonly onProgress?: (tracker: ProgressTracker) => void;
  /** Notices worth showing a user (another process on the run, a reused run). */
  readonly onNotice?: (message: string) => void;
  /** Where API keys are read from (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface RunOptions extends ExecutionOptions {
  /** Stop every task after this stage (default: the whole pipeline). */
  readonly untilStage?: Stage;
  readonly runtime?: ExecutionOptions['runtime'] & {
    readonly existingRunPolicy?: ExistingRunPolicy;
  };
  /** Reuse identical generations stored by other runs in the same store (default true). */
  readonly reuse?: boolean;
  /**
   * Write the results to this file (`.json`, or `.csv`) when the run ends. With `progressive`, the run is kept
   * in the files store beside it (`<path>.tmp` and `<path>.state`) instead of a SQLite store, and the output
   * is written (and the sidecars removed) once every task is done.
   */
  readonly output?: { readonly path: string; readonly progressive?: boolean; readonly format?: 'json' | 'csv' | 'karenina' };
  /** Create the run (or find it) and return at once, working none of it (`assay submit`, `assay run --no-work`). */
  readonly noWork?: boolean;
}

export interface ReplayOptions extends ExecutionOptions {
  /** Recompute this stage and every stage after it from the stored upstream results. */
  readonly stage: ReplayStage;
}

/**
 * An experiment: a validated config that compiles to a run. Running it is idempotent: the same config
 * always maps to the same run id, so running again resumes or reuses instead of paying twice.
 */
export class Experiment {
  private compiled: CompiledRun | undefined;

  private constructor(
    readonly config: ExperimentConfig,
    readonly source: ConfigSource,
  ) {}

  /** Loads and validates a YAML/JSON config file. */
  static fromConfig(path: string): Experiment {
    const { config, source } = loadConfigFile(path);
    return new Experiment(config, source);
  }

  /** Validates a config given in code; relative paths resolve against `baseDirectory` (default: cwd). */
  static fromDefinition(definition: ExperimentInput, options: { baseDirectory?: string } = {}): Experiment {
    const at = (path: readonly PropertyKey[]) => `experiment '${(definition as { name?: string }).name ?? '?'}' ${formatPath(path)}`;
    const config = validateExperiment(definition, at, `experiment '${(definition as { name?: string }).name ?? '?'}'`);
    return new Experiment(config, { path: null, directory: resolve(options.baseDirectory ?? '.'), at });
  }

  /** Loads the datasets and derives the run id, snapshot and task manifest (cached). */
  compile(): CompiledRun {
    this.compiled ??= compileExperiment(this.config, this.source);
    return this.compiled;
  }

  /**
   * The store file this experiment uses: `override` (--store), else the config's `runtime.store`, else
   * `$ASSAY_STORE`, else `.assay/assay.db` beside the config file (in the current directory for a config given in code).
   */
  storePath(override?: string): string {
    // A URL (postgres://...) is a location, not a path: kept as it is for openStore to judge.
    const url = isStoreUrl;
    if (override) return url(override) ? override : resolve(override);
    if (this.config.runtime.store) return url(this.config.runtime.store) ? this.config.runtime.store : resolve(this.source.directory, this.config.runtime.store);
    return defaultStorePath(this.source.path !== null ? this.source.directory : '.');
  }

  private plan(): RunPlan {
    return planFromCompiled(this.compile(), this.config.models, this.config.evaluators);
  }

  async run(options: RunOptions = {}): Promise<RunSummary> {
    const started = Date.now();
    const plan = this.plan();
    const untilStage = options.untilStage ?? 'judge';
    const policy = options.runtime?.existingRunPolicy ?? 'auto';
    // Creating a run only (submit) calls no model: it needs no API key on this machine.
    const built = options.noWork ? null : buildModels(plan, options.env ?? process.env);
    const storePath = this.storePath(options.runtime?.store);
    // A new store can only get a new run, which needs the rows: read (and check) them before anything is written.
    if (!options.store && (options.output?.progressive || !existsSync(storePath))) this.compile().validate();
    const progressive = options.output?.progressive ? openProgressiveSave(options.output.path, this.progressiveJob()) : null;
    const store = progressive ?? options.store ?? await openStore(storePath, { create: true });
    let failed = false;
    try {
      if (progressive) await this.checkProgressiveRun(progressive, plan.runId);
      let action: RunSummary['action'] = 'created';
      const existing = await store.getRun(plan.runId);
      if (existing) {
        if (policy === 'error') throw new RunExistsError(plan.runId, existing.status);
        if (policy === 'rerun') {
          // The old run is replaced by the new one in the store's own transaction (createRun below).
          await refuseIfBusy(store, plan.runId);
          action = 'rerun';
        } else if (existing.status === 'completed' && reachesStage(existing.completedThroughStage, untilStage)) {
          options.onNotice?.(`run ${plan.runId.slice(0, 12)} is already complete through ${shownThroughStage(existing.completedThroughStage, plan.pipeline)}; nothing to do${options.output ? ' but write the results file' : ''}`);
          const summary = await summarizeRun(store, plan.runId, { action: 'reused', untilStage, modelCalls: 0, reusedGenerations: 0, durationMs: Date.now() - started });
          // The results of a complete run are written all the same: asking for them must not mean paying again.
          return options.output ? { ...summary, output: await writeOutput(store, progressive, summary, options.output.path, options.output.format) } : summary;
        } else {
          action = 'resumed';
        }
      }
      // Another process may create the same run between our check and here; then we simply join it.
      if (action !== 'resumed' && !(await this.createRun(store, this.compile(), options, action === 'rerun'))) action = 'resumed';
      if (options.noWork) return await summarizeRun(store, plan.runId, { action, untilStage, modelCalls: 0, reusedGenerations: 0, durationMs: Date.now() - started });
      const summary = await execute(plan, store, built!, { ...options, untilStage, action, started, reuse: options.reuse ?? true });
      return options.output ? { ...summary, output: await writeOutput(store, progressive, summary, options.output.path, options.output.format) } : summary;
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      if (progressive || !options.store) await closeStore(store, failed);
    }
  }

  /**
   * What a progressive save records to guard its resume: the config (without runtime settings, and without
   * dataset paths, which are compared on their own so a moved dataset is reported as such) and the paths.
   */
  private progressiveJob() {
    const { runtime: _runtime, ...rest } = this.config;
    const config = { ...rest, datasets: rest.datasets.map(({ path: _path, ...dataset }) => dataset) };
    const datasetPaths = Object.fromEntries(this.config.datasets.map((dataset) => [dataset.id, dataset.path !== undefined ? resolve(this.source.directory, dataset.path) : '(inline)']));
    return { config, configPath: this.source.path, datasetPaths };
  }

  /** A progressive save holds one job: resuming it with another config or other data is refused with the reason. */
  private async checkProgressiveRun(store: ProgressiveStore, runId: string): Promise<void> {
    const [held] = await store.listRuns();
    if (!held) return;
    const job = this.progressiveJob();
    const verdict = store.files.isCompatible(job.config, job.datasetPaths);
    if (!verdict.compatible) {
      throw new UserError('progressive_incompatible', `cannot resume ${store.files.statePath}: ${verdict.reason}`, { hint: 'restore it, or start a new job with another --output' });
    }
    if (held.runId !== runId) {
      throw new UserError('progressive_incompatible', `cannot resume ${store.files.statePath}: the dataset content has changed since the job started`, {
        hint: 'restore it, or start a new job with another --output',
      });
    }
  }

  /** Reopens the job a progressive-save `.state` describes, with its config file as it is now. */
  static fromProgressiveState(statePath: string): { experiment: Experiment; outputPath: string } {
    const state = readState(statePath);
    if (!state.configPath) throw new UserError('progressive_no_config', `${statePath} was written by a job defined in code; resume it from code`);
    return { experiment: Experiment.fromConfig(state.configPath), outputPath: state.outputPath };
  }

  /**
   * Recomputes `stage` and everything after it for every task that had reached it, from the stored upstream
   * results: no call is made for earlier stages. The old results stay in the history; the new ones are current.
   */
  async replay(options: ReplayOptions): Promise<RunSummary> {
    const plan = this.plan();
    const built = buildModels(plan, options.env ?? process.env);
    const store = options.store ?? await openStore(this.storePath(options.runtime?.store), { create: false });
    let failed = false;
    try {
      if (!(await store.getRun(plan.runId))) {
        throw new UserError('run_not_found', `run ${plan.runId.slice(0, 12)} is not in store ${store.location}; there is nothing to replay`, {
          hint: 'run the experiment first',
        });
      }
      return await replayPlan(plan, store, built, options);
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      if (!options.store) await closeStore(store, failed);
    }
  }

  private async createRun(store: Store, compiled: CompiledRun, options: RunOptions, replace = false): Promise<boolean> {
    compiled.validate(); // every row checked before the store is touched
    const prices = await priceBook({ snapshot: compiled.snapshot, models: this.config.models, evaluators: this.config.evaluators });
    const modelIds = [...compiled.snapshot.models, ...compiled.snapshot.evaluators].map((model) => model.id);
    return store.createRun({
      runId: compiled.runId,
      name: compiled.name,
      snapshot: compiled.snapshot,
      provenance: {
        ...provenanceFor(this, { ...this.config.runtime, ...stripUndefined(options.runtime ?? {}), store: store.location }),
        prices: prices.record(modelIds),
      },
      items: storedItems(compiled),
      taskCount: compiled.taskCount,
    }, { replace });
  }
}

/**
 * Replays a stored run known only by its id (the config is rebuilt from the store). Its models come from the
 * transport a local run recorded, or from `models` (a config file, checked against the run's identities),
 * which a run imported from a bundle needs whenever the replayed stages call a model.
 */
export async function replayStoredRun(store: Store, runId: string, options: Omit<ReplayOptions, 'store'> & { models?: Experiment }): Promise<RunSummary> {
  const from = options.models ? modelSource(options.models) : undefined;
  const plan = await planFromStore(store, runId, {
    ...(from ? { from } : {}),
    needs: (snapshot) => evaluatorsUsedFrom(snapshot, options.stage),
    purpose: `replaying ${options.stage}`,
  });
  return replayPlan(plan, store, buildModels(plan, options.env ?? process.env), options);
}

async function replayPlan(plan: RunPlan, store: Store, built: ReturnType<typeof buildModels>, options: ReplayOptions): Promise<RunSummary> {
  const started = Date.now();
  await refuseIfBusy(store, plan.runId);
  await refuseIfNothingToReplay(store, plan, options.stage);
  const rewound = await store.rewind(plan.runId, options.stage);
  options.onNotice?.(`replaying ${options.stage} and later stages for ${rewound} task(s)`);
  return execute(plan, store, built, { ...options, untilStage: 'judge', fromStage: options.stage, action: 'replayed', started, reuse: false, shareCalls: true });
}

const PAST: Readonly<Record<Stage, string>> = { generate: 'generated', reduce: 'reduced', parse: 'parsed', score: 'scored', judge: 'judged' };

/**
 * A replay recomputes a stage from what the stage before it stored: with no task past that stage there is
 * nothing to recompute, and going on would only mark a complete run interrupted. Refused, saying how far it got.
 */
async function refuseIfNothingToReplay(store: Store, plan: RunPlan, stage: ReplayStage): Promise<void> {
  const index = stageIndex(stage);
  const histogram = await store.getStageHistogram(plan.runId);
  if (histogram.some((row) => row.count > 0 && row.nextStage >= index)) return;
  const run = await store.getRun(plan.runId);
  const upstream = STAGES[index - 1]!;
  const counts = stageCountsFromHistogram(histogram, plan.taskCount, plan.pipeline);
  const reached = run?.status === 'completed' && run.completedThroughStage ? `it is complete through ${shownThroughStage(run.completedThroughStage, plan.pipeline)}` : `it is ${run?.status ?? 'unknown'}`;
  throw new UserError(
    'nothing_to_replay',
    `run ${plan.runId.slice(0, 12)} has nothing to replay from ${stage}: ${reached}, and ${counts.stages[upstream].completed} of ${plan.taskCount} tasks are ${PAST[upstream]}`,
    { hint: `continue it first with \`assay run CONFIG\` (what is stored is not paid for again), then replay` },
  );
}

/** Writes the output file: now (a SQLite-backed run), or once complete for a progressive save, which then drops its sidecars. */
async function writeOutput(store: Store, progressive: ProgressiveStore | null, summary: RunSummary, path: string, format?: 'json' | 'csv' | 'karenina'): Promise<NonNullable<RunSummary['output']>> {
  const target = resolve(path);
  if (!progressive) {
    await writeResultsFile(store, summary.runId, target, format ?? outputFormat(target));
    return { path: target, written: true };
  }
  // Finalizing removes the sidecars, so only a run with every stage done is finalized: a stage-limited or
  // partial one keeps them, to be continued with --resume.
  const last = summary.stages.judge.enabled ? 'judge' : 'score';
  if (summary.status !== 'completed' || summary.completedThroughStage !== last) return { path: target, written: false, state: progressive.files.statePath, progressive: true };
  await progressive.finalize((scratch) => writeResultsFile(progressive, summary.runId, scratch, format ?? outputFormat(target)).then(() => undefined));
  return { path: target, written: true, progressive: true };
}

/** Closes a store; when an error already ended the work (a full disk, say), a failure to close never hides it. */
async function closeStore(store: Store, failed: boolean): Promise<void> {
  try {
    await store.close();
  } catch (error) {
    if (!failed) throw error;
  }
}

async function refuseIfBusy(store: Store, runId: string): Promise<void> {
  // Owners of this machine that died are removed first: what is about to be written must not wait for them.
  const live = await activeOwners(store, runId, { removeInactive: true });
  if (live.length > 0) throw new RunBusyError(runId, describeOwners(live));
}

/**
 * The spending cap for a session: what the run has cost so far (every session, every role) against the cap.
 * A cap cannot be kept for a model nothing prices, so such a run is refused before it starts.
 */
async function budgetFor(store: Store, plan: RunPlan, prices: PriceBook, capUsd: number | undefined): Promise<Budget | undefined> {
  if (capUsd === undefined) return undefined;
  const unpriced = unpricedModels(prices, [...plan.snapshot.models, ...plan.snapshot.evaluators].map((model) => model.id));
  if (unpriced.length > 0) {
    throw new UserError('budget_unpriced', `runtime.maxCostUsd is set, but nothing says what ${unpriced.map((id) => `'${id}'`).join(', ')} cost`, {
      hint: 'set price: { input, output } (USD per million tokens) on those models, or drop the cap',
    });
  }
  const spentUsd = (await store.getUsageTotals(plan.runId)).reduce((sum, row) => sum + (prices.cost(row.model, row) ?? 0), 0);
  return { capUsd, prices, spentUsd };
}

/** The prices recorded when the run was created; for a run recorded before prices were, the current ones. */
async function runPrices(store: Store, plan: RunPlan): Promise<PriceBook> {
  const provenance = (await store.getRun(plan.runId))?.provenance;
  // An imported run's prices came with a bundle: never used; this machine's config and table price it.
  return provenance?.prices && !provenance.origin ? PriceBook.recorded(provenance.prices) : priceBook(plan);
}

/** Works a run through the engine and summarizes it (shared by `run`, `replay` and `worker`). */
export async function execute(
  plan: RunPlan,
  store: Store,
  built: ReturnType<typeof buildModels>,
  options: ExecutionOptions & { untilStage: Stage; fromStage?: Stage; action: RunSummary['action']; started: number; reuse: boolean; shareCalls?: boolean },
): Promise<RunSummary> {
  const runtime = { ...plan.runtime, ...stripUndefined(options.runtime ?? {}) };
  const histogram = await store.getStageHistogram(plan.runId);
  const counts = stageCountsFromHistogram(histogram, plan.taskCount, plan.pipeline);
  const alreadyDone = options.untilStage === 'judge' ? counts.done : counts.stages[options.untilStage].completed;
  // The progress shows the run's counts, earlier sessions' work included, overall and per model (rates and
  // ETAs are this session's pace).
  const doneByModel = await store.countPastStageByModel(plan.runId, options.untilStage);
  const prices = await runPrices(store, plan);
  const budget = await budgetFor(store, plan, prices, runtime.maxCostUsd);
  const tracker = new ProgressTracker(
    plan.runId,
    plan.taskCount,
    alreadyDone,
    plan.models.map((model, index) => ({ modelId: model.id, total: plan.taskCount / plan.models.length, completed: doneByModel[index] ?? 0 })),
    prices,
  );
  options.onProgress?.(tracker);
  const engine = new RunEngine({
    ...enginePlugins(plan),
    store,
    models: built.models,
    evaluators: built.evaluators,
    runtime,
    untilStage: options.untilStage,
    ...(options.fromStage ? { fromStage: options.fromStage } : {}),
    reuse: options.reuse,
    shareCalls: options.shareCalls ?? options.reuse,
    tracker,
    ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
    ...(options.cancelSignal ? { cancelSignal: options.cancelSignal } : {}),
    ...(options.onNotice ? { notice: options.onNotice } : {}),
    ...(budget ? { budget } : {}),
  });
  const result = await engine.execute();
  return summarizeRun(store, plan.runId, {
    action: options.action,
    untilStage: options.untilStage,
    modelCalls: result.modelCalls,
    reusedGenerations: result.reusedGenerations,
    durationMs: Date.now() - options.started,
    ...(result.stoppedFor ? { stoppedFor: result.stoppedFor } : {}),
    ...(result.modelDown ? { modelDown: { ...result.modelDown, ...baseUrlOf(plan, result.modelDown.model) } } : {}),
  });
}

/** Where a model is called (its base URL, already free of credentials), for messages. */
function baseUrlOf(plan: RunPlan, modelId: string): { baseURL?: string } {
  const entry = [...plan.models, ...plan.evaluators].find((model) => model.id === modelId) as { baseURL?: unknown } | undefined;
  return typeof entry?.baseURL === 'string' ? { baseURL: redactText(entry.baseURL) } : {};
}

function* storedItems(compiled: CompiledRun): Generator<StoredItem> {
  let ord = 0;
  for (const item of compiled.streamItems()) {
    yield { ord: ord++, datasetId: item.datasetId, itemId: item.itemId, input: item.input, target: item.target, fields: item.fields };
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, member]) => member !== undefined)) as Partial<T>;
}

/** The models (and runtime settings) of a config, for a stored run that takes its models from it. */
export function modelSource(experiment: Experiment): ModelSource {
  return {
    path: experiment.source.path ?? `experiment '${experiment.config.name}'`,
    models: experiment.config.models,
    evaluators: experiment.config.evaluators,
    runtime: experiment.config.runtime,
    directory: experiment.source.directory,
  };
}

/** Typed identity helper for TypeScript configs: `export default defineExperiment({...})`. */
export function defineExperiment(definition: ExperimentInput): ExperimentInput {
  return definition;
}
