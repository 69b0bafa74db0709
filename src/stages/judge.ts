import type { TaskEvent } from '../spec/event.js';
import type { Judge, JudgeInput, Judgment } from '../spec/judge.js';
import type { MetricScore } from '../spec/metric.js';
import type { PluginContext } from '../spec/plugin-context.js';
import { pluginFailure, stageFailure } from './stage-failure.js';

/**
 * Runs every judge on one task. The event keeps each judge's executions (prompts, raw replies, parsed
 * judgments) and the scores they give; any judge failing fails the stage (retried on the next run).
 */
export async function runJudges(
  taskOrd: number,
  judges: readonly Judge[],
  input: (judge: Judge) => JudgeInput | string,
  context: PluginContext,
): Promise<TaskEvent> {
  try {
    const judgments: Judgment[] = [];
    for (const judge of judges) {
      const judgeInput = input(judge);
      if (typeof judgeInput === 'string') {
        return { taskOrd, type: 'judge-failed', payload: { failure: pluginFailure(new Error(judgeInput), 'dependency') } };
      }
      judgments.push(await judge.judge(judgeInput, context));
    }
    const scores: Record<string, MetricScore> = {};
    for (const judgment of judgments) Object.assign(scores, judgment.scores);
    return { taskOrd, type: 'judge-completed', payload: { judgments, scores } };
  } catch (error) {
    return { taskOrd, type: 'judge-failed', payload: { failure: stageFailure(error) } };
  }
}
