import type { CostSummary, UsageSummary } from '../experiment/summary.js';
import type { RunStatus } from '../spec/store.js';
import type { Stage } from '../spec/stage.js';

/** The version of the report's JSON shape: bumped when a field changes meaning or goes away. */
export const REPORT_SCHEMA = 'assay.report.v1';

/** How an interval was computed. */
export type IntervalMethod = 't' | 'wilson' | 'clustered-t';

/** A score's kind: a deterministic metric (`exact-match`), a judge trait (`judge.trait`), or pass@k. */
export type ScoreKind = 'metric' | 'judge' | 'pass-at-k';

/** One score (metric, judge trait or pass@k) of one group: a model x prompt x dataset, optionally split by item fields. */
export interface GroupStatistic {
  readonly model: string;
  readonly prompt: string;
  readonly dataset: string;
  /** The `--by` fields and this group's value of each (empty for the whole dataset). */
  readonly by: Readonly<Record<string, string>>;
  readonly metric: string;
  readonly kind: ScoreKind;
  /** Items with at least one score (replicates of an item are averaged first); 0 when every task failed. */
  readonly n: number;
  /** Scored tasks behind those items (n x replicates when every replicate is scored). */
  readonly observations: number;
  /** Tasks of this group that failed before they could be scored. */
  readonly failed: number;
  /** Tasks of this group not scored yet. */
  readonly pending: number;
  /** Null when nothing was scored (n = 0). */
  readonly mean: number | null;
  /** Standard error of the mean (clustered with `--cluster`); null when n < 2 (or a single cluster). */
  readonly se: number | null;
  /**
   * The interval at the report's level; null when it cannot be computed (a t interval without `se`). A t
   * interval of scores that all lie in [0, 1] is clipped to [0, 1].
   */
  readonly ci: readonly [number, number] | null;
  readonly ciMethod: IntervalMethod;
  /** Whether every score was 0 or 1 (one observation per item). */
  readonly binary: boolean;
  /**
   * With replicates: the share of the mean's variance that comes from disagreement between replicates of an
   * item (more samples help) rather than between items (more items help). Null with one replicate.
   */
  readonly withinItemShare: number | null;
  /** Set with `--cluster`. */
  readonly cluster: ClusterStatistic | null;
}

export interface ClusterStatistic {
  readonly field: string;
  readonly clusters: number;
  /** The standard error as if items were independent, for comparison. */
  readonly seIndependent: number | null;
  /** (clustered se / independent se)^2: how many times more variance the clustering causes. */
  readonly designEffect: number | null;
}

export interface ComparedSide {
  readonly model: string;
  readonly prompt: string;
  /** Set by `assay compare`: which run this side comes from. */
  readonly runId?: string;
  readonly mean: number;
}

/** A paired comparison of two groups over the items both scored: a minus b. */
export interface Comparison {
  readonly metric: string;
  readonly dataset: string;
  readonly a: ComparedSide;
  readonly b: ComparedSide;
  /** Items both sides scored. */
  readonly n: number;
  readonly meanDiff: number;
  /** Paired standard error of the difference (clustered with `--cluster`); null when n < 2. */
  readonly se: number | null;
  readonly ci: readonly [number, number] | null;
  readonly ciMethod: IntervalMethod;
  readonly pValue: number | null;
  /** Holm-adjusted over the comparisons of the same metric and dataset (equal to pValue when there is one). */
  readonly pAdjusted: number | null;
  /** exact McNemar (0/1 scores), paired t (others), or clustered t with `--cluster` (any scores). */
  readonly test: 'mcnemar-exact' | 'paired-t' | 'clustered-t';
  /** Pearson correlation of the two sides' item scores; null when either side is constant. */
  readonly correlation: number | null;
  /** The standard error if the two sides were independent samples: what pairing saves. */
  readonly unpairedSe: number | null;
  /** The smallest true difference this n detects with 80% power at the report's level (two-sided). */
  readonly mde: number | null;
  /** Items only a got right and items only b got right (0/1 scores), else items where a > b and b > a. */
  readonly flipped: readonly [number, number];
}

/** Item-level detail of `assay compare`: for one comparison, the items that flipped each way. */
export interface FlippedItems {
  readonly metric: string;
  readonly dataset: string;
  readonly a: { readonly model: string; readonly prompt: string };
  readonly b: { readonly model: string; readonly prompt: string };
  /** Items where a scored higher (for 0/1 scores: a right, b wrong), and where b did; at most `limit` each. */
  readonly aOnly: readonly FlippedItem[];
  readonly bOnly: readonly FlippedItem[];
  /** True when a list was cut at the limit (the comparison's `flipped` has the full counts). */
  readonly truncated: boolean;
}

export interface FlippedItem {
  readonly dataset: string;
  readonly item: string;
  readonly a: number;
  readonly b: number;
}

export interface LatencyStatistic {
  readonly model: string;
  /** Answering calls timed. */
  readonly calls: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
}

export interface FailureStatistic {
  readonly stage: Stage;
  readonly category: string;
  readonly count: number;
}

/** Agreement of a judge panel on one trait, over the tasks where at least two judges rated it. */
export interface AgreementStatistic {
  readonly judge: string;
  readonly trait: string;
  readonly measure: 'krippendorff-alpha';
  /** nominal for labels and booleans, interval for numbers. */
  readonly level: 'nominal' | 'interval';
  /** Null when the raters never disagree and never vary (alpha is undefined). */
  readonly value: number | null;
  readonly units: number;
  readonly raters: number;
}

export interface ReportDocument {
  readonly schema: typeof REPORT_SCHEMA;
  readonly runId: string;
  readonly name: string;
  readonly status: RunStatus;
  readonly completedThroughStage: Stage | null;
  readonly generatedAt: string;
  readonly level: number;
  readonly by: readonly string[];
  readonly cluster: string | null;
  readonly baseline: string | null;
  readonly tasks: { readonly total: number; readonly scored: number; readonly failed: number; readonly pending: number };
  readonly groups: readonly GroupStatistic[];
  readonly comparisons: readonly Comparison[];
  readonly usage: readonly UsageSummary[];
  readonly cost: CostSummary;
  readonly latency: readonly LatencyStatistic[];
  readonly failures: readonly FailureStatistic[];
  readonly agreement: readonly AgreementStatistic[];
}

/** What `assay compare` returns: two runs paired by item. */
export interface CompareDocument {
  readonly schema: 'assay.compare.v1';
  readonly runA: { readonly runId: string; readonly name: string };
  readonly runB: { readonly runId: string; readonly name: string };
  readonly generatedAt: string;
  readonly level: number;
  /** Items (dataset and id) that both runs have, and those only one has (left out of every comparison). */
  readonly sharedItems: number;
  readonly onlyInA: number;
  readonly onlyInB: number;
  /** Model x prompt cells of one run with no counterpart in the other (compared with nothing). */
  readonly unmatched: readonly { readonly run: 'a' | 'b'; readonly model: string; readonly prompt: string }[];
  readonly comparisons: readonly Comparison[];
  readonly flippedItems: readonly FlippedItems[];
}
