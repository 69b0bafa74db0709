import { InvalidTargetError } from '../core/errors.js';
import type { TaskEvent } from '../spec/event.js';
import type { Metric, MetricScore } from '../spec/metric.js';
import type { ParseOutcome, Parser } from '../spec/parser.js';
import type { PluginContext } from '../spec/plugin-context.js';
import { stageFailure } from './stage-failure.js';

export interface ScoreStageInput {
  readonly parsed: ParseOutcome;
  /** The reduced answer text. */
  readonly text: string;
  /** The target as written in the dataset. */
  readonly target: unknown;
  /** Every candidate's text, for metrics that need them all (pass@k). */
  readonly candidates: readonly string[];
}

export interface ScorePlugins {
  readonly metrics: readonly Metric[];
  /** The experiment's parser, for metrics that need every candidate parsed. */
  readonly parser: Parser;
  /** The dataset's target parser, if targets need extracting (e.g. the number after "####"). */
  readonly targetParser: Parser | null;
}

/** Scores a parsed answer with every metric; a target that cannot be read fails the stage with the reason. */
export async function runScore(taskOrd: number, plugins: ScorePlugins, input: ScoreStageInput, context: PluginContext): Promise<TaskEvent> {
  try {
    let target = input.target;
    if (plugins.targetParser && target !== null && target !== undefined) {
      const raw = typeof target === 'string' ? target : JSON.stringify(target);
      const outcome = await plugins.targetParser.parse(raw, context);
      if (!outcome.ok) throw new InvalidTargetError(`the target cannot be read (${outcome.reason}): ${JSON.stringify(raw.slice(-80))}`);
      target = outcome.value;
    }
    const candidates = plugins.metrics.some((metric) => metric.needsCandidates)
      ? await Promise.all(input.candidates.map((text) => plugins.parser.parse(text, context)))
      : undefined;
    const scores: Record<string, MetricScore> = {};
    for (const metric of plugins.metrics) {
      try {
        scores[metric.name] = metric.score({ parsed: input.parsed, target, text: input.text, ...(candidates ? { candidates } : {}) });
      } catch (error) {
        throw new Error(`metric '${metric.name}': ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }
    return { taskOrd, type: 'score-completed', payload: { scores } };
  } catch (error) {
    return { taskOrd, type: 'score-failed', payload: { failure: stageFailure(error) } };
  }
}
