import { resolve } from 'node:path';
import { loadConfigFile, validateExperiment, type ConfigSource } from '../config/config-file.js';
import type { ExperimentConfig, ExperimentInput, RuntimeConfig } from '../config/experiment-schema.js';
import { formatPath } from '../config/zod-issue.js';
import { RunBusyError, RunExistsError } from '../core/errors.js';
import { reachesStage, stageCountsFromHistogram } from '../core/execution-state.js';
import { ProgressTracker } from '../engine/progress-tracker.js';
import { RunEngine, type EngineModel } from '../engine/run-engine.js';
import { createMetric, createParser, createReducer, findProvider } from '../registry.js';
import type { Stage } from '../spec/stage.js';
import type { Store, StoredItem } from '../spec/store.js';
import { compileExperiment, type CompiledRun } from './compile.js';
import { provenanceFor } from './provenance.js';
import { summarizeRun, type RunSummary } from './summary.js';
import { openStoreAt, defaultStorePath } from './store-location.js';

export type ExistingRunPolicy = 'auto' | 'error' | 'rerun';

export interface RunOptions {
  /** Stop every task after this stage (default: the whole pipeline). */
  readonly untilStage?: Stage;
  readonly runtime?: Partial<Pick<RuntimeConfig, 'concurrency' | 'timeoutMs' | 'maxAttempts' | 'gracePeriodMs' | 'leaseMs'>> & {
    readonly existingRunPolicy?: ExistingRunPolicy;
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
    const config = validateExperiment(definition, at);
    return new Experiment(config, { path: null, directory: resolve(options.baseDirectory ?? '.'), at });
  }

  /** Loads the datasets and derives the run id, snapshot and task manifest (cached). */
  compile(): CompiledRun {
    this.compiled ??= compileExperiment(this.config, this.source);
    return this.compiled;
  }

  /** The store file this experiment uses, unless a run option overrides it. */
  storePath(override?: string): string {
    if (override) return resolve(override);
    if (this.config.runtime.store) return resolve(this.source.directory, this.config.runtime.store);
    return defaultStorePath();
  }

  async run(options: RunOptions = {}): Promise<RunSummary> {
    const started = Date.now();
    const compiled = this.compile();
    const untilStage = options.untilStage ?? 'judge';
    const policy = options.runtime?.existingRunPolicy ?? 'auto';
    // Build every model before touching the store, so a missing API key fails with nothing written.
    const env = options.env ?? process.env;
    const models: EngineModel[] = this.config.models.map((model) => ({
      model: findProvider(model.provider).create(model, { env }),
      params: model.params,
      concurrency: model.concurrency,
    }));
    const store = options.store ?? openStoreAt(this.storePath(options.runtime?.store), { create: true });
    try {

      let action: RunSummary['action'] = 'created';
      const existing = await store.getRun(compiled.runId);
      if (existing) {
        if (policy === 'error') throw new RunExistsError(compiled.runId, existing.status);
        if (policy === 'rerun') {
          const owners = await store.listOwners(compiled.runId);
          const live = owners.filter((owner) => Date.now() - Date.parse(owner.heartbeatAt) < (options.runtime?.leaseMs ?? this.config.runtime.leaseMs));
          if (live.length > 0) throw new RunBusyError(compiled.runId, live.map((owner) => `pid ${owner.pid} on ${owner.host}`).join(', '));
          await store.deleteRun(compiled.runId);
          action = 'rerun';
        } else if (existing.status === 'completed' && reachesStage(existing.completedThroughStage, untilStage)) {
          options.onNotice?.(`run ${compiled.runId.slice(0, 12)} is already complete through ${existing.completedThroughStage}; nothing to do`);
          return await summarizeRun(store, compiled.runId, { action: 'reused', untilStage, modelCalls: 0, durationMs: Date.now() - started });
        } else {
          action = 'resumed';
        }
      }
      // Another process may create the same run between our check and here; then we simply join it.
      if (action !== 'resumed' && !(await this.createRun(store, compiled, options))) action = 'resumed';

      const runtime = { ...this.config.runtime, ...stripUndefined(options.runtime ?? {}) };
      const histogram = await store.getStageHistogram(compiled.runId);
      const counts = stageCountsFromHistogram(histogram, compiled.taskCount, compiled.pipeline);
      const alreadyDone = untilStage === 'judge' ? counts.done : counts.stages[untilStage].completed;
      const tracker = new ProgressTracker(
        compiled.runId,
        compiled.taskCount,
        alreadyDone,
        compiled.models.map((model) => ({ modelId: model.id, total: compiled.taskCount / compiled.models.length, completed: 0 })),
      );
      options.onProgress?.(tracker);

      const snapshot = compiled.snapshot;
      const engine = new RunEngine({
        store,
        runId: compiled.runId,
        task: compiled.task,
        seed: snapshot.seed,
        pipeline: compiled.pipeline,
        items: compiled.items,
        models,
        prompts: compiled.prompts,
        reducer: createReducer(snapshot.reduce),
        parser: createParser(snapshot.parse),
        metrics: snapshot.metrics.map(createMetric),
        runtime,
        untilStage,
        tracker,
        ...(options.stopSignal ? { stopSignal: options.stopSignal } : {}),
        ...(options.cancelSignal ? { cancelSignal: options.cancelSignal } : {}),
        ...(options.onNotice ? { notice: options.onNotice } : {}),
      });
      const result = await engine.execute();
      return await summarizeRun(store, compiled.runId, { action, untilStage, modelCalls: result.modelCalls, durationMs: Date.now() - started });
    } finally {
      if (!options.store) await store.close();
    }
  }

  private createRun(store: Store, compiled: CompiledRun, options: RunOptions): Promise<boolean> {
    return store.createRun({
      runId: compiled.runId,
      name: compiled.name,
      snapshot: compiled.snapshot,
      provenance: provenanceFor(this, { ...this.config.runtime, ...stripUndefined(options.runtime ?? {}), store: store.location }),
      items: storedItems(compiled),
      taskCount: compiled.taskCount,
    });
  }
}

function* storedItems(compiled: CompiledRun): Generator<StoredItem> {
  let ord = 0;
  for (const item of compiled.items) {
    yield { ord: ord++, datasetId: item.datasetId, itemId: item.itemId, input: item.input, target: item.target, fields: item.fields };
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, member]) => member !== undefined)) as Partial<T>;
}

/** Typed identity helper for TypeScript configs: `export default defineExperiment({...})`. */
export function defineExperiment(definition: ExperimentInput): ExperimentInput {
  return definition;
}

