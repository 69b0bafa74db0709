import { stageCountsFromHistogram, pipelineOf, shownThroughStage, type ExecutionState } from '../core/execution-state.js';
import { InternalError } from '../core/errors.js';
import { estimateMeanFromSums } from '../core/statistics/index.js';
import type { Stage } from '../spec/stage.js';
import type { ModelDown } from '../engine/model-breaker.js';
import { PriceBook, type Price } from '../core/cost.js';
import type { FailureCountRow, InterruptReason, RunRecord, Store } from '../spec/store.js';

export interface UsageSummary {
  readonly model: string;
  readonly stage: Stage;
  readonly calls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** USD, or null when the model's price is unknown. */
  readonly cost: number | null;
}

export interface CostSummary {
  /** USD for every priced call; null when nothing could be priced. */
  readonly total: number | null;
  readonly currency: 'USD';
  /** Models that were called but have no known price (set `price` on them in the config). */
  readonly unpriced: readonly string[];
  /**
   * Where the prices come from: `recorded` with the run when it was created here, or `current` (this
   * machine's config and price table) for a run imported from a bundle, whose own prices are kept as data
   * and never used (`importedPrices` says whether it had any).
   */
  readonly prices: 'recorded' | 'current';
  readonly importedPrices: boolean;
}

export interface ScoreSummary {
  readonly model: string;
  readonly prompt: string;
  readonly metric: string;
  readonly mean: number;
  readonly n: number;
  /**
   * The 95% interval of the mean from the store's running totals (Wilson for 0/1 scores, t otherwise), or
   * null when the totals cannot give an honest one: with replicates (items must be averaged first: see
   * `assay report`), fewer than two scores, or totals kept before sums of squares were.
   */
  readonly ci: readonly [number, number] | null;
  readonly ciMethod: 'wilson' | 't' | null;
}

/** What `run` returns and `assay run --json` prints. */
export interface RunSummary extends ExecutionState {
  readonly name: string;
  /**
   * created: a new run; resumed: continued a stored one; reused: already complete, nothing done; rerun:
   * cleared and redone; replayed: later stages recomputed from stored results.
   */
  readonly action: 'created' | 'resumed' | 'reused' | 'rerun' | 'replayed' | 'joined';
  readonly untilStage: Stage;
  /** Model calls made by this session (answering and evaluator models). */
  readonly modelCalls: number;
  /** Generations copied from other runs in the store instead of calling the model. */
  readonly reusedGenerations: number;
  readonly durationMs: number;
  /**
   * Why this session stopped before the run was done (see the engine's `stoppedFor`): set when it stopped
   * early, also while other processes go on with the run and its status is still `running`.
   */
  readonly stoppedFor?: InterruptReason;
  readonly store: string;
  readonly failures: readonly FailureCountRow[];
  /** One failure message per stage and category (the first few failed tasks'), so a summary can quote them. */
  readonly failureExamples: readonly { readonly stage: Stage; readonly category: string; readonly taskKey: string; readonly message: string }[];
  readonly scores: readonly ScoreSummary[];
  /** Calls, tokens and cost per model and stage, over the whole run (all sessions). */
  readonly usage: readonly UsageSummary[];
  readonly cost: CostSummary;
  /** Set when the run stopped because a model could not be reached: which, how, and where it was called. */
  readonly modelDown?: ModelDown & { readonly baseURL?: string };
  /** `assay run --workers`: each worker's pid, its model calls, and the signal that killed it (one `assay run` did not forward), if one did. */
  readonly workers?: readonly { readonly worker: number; readonly pid: number | null; readonly modelCalls: number; readonly killedBy: NodeJS.Signals | null }[];
  /**
   * The results file, when one was asked for: written, or not yet (a progressive save still in progress,
   * whose `.state` is `state`). `progressive` says the run is kept in the progressive-save files, not a store.
   */
  readonly output?: { readonly path: string; readonly written: boolean; readonly state?: string; readonly progressive?: boolean };
}

/** Per-stage counts of a stored run, from the store's maintained counters (no scan of tasks or events). */
export async function getExecutionState(store: Store, runId: string): Promise<ExecutionState> {
  const run = await store.getRun(runId);
  if (!run) throw new InternalError(`run ${runId} vanished from the store`);
  const histogram = await store.getStageHistogram(runId);
  const pipeline = pipelineOf(run.snapshot);
  const { stages, done, failed } = stageCountsFromHistogram(histogram, run.taskCount, pipeline);
  // The stored stage stays as the policy reads it; what is returned is the last stage the run actually has.
  const completedThroughStage = shownThroughStage(run.completedThroughStage, pipeline);
  return { runId, status: run.status, interruptReason: run.interruptReason, completedThroughStage, tasks: run.taskCount, stages, done, failed };
}

/** Mean score per (model, prompt, metric), from the maintained totals. */
export async function getScoreSummary(store: Store, runId: string): Promise<ScoreSummary[]> {
  const run = await store.getRun(runId);
  if (!run) throw new InternalError(`run ${runId} vanished from the store`);
  const totals = await store.getScoreTotals(runId);
  return totals.map((row) => {
    const estimate = run.snapshot.replicates === 1 && row.sumOfSquares !== null && row.count > 0 ? estimateMeanFromSums(row.count, row.sum, row.sumOfSquares, 0.95) : null;
    return {
      model: run.snapshot.models[row.modelIndex]?.id ?? `#${row.modelIndex}`,
      prompt: run.snapshot.prompts[row.promptIndex]?.id ?? `#${row.promptIndex}`,
      metric: row.metric,
      mean: row.count > 0 ? row.sum / row.count : 0,
      n: row.count,
      ci: estimate?.ci ?? null,
      ciMethod: estimate?.ci ? estimate.method as 'wilson' | 't' : null,
    };
  });
}

/**
 * Prices for a stored run's models: the prices recorded when it was created here, else the maintained table.
 * A run imported from a bundle records none: what the bundle said is never used to price it.
 */
export async function storedPriceBook(run: RunRecord): Promise<PriceBook> {
  if (run.provenance.prices && !run.provenance.origin) return PriceBook.recorded(run.provenance.prices);
  return PriceBook.for(
    [...run.snapshot.models, ...run.snapshot.evaluators].map((identity) => ({
      id: identity.id,
      provider: identity.provider,
      model: identity.model,
      price: (run.provenance.transport[identity.id]?.price as Price | null | undefined) ?? null,
    })),
  );
}

/** Usage per model and stage with its cost, and the run's total. */
export async function getUsageSummary(store: Store, runId: string): Promise<{ usage: UsageSummary[]; cost: CostSummary }> {
  const run = await store.getRun(runId);
  if (!run) throw new InternalError(`run ${runId} vanished from the store`);
  const rows = await store.getUsageTotals(runId);
  const prices = rows.length > 0 ? await storedPriceBook(run) : PriceBook.empty();
  const usage = rows.map((row) => ({ ...row, cost: prices.cost(row.model, row) }));
  const unpriced = [...new Set(usage.filter((row) => row.cost === null && row.calls > 0).map((row) => row.model))];
  const priced = usage.filter((row) => row.cost !== null);
  const origin = run.provenance.origin;
  const cost: CostSummary = {
    total: priced.length > 0 || usage.length === 0 ? priced.reduce((sum, row) => sum + row.cost!, 0) : null,
    currency: 'USD',
    unpriced,
    prices: run.provenance.prices && !origin ? 'recorded' : 'current',
    importedPrices: origin !== undefined && (origin.provenance as { prices?: unknown }).prices !== undefined,
  };
  return { usage, cost };
}

/** The first failed task's message for each stage and category, from an indexed read of at most 100 failures. */
async function failureExamples(store: Store, runId: string): Promise<RunSummary['failureExamples']> {
  const seen = new Map<string, RunSummary['failureExamples'][number]>();
  for (const row of await store.listFailures(runId, 100)) {
    const key = `${row.stage}\u0000${row.failure.category}`;
    if (!seen.has(key)) seen.set(key, { stage: row.stage, category: row.failure.category, taskKey: row.taskKey, message: row.failure.message });
  }
  return [...seen.values()];
}

export async function summarizeRun(
  store: Store,
  runId: string,
  session: { action: RunSummary['action']; untilStage: Stage; modelCalls: number; reusedGenerations: number; durationMs: number; stoppedFor?: InterruptReason; modelDown?: RunSummary['modelDown'] },
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
    failureExamples: await failureExamples(store, runId),
    scores: await getScoreSummary(store, runId),
    ...(await getUsageSummary(store, runId)),
  };
}
