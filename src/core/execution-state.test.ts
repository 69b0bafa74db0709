import { describe, expect, it } from 'vitest';
import { completedThroughStage, reachesStage, stageCountsFromHistogram } from './execution-state.js';

describe('execution state from the histogram', () => {
  const histogram = [
    { nextStage: 5 as const, failed: false, count: 6 },
    { nextStage: 2 as const, failed: false, count: 2 },
    { nextStage: 0 as const, failed: true, count: 1 },
    { nextStage: 0 as const, failed: false, count: 1 },
  ];

  it('counts completed, failed and pending per stage', () => {
    const { stages, done, failed } = stageCountsFromHistogram(histogram, 10, { samples: 1, hasJudges: false });
    expect(stages.generate).toEqual({ completed: 8, failed: 1, pending: 1, enabled: true });
    expect(stages.reduce).toEqual({ completed: 8, failed: 0, pending: 2, enabled: true });
    expect(stages.parse).toEqual({ completed: 6, failed: 0, pending: 4, enabled: true });
    expect(stages.score).toEqual({ completed: 6, failed: 0, pending: 4, enabled: true });
    expect(stages.judge).toEqual({ completed: 0, failed: 0, pending: 0, enabled: false });
    expect(done).toBe(6);
    expect(failed).toBe(1);
  });

  it('names the last stage every task has passed', () => {
    expect(completedThroughStage(histogram)).toBeNull();
    expect(completedThroughStage([{ nextStage: 2, failed: false, count: 3 }, { nextStage: 5, failed: false, count: 1 }])).toBe('reduce');
    expect(completedThroughStage([{ nextStage: 5, failed: false, count: 3 }])).toBe('judge');
    expect(reachesStage('reduce', 'generate')).toBe(true);
    expect(reachesStage('reduce', 'score')).toBe(false);
    expect(reachesStage(null, 'generate')).toBe(false);
  });
});
