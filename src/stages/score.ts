import type { TaskEvent } from '../spec/event.js';
import type { Metric, MetricScore } from '../spec/metric.js';
import type { ParseOutcome } from '../spec/parser.js';
import { pluginFailure } from './stage-failure.js';

/** Scores a parsed answer with every metric; a metric that cannot score (e.g. a bad target) fails the stage. */
export function runScore(taskOrd: number, metrics: readonly Metric[], parsed: ParseOutcome, target: unknown, text: string): TaskEvent {
  const scores: Record<string, MetricScore> = {};
  for (const metric of metrics) {
    try {
      scores[metric.name] = metric.score({ parsed, target, text });
    } catch (error) {
      const failure = pluginFailure(error);
      return { taskOrd, type: 'score-failed', payload: { failure: { ...failure, message: `metric '${metric.name}': ${failure.message}` } } };
    }
  }
  return { taskOrd, type: 'score-completed', payload: { scores } };
}
