import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '../spec/event.js';
import { applyTaskEvent, initialProgress } from './task-progress.js';

const pipeline = { samples: 2, hasJudges: false };
const candidate = (sample: number): TaskEvent => ({
  taskOrd: 0,
  type: 'generate-completed',
  payload: { sample, candidate: { text: 'x', finishReason: { unified: 'stop', raw: null }, usage: { inputTokens: null, outputTokens: null }, latencyMs: 1 } },
});
const failure = { category: 'timeout' as const, message: 'slow', attempts: [] };

describe('applyTaskEvent', () => {
  it('moves past generate only once every sample is in, then stage by stage to done', () => {
    let progress = initialProgress(2);
    progress = applyTaskEvent(progress, candidate(1), 10, pipeline).progress;
    expect(progress).toMatchObject({ nextStage: 0, candidateSeqs: [null, 10] });
    progress = applyTaskEvent(progress, candidate(0), 11, pipeline).progress;
    expect(progress).toMatchObject({ nextStage: 1, candidateSeqs: [11, 10] });
    progress = applyTaskEvent(progress, { taskOrd: 0, type: 'reduce-completed', payload: { reduced: { sources: [0] } } }, 12, pipeline).progress;
    progress = applyTaskEvent(progress, { taskOrd: 0, type: 'parse-completed', payload: { outcome: { ok: false, reason: 'none' } } }, 13, pipeline).progress;
    progress = applyTaskEvent(progress, { taskOrd: 0, type: 'score-completed', payload: { scores: {} } }, 14, pipeline).progress;
    // Without judges, a scored task is done.
    expect(progress).toMatchObject({ nextStage: 5, reduceSeq: 12, parseSeq: 13, scoreSeq: 14, failed: false });
  });

  it('goes to the judge stage after score when the run has judges', () => {
    const scored = { ...initialProgress(1), nextStage: 3 as const };
    const result = applyTaskEvent(scored, { taskOrd: 0, type: 'score-completed', payload: { scores: {} } }, 1, { samples: 1, hasJudges: true });
    expect(result.progress.nextStage).toBe(4);
  });

  it('records a failure at the current stage and clears it when the stage later succeeds', () => {
    let progress = initialProgress(2);
    progress = applyTaskEvent(progress, { taskOrd: 0, type: 'generate-failed', payload: { sample: 0, failure } }, 1, pipeline).progress;
    expect(progress).toMatchObject({ nextStage: 0, failed: true, failure: { ...failure, stage: 'generate' } });
    progress = applyTaskEvent(progress, candidate(1), 2, pipeline).progress;
    expect(progress.failed).toBe(true);
    progress = applyTaskEvent(progress, candidate(0), 3, pipeline).progress;
    expect(progress).toMatchObject({ nextStage: 1, failed: false, failure: null });
  });

  it('does not apply an event for a stage the task is not at', () => {
    const progress = initialProgress(1);
    const result = applyTaskEvent(progress, { taskOrd: 0, type: 'parse-completed', payload: { outcome: { ok: true, value: 1 } } }, 5, pipeline);
    expect(result.applied).toBe(false);
    expect(result.progress).toBe(progress);
  });
});
