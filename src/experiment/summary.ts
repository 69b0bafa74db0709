import { stageCountsFromHistogram, pipelineOf, type ExecutionState } from '../core/execution-state.js';
import { InternalError } from '../core/errors.js';
import type { Stage } from '../spec/stage.js';
import type { FailureCountRow, Store } from '../spec/store.js';

export interface ScoreSummary {
  readonly model: string;
  readonly prompt: string;
  readonly metric: string;
  readonly mean: number;
  readonly n: number;
}

/** What `run` returns and `assay run --json` prints. */
export interface RunSummary extends ExecutionState {
  readonly name: string;
  /**
   * created: a new run; resumed: continued a stored one; reused: already complete, nothing done; rerun:
   * cleared and redone; replayed: later stages recomputed from stored results.
   */
  readonly action: 'created' | 'resumed' | 'reused' | 'rerun' | 'replayed';
  readonly untilStage: Stage;
  /** Model calls made by this session (answering and evaluator models). */
  readonly modelCalls: number;
  /** Generations copied from other runs in the store instead of calling the model. */
  readonly reusedGenerations: number;
  readonly durationMs: number;
  readonly store: string;
  readonly failures: readonly FailureCountRow[];
  readonly scores: readonly ScoreSummary[];
  /** The results file, when one was asked for: written, or not yet (a progressive save still in progress). */
  readonly output?: { readonly path: string; readonly written: boolean; readonly state?: string };
}

/** Per-stage counts of a stored run, from the store's maintained counters (no scan of tasks or events). */
export async function getExecutionState(store: Store, runId: string): Promise<ExecutionState> {
  const run = await store.getRun(runId);
  if (!run) throw new InternalError(`run ${runId} vanished from the store`);
  const histogram = await store.getStageHistogram(runId);
  const { stages, done, failed } = stageCountsFromHistogram(histogram, run.taskCount, pipelineOf(run.snapshot));
  return { runId, status: run.status, completedThroughStage: run.completedThroughStage, tasks: run.taskCount, stages, done, failed };
}

/** Mean score per (model, prompt, metric), from the maintained totals. */
export async function getScoreSummary(store: Store, runId: string): Promise<ScoreSummary[]> {
  const run = await store.getRun(runId);
  if (!run) throw new InternalError(`run ${runId} vanished from the store`);
  const totals = await store.getScoreTotals(runId);
  return totals.map((row) => ({
    model: run.snapshot.models[row.modelIndex]?.id ?? `#${row.modelIndex}`,
    prompt: run.snapshot.prompts[row.promptIndex]?.id ?? `#${row.promptIndex}`,
    metric: row.metric,
    mean: row.count > 0 ? row.sum / row.count : 0,
    n: row.count,
  }));
}

export async function summarizeRun(
  store: Store,
  runId: string,
  session: { action: RunSummary['action']; untilStage: Stage; modelCalls: number; reusedGenerations: number; durationMs: number },
): Promise<RunSummary> {
  const run = await store.getRun(runId);
  if (!run) throw new InternalError(`run ${runId} vanished from the store`);
  const state = await getExecutionState(store, runId);
  return {
    ...state,
    name: run.name,
    ...session,
    store: store.location,
    failures: await store.countFailures(runId),
    scores: await getScoreSummary(store, runId),
  };
}
