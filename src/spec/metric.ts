import type { ParseOutcome } from './parser.js';

export interface ScoreInput {
  readonly parsed: ParseOutcome;
  /** The item's target after any target parsing; absent when the dataset has no target. */
  readonly target: unknown;
  readonly text: string;
}

export interface MetricScore {
  /** In [0, 1] for the built-in metrics. */
  readonly value: number;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface Metric {
  readonly specificationVersion: 'assay.metric.v1';
  /** The name scores are reported under; unique within an experiment. */
  readonly name: string;
  score(input: ScoreInput): MetricScore;
}
