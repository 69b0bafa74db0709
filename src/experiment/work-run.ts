import { existsSync } from 'node:fs';
import { UserError } from '../core/errors.js';
import type { Stage } from '../spec/stage.js';
import type { RunRecord, Store } from '../spec/store.js';
import { execute, Experiment, modelSource, type ExecutionOptions } from './experiment.js';
import { buildModels, planFromStore } from './run-plan.js';
import type { RunSummary } from './summary.js';

export interface WorkOptions extends ExecutionOptions {
  /** Stop every task after this stage (default: the whole pipeline). */
  readonly untilStage?: Stage;
  /** The config the models come from; default: the config file the run was created from, if it is on this machine. */
  readonly models?: Experiment;
  /** Use the answers the store already holds for the same calls, from other runs or this one (default true). */
  readonly reuse?: boolean;
}

/**
 * Whether a worker should pick a run up: it has work left (created, running, or stopped by a user, a store
 * failure or an error), and it did not stop for a reason that needs a person (a spending cap to raise, a model
 * that could not be reached, failed tasks of a finished run; a run complete through a stage it was asked to stop at).
 */
export function isWorkable(run: RunRecord): boolean {
  if (run.status === 'completed' || run.status === 'partial') return false;
  if (run.status === 'interrupted') return run.interruptReason !== 'budget' && run.interruptReason !== 'model';
  return true;
}

/**
 * The config a worker takes a run's models from: the one given, else the config file the run was created
 * from when that path exists on this machine. Models never come from the transport stored with the run: API
 * keys, base URLs and headers are this machine's, read from its config and environment.
 */
export function modelsFor(run: RunRecord, given: Experiment | undefined): Experiment {
  if (given) return given;
  const path = run.provenance.configPath;
  if (path && !run.provenance.origin && existsSync(path)) return Experiment.fromConfig(path);
  const where = path ? `was created from ${path}, which is not on this machine` : 'records no config file it was created from';
  throw new UserError('worker_needs_config', `run ${run.runId.slice(0, 12)} ${where}; a worker takes the models (base URLs, key variables) from a config`, {
    hint: 'pass --config FILE (its models are checked against the run), or put the config at that path',
  });
}

/**
 * Works a stored run as one of its workers: its items, prompts and plugins from the store, its models from
 * `options.models` (or the config it was created from), checked against the snapshot before anything is
 * written, and its tasks shared with every other process on it through the leases.
 */
export async function workRun(store: Store, runId: string, options: WorkOptions = {}): Promise<RunSummary> {
  const started = Date.now();
  const run = await store.getRun(runId);
  if (!run) throw new UserError('run_not_found', `no run ${runId.slice(0, 12)} in store ${store.location}`, { hint: 'create it with `assay submit CONFIG`' });
  const experiment = modelsFor(run, options.models);
  // Reads only: a config whose models differ from the run's is refused here, with nothing written.
  const plan = await planFromStore(store, runId, { from: modelSource(experiment), purpose: 'this worker' });
  const built = buildModels(plan, options.env ?? process.env);
  return execute(plan, store, built, { ...options, untilStage: options.untilStage ?? 'judge', action: 'joined', started, reuse: options.reuse ?? true });
}
