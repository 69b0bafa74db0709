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
  /** The item's whole dataset row. */
  readonly fields?: Readonly<Record<string, unknown>>;
}

export interface ScorePlugins {
  readonly metrics: readonly Metric[];
  /** The experiment's parser, for metrics that need every candidate parsed. */
  readonly parser: Parser;
  /** The dataset's target parser, if targets need extracting (e.g. the number after "####"). */
  readonly targetParser: Parser | null;
}

/** Scores a parsed answer with every metric; a target that cannot be read fails the stage with the reason. */
export function runScore(taskOrd: number, plugins: ScorePlugins, input: ScoreStageInput, context: PluginContext): TaskEvent | Promise<TaskEvent> {
  const fail = (error: unknown): TaskEvent => ({ taskOrd, type: 'score-failed', payload: { failure: stageFailure(error) } });
  try {
    let target = input.target;
    if (plugins.targetParser && target !== null && target !== undefined) {
      const raw = typeof target === 'string' ? target : JSON.stringify(target);
      const outcome = plugins.targetParser.parse(raw, context);
      if (outcome instanceof Promise) throw new Error('target parsers must not call models');
      if (!outcome.ok) throw new InvalidTargetError(`the target cannot be read (${outcome.reason}): ${JSON.stringify(raw.slice(-80))}`);
      target = outcome.value;
    }
    if (!plugins.metrics.some((metric) => metric.needsCandidates)) return scoreWith(taskOrd, plugins.metrics, input, target, undefined);
    const parsed = input.candidates.map((text) => plugins.parser.parse(text, context));
    if (parsed.every((outcome): outcome is ParseOutcome => !(outcome instanceof Promise))) return scoreWith(taskOrd, plugins.metrics, input, target, parsed);
    return Promise.all(parsed).then((candidates) => scoreWith(taskOrd, plugins.metrics, input, target, candidates), fail);
  } catch (error) {
    return fail(error);
  }
}

function scoreWith(taskOrd: number, metrics: readonly Metric[], input: ScoreStageInput, target: unknown, candidates: readonly ParseOutcome[] | undefined): TaskEvent {
  const scores: Record<string, MetricScore> = {};
  for (const metric of metrics) {
    try {
      const given = { parsed: input.parsed, target, text: input.text, ...(candidates ? { candidates } : {}), ...(input.fields ? { fields: input.fields } : {}) };
      if (metric.appliesTo?.(given) === false) continue;
      scores[metric.name] = metric.score(given);
    } catch (error) {
      return {
        taskOrd,
        type: 'score-failed',
        payload: { failure: stageFailure(new Error(`metric '${metric.name}': ${error instanceof Error ? error.message : String(error)}`, { cause: error })) },
      };
    }
  }
  return { taskOrd, type: 'score-completed', payload: { scores } };
}
