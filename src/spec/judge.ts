import type { MetricScore } from './metric.js';
import type { ParseOutcome } from './parser.js';
import type { PluginContext } from './plugin-context.js';

/** What a judge sees of one task. */
export interface JudgeInput {
  readonly item: {
    readonly id: string;
    readonly input: string;
    /** The target as written in the dataset (before any target parsing). */
    readonly target: unknown;
    readonly fields: Readonly<Record<string, unknown>>;
  };
  /** The reduced answer being judged. */
  readonly answer: string;
  readonly parsed: ParseOutcome | null;
  /** Another answering model's answer to the same item, prompt and replicate (pairwise judges). */
  readonly other?: { readonly modelId: string; readonly answer: string };
}

/** One call of one judge model: everything needed to audit it later. */
export interface JudgeExecution {
  readonly model: string;
  readonly prompt: { readonly system: string | null; readonly user: string };
  readonly rawResponse: string;
  /** How the reply was read: from structured output, JSON found in the text, or labelled lines. */
  readonly readAs: 'structured' | 'json' | 'labelled';
  readonly parsed: Readonly<Record<string, unknown>>;
  readonly abstained?: boolean;
  readonly swapped?: boolean;
}

/** The outcome of one judge on one task. */
export interface Judgment {
  readonly judge: string;
  readonly kind: string;
  readonly executions: readonly JudgeExecution[];
  /** Scores by name (`judge.trait`), after aggregating the panel. */
  readonly scores: Readonly<Record<string, MetricScore>>;
  /** How the panel's answers became the scores. */
  readonly aggregation: Readonly<Record<string, unknown>>;
}

export interface Judge {
  readonly specificationVersion: 'assay.judge.v1';
  readonly id: string;
  /** Set for pairwise judges that compare with another answering model: the engine supplies `other`. */
  readonly againstModel?: string;
  judge(input: JudgeInput, context: PluginContext): Promise<Judgment>;
}
