import { DONE_INDEX, STAGES, stageIndex, type Stage } from '../spec/stage.js';
import type { PipelineShape, RunRecord, StageHistogramRow } from '../spec/store.js';

export interface StageCounts {
  readonly completed: number;
  readonly failed: number;
  readonly pending: number;
}

export interface ExecutionState {
  readonly runId: string;
  readonly status: RunRecord['status'];
  /** Why the run is interrupted (user, budget, store, error); null unless it is. */
  readonly interruptReason: RunRecord['interruptReason'];
  readonly completedThroughStage: Stage | null;
  readonly tasks: number;
  readonly stages: Readonly<Record<Stage, StageCounts & { readonly enabled: boolean }>>;
  /** Tasks that have finished every stage of the pipeline. */
  readonly done: number;
  readonly failed: number;
}

/**
 * Per-stage counts from the histogram of (next stage, failed) the store maintains. A task has completed a
 * stage when its next stage lies beyond it; it has failed a stage when it is stuck there with a failure.
 */
export function stageCountsFromHistogram(
  histogram: readonly StageHistogramRow[],
  taskCount: number,
  pipeline: PipelineShape,
): { stages: ExecutionState['stages']; done: number; failed: number } {
  const stages = {} as Record<Stage, StageCounts & { enabled: boolean }>;
  for (const stage of STAGES) {
    const index = stageIndex(stage);
    const enabled = stage !== 'judge' || pipeline.hasJudges;
    let completed = 0;
    let failed = 0;
    if (enabled) {
      for (const row of histogram) {
        if (row.nextStage > index) completed += row.count;
        else if (row.nextStage === index && row.failed) failed += row.count;
      }
    }
    stages[stage] = { completed, failed, pending: enabled ? taskCount - completed - failed : 0, enabled };
  }
  let done = 0;
  let failed = 0;
  for (const row of histogram) {
    if (row.nextStage === DONE_INDEX) done += row.count;
    if (row.failed) failed += row.count;
  }
  return { stages, done, failed };
}

/** The last stage every task has completed: what a run may claim to be complete through. */
export function completedThroughStage(histogram: readonly StageHistogramRow[]): Stage | null {
  let lowest: number = DONE_INDEX;
  for (const row of histogram) {
    if (row.count > 0 && row.nextStage < lowest) lowest = row.nextStage;
  }
  // A task that is done has passed every stage, including a judge stage with nothing to do.
  return lowest === 0 ? null : (STAGES[lowest - 1] ?? null);
}

/** The last stage a run's pipeline has: judge, or score for a run without judges. */
export function lastStageOf(pipeline: PipelineShape): Stage {
  return pipeline.hasJudges ? 'judge' : 'score';
}

/**
 * What a run is shown (and returned) complete through: the stored stage, capped at the last stage its
 * pipeline has. A task of a run without judges passes the judge stage with nothing to do, so the store
 * records such a run complete through judge (which the existing-run policy compares with `untilStage`, by
 * default judge); a user is told the last stage the run actually has, score.
 */
export function shownThroughStage(reached: Stage | null, pipeline: PipelineShape): Stage | null {
  if (reached === null) return null;
  const last = lastStageOf(pipeline);
  return stageIndex(reached) > stageIndex(last) ? last : reached;
}

/** Whether a run completed through `reached` has done everything up to `wanted`. */
export function reachesStage(reached: Stage | null, wanted: Stage): boolean {
  return reached !== null && stageIndex(reached) >= stageIndex(wanted);
}

export function pipelineOf(snapshot: { samples: number; judges: readonly unknown[] }): PipelineShape {
  return { samples: snapshot.samples, hasJudges: snapshot.judges.length > 0 };
}
