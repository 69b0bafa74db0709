import type { MetricScore } from '../spec/metric.js';
import { eventStage, type CallRecord, type TaskEvent } from '../spec/event.js';
import type { TokenUsage } from '../spec/model.js';
import type { ScoreTotalRow, StageHistogramRow, TaskProgress, UsageRow } from '../spec/store.js';
import type { Stage } from '../spec/stage.js';
import type { StageIndex } from '../spec/stage.js';

/** Calls `visit` for each score and each of its parts (as `metric.part`). */
export function forEachScore(scores: Readonly<Record<string, MetricScore>>, visit: (metric: string, value: number) => void): void {
  for (const metric in scores) {
    const score = scores[metric]!;
    visit(metric, score.value);
    if (score.parts) for (const part in score.parts) visit(`${metric}.${part}`, score.parts[part]!);
  }
}

/**
 * The counters a store keeps beside the log: tasks per (next stage, failed) and score sums per (model,
 * prompt, metric). Stores use it either as the live totals (the files store) or as the deltas of one
 * transaction (SQLite): either way each task transition costs O(1).
 */
export class RunCounters {
  readonly histogram = new Map<number, number>();
  readonly usage = new Map<string, { model: string; stage: Stage; calls: number; inputTokens: number; outputTokens: number }>();
  readonly scores = new Map<string, { model: number; prompt: number; metric: string; sum: number; sumOfSquares: number; count: number }>();

  move(before: Pick<TaskProgress, 'nextStage' | 'failed'>, after: Pick<TaskProgress, 'nextStage' | 'failed'>): void {
    if (before.nextStage === after.nextStage && before.failed === after.failed) return;
    this.bump(before.nextStage, before.failed, -1);
    this.bump(after.nextStage, after.failed, 1);
  }

  bump(nextStage: number, failed: boolean, delta: number): void {
    const key = nextStage * 2 + (failed ? 1 : 0);
    this.histogram.set(key, (this.histogram.get(key) ?? 0) + delta);
  }

  addScores(model: number, prompt: number, scores: Readonly<Record<string, MetricScore>>, sign: 1 | -1): void {
    forEachScore(scores, (metric, value) => {
      const key = `${model}\u0000${prompt}\u0000${metric}`;
      let entry = this.scores.get(key);
      if (!entry) this.scores.set(key, (entry = { model, prompt, metric, sum: 0, sumOfSquares: 0, count: 0 }));
      entry.sum += sign * value;
      entry.sumOfSquares += sign * value * value;
      entry.count += sign;
    });
  }

  /**
   * Usage recorded by an event: the answering model's candidate, an evaluator's reply (`call-completed`), or
   * the calls listed by a stage result that have no event of their own (imported ones).
   */
  addUsage(event: TaskEvent, answeringModel: string): void {
    if (event.type === 'generate-completed') {
      if (!event.payload.candidate.reusedFrom) this.use(answeringModel, 'generate', event.payload.candidate.usage);
      return;
    }
    if (event.type === 'call-completed') {
      this.use(event.payload.model, event.payload.stage, event.payload.result.usage);
      return;
    }
    const calls = (event.payload as { calls?: readonly CallRecord[] }).calls;
    if (!calls) return;
    const stage = eventStage(event);
    for (const call of calls) if (!call.logged) this.use(call.model, stage, call.usage);
  }

  private use(model: string, stage: Stage, usage: TokenUsage): void {
    const key = `${model}\u0000${stage}`;
    let entry = this.usage.get(key);
    if (!entry) this.usage.set(key, (entry = { model, stage, calls: 0, inputTokens: 0, outputTokens: 0 }));
    entry.calls++;
    entry.inputTokens += usage.inputTokens ?? 0;
    entry.outputTokens += usage.outputTokens ?? 0;
  }

  usageRows(): UsageRow[] {
    return [...this.usage.values()].map((entry) => ({ ...entry }));
  }

  histogramRows(): StageHistogramRow[] {
    return [...this.histogram]
      .filter(([, count]) => count !== 0)
      .map(([key, count]) => ({ nextStage: (key >> 1) as StageIndex, failed: (key & 1) === 1, count }));
  }

  scoreRows(): ScoreTotalRow[] {
    return [...this.scores.values()]
      .filter((entry) => entry.count !== 0)
      .sort((left, right) => left.model - right.model || left.prompt - right.prompt || left.metric.localeCompare(right.metric))
      .map((entry) => ({ modelIndex: entry.model, promptIndex: entry.prompt, metric: entry.metric, sum: entry.sum, sumOfSquares: entry.sumOfSquares, count: entry.count }));
  }
}
