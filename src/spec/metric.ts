import type { ParseOutcome } from './parser.js';

export interface ScoreInput {
  readonly parsed: ParseOutcome;
  /** The item's target after any target parsing; null when the dataset has no target. */
  readonly target: unknown;
  /** The reduced answer text. */
  readonly text: string;
  /** Every candidate, parsed: given to metrics that declare `needsCandidates` (e.g. pass@k). */
  readonly candidates?: readonly ParseOutcome[];
  /** The item's whole dataset row (e.g. a karenina question's translated answer template). */
  readonly fields?: Readonly<Record<string, unknown>>;
}

export interface MetricScore {
  /** In [0, 1] for the built-in metrics. */
  readonly value: number;
  /** Named parts reported beside the score as `metric.part` (e.g. per-field results of a template check). */
  readonly parts?: Readonly<Record<string, number>>;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface Metric {
  readonly specificationVersion: 'assay.metric.v1';
  /** The name scores are reported under; unique within an experiment. */
  readonly name: string;
  /** Whether `score` needs every candidate parsed, not only the reduced one. */
  readonly needsCandidates?: boolean;
  /** False when the metric does not apply to this item: the task then has no score under its name. */
  appliesTo?(input: ScoreInput): boolean;
  score(input: ScoreInput): MetricScore;
}
