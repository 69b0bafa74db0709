import { eventStage, isFailureEvent, type TaskEvent } from '../spec/event.js';
import { DONE_INDEX, stageIndex, type StageIndex } from '../spec/stage.js';
import type { PipelineShape, TaskProgress } from '../spec/store.js';

export function initialProgress(samples: number): TaskProgress {
  return {
    nextStage: 0,
    failed: false,
    failure: null,
    candidateSeqs: new Array<number | null>(samples).fill(null),
    reduceSeq: null,
    parseSeq: null,
    scoreSeq: null,
    judgeSeq: null,
  };
}

/** The stage after `index` in this pipeline (the judge stage is passed over when there are no judges). */
export function stageAfter(index: StageIndex, pipeline: PipelineShape): StageIndex {
  const next = (index + 1) as StageIndex;
  if (next === stageIndex('judge') && !pipeline.hasJudges) return DONE_INDEX;
  return next;
}

/**
 * The pure state transition every store applies when it appends a task event: O(1), no history needed.
 * An event for a stage the task has already moved past (a late duplicate) is kept in the log but does not
 * move the task; the returned `applied` says whether it changed the current state.
 */
export function applyTaskEvent(
  progress: TaskProgress,
  event: TaskEvent,
  seq: number,
  pipeline: PipelineShape,
): { progress: TaskProgress; applied: boolean } {
  // A call's reply is kept beside the task; only the stage's own outcome moves it.
  if (event.type === 'call-completed') return { progress, applied: false };
  const stage = eventStage(event);
  const index = stageIndex(stage);
  if (index !== progress.nextStage) return { progress, applied: false };

  if (isFailureEvent(event.type)) {
    const failure = (event.payload as { failure: NonNullable<TaskProgress['failure']> }).failure;
    return { progress: { ...progress, failed: true, failure: { ...failure, stage } }, applied: true };
  }

  switch (event.type) {
    case 'generate-completed': {
      const candidateSeqs = progress.candidateSeqs.slice();
      candidateSeqs[event.payload.sample] = seq;
      let complete = true;
      for (let sample = 0; sample < pipeline.samples; sample++) {
        if (candidateSeqs[sample] == null) complete = false;
      }
      // A failure of another sample stays recorded until every sample has an answer.
      const failed = complete ? false : progress.failed;
      return {
        progress: {
          ...progress,
          candidateSeqs,
          nextStage: complete ? stageAfter(index, pipeline) : progress.nextStage,
          failed,
          failure: failed ? progress.failure : null,
        },
        applied: true,
      };
    }
    case 'reduce-completed':
      return { progress: completed(progress, { reduceSeq: seq }, index, pipeline), applied: true };
    case 'parse-completed':
      return { progress: completed(progress, { parseSeq: seq }, index, pipeline), applied: true };
    case 'score-completed':
      return { progress: completed(progress, { scoreSeq: seq }, index, pipeline), applied: true };
    case 'judge-completed':
      return { progress: completed(progress, { judgeSeq: seq }, index, pipeline), applied: true };
    default:
      return { progress, applied: false };
  }
}

function completed(progress: TaskProgress, pointer: Partial<TaskProgress>, index: StageIndex, pipeline: PipelineShape): TaskProgress {
  return { ...progress, ...pointer, nextStage: stageAfter(index, pipeline), failed: false, failure: null };
}

/** Moves a task back to `index`, dropping the current results of that stage and the ones after it. */
export function rewindProgress(progress: TaskProgress, index: StageIndex): TaskProgress {
  if (progress.nextStage < index) return progress;
  return {
    nextStage: index,
    failed: false,
    failure: null,
    candidateSeqs: index <= 0 ? progress.candidateSeqs.map(() => null) : progress.candidateSeqs,
    reduceSeq: index <= 1 ? null : progress.reduceSeq,
    parseSeq: index <= 2 ? null : progress.parseSeq,
    scoreSeq: index <= 3 ? null : progress.scoreSeq,
    judgeSeq: index <= 4 ? null : progress.judgeSeq,
  };
}
