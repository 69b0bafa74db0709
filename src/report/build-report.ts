import { UserError } from '../core/errors.js';
import {
  clusteredMean,
  comparePaired,
  estimateMean,
  holmAdjust,
  krippendorffAlpha,
  quantile,
  withinItemShare,
  type PairedEstimate,
} from '../core/statistics/index.js';
import { getUsageSummary } from '../experiment/summary.js';
import type { Store } from '../spec/store.js';
import { pipelineOf, shownThroughStage } from '../core/execution-state.js';
import {
  REPORT_SCHEMA,
  type AgreementStatistic,
  type ComparedSide,
  type Comparison,
  type GroupStatistic,
  type LatencyStatistic,
  type ReportDocument,
} from './report-document.js';
import { scanRun, type RunScan, type ScoreCells } from './scan-run.js';

export interface ReportOptions {
  /** Confidence level of every interval (default 0.95). */
  readonly level?: number;
  /** Item fields to split each group by, one split per field. */
  readonly by?: readonly string[];
  /** An item field whose equal values mark items that are not independent (a shared passage, a template). */
  readonly cluster?: string;
  /** Compare every other model with this one only (a minus baseline), instead of every pair. */
  readonly baseline?: string;
  /** Report only these scores (metric names, `judge.trait`, pass@k names). */
  readonly metrics?: readonly string[];
}

/** The item-level values of one score of one cell: replicates averaged per item, with the items' ords. */
export interface ItemValues {
  readonly ords: Int32Array;
  readonly values: Float64Array;
}

/** The `--by` value of items that lack the field. */
export const MISSING = '(missing)';

/** No scores at all: a cell whose every task failed still gets its rows, with n = 0 and its failures. */
function emptyCells(count: number): ScoreCells {
  return { sum: new Float64Array(count), sumOfSquares: new Float64Array(count), count: new Uint32Array(count) };
}

/** A t interval of values that all lie in [low, high] is clipped to that range (it says nothing beyond it). */
function clip(ci: readonly [number, number] | null, low: number, high: number): [number, number] | null {
  return ci ? [Math.max(low, ci[0]), Math.min(high, ci[1])] : null;
}

function within(values: ArrayLike<number>, low: number, high: number): boolean {
  for (let index = 0; index < values.length; index++) if (values[index]! < low || values[index]! > high) return false;
  return true;
}

export function checkLevel(level: number): number {
  if (!(level > 0 && level < 1)) throw new UserError('bad_option', `--level must be between 0 and 1 (exclusive), got ${level}`, { hint: 'for example --level 0.95' });
  return level;
}

/** The items among `candidates` that have a score in `cells`, each the mean of its replicates. */
export function itemValues(cells: ScoreCells, candidates: ArrayLike<number>): ItemValues {
  let n = 0;
  for (let index = 0; index < candidates.length; index++) if (cells.count[candidates[index]!]! > 0) n++;
  const ords = new Int32Array(n);
  const values = new Float64Array(n);
  let at = 0;
  for (let index = 0; index < candidates.length; index++) {
    const ord = candidates[index]!;
    const count = cells.count[ord]!;
    if (count === 0) continue;
    ords[at] = ord;
    values[at++] = cells.sum[ord]! / count;
  }
  return { ords, values };
}

/** The item ords of a dataset (items are stored dataset by dataset), and per split field, per value. */
function itemBuckets(scan: RunScan, dataset: number, by: readonly string[]): { all: Int32Array; byField: Map<string, Map<number, number[]>> } {
  const ords: number[] = [];
  for (let ord = 0; ord < scan.items.count; ord++) if (scan.items.datasetOf[ord] === dataset) ords.push(ord);
  const all = Int32Array.from(ords);
  const byField = new Map<string, Map<number, number[]>>();
  for (const field of by) {
    const codes = scan.items.fields.get(field)!.codes;
    const buckets = new Map<number, number[]>();
    for (const ord of all) {
      const code = codes[ord]!;
      let bucket = buckets.get(code);
      if (!bucket) buckets.set(code, (bucket = []));
      bucket.push(ord);
    }
    // Values in the order first seen; items without the field last.
    byField.set(field, new Map([...buckets].sort(([left], [right]) => (left < 0 ? 1 : right < 0 ? -1 : left - right))));
  }
  return { all, byField };
}

function subset(source: Float64Array | Uint32Array, ords: Int32Array): Float64Array {
  const out = new Float64Array(ords.length);
  for (let index = 0; index < ords.length; index++) out[index] = source[ords[index]!]!;
  return out;
}

/** Cluster ids for items; an item without the field is a cluster of its own. */
function clusterIds(scan: RunScan, field: string, ords: Int32Array): Int32Array {
  const codes = scan.items.fields.get(field)!.codes;
  const ids = new Int32Array(ords.length);
  let own = scan.items.fields.get(field)!.values.length;
  for (let index = 0; index < ords.length; index++) {
    const code = codes[ords[index]!]!;
    ids[index] = code >= 0 ? code : own++;
  }
  return ids;
}

function groupStatistic(
  scan: RunScan,
  options: Required<Pick<ReportOptions, 'level'>> & ReportOptions,
  key: { metric: string; cell: number; dataset: number; by: Record<string, string> },
  cells: ScoreCells,
  candidates: ArrayLike<number>,
): GroupStatistic | null {
  const { values, ords } = itemValues(cells, candidates);
  const promptCount = scan.shape.promptIds.length;
  const failed = scan.failed[key.cell];
  const identity = {
    model: scan.shape.modelIds[Math.floor(key.cell / promptCount)]!,
    prompt: scan.shape.promptIds[key.cell % promptCount]!,
    dataset: scan.items.datasetIds[key.dataset]!,
    by: key.by,
    metric: key.metric,
    kind: scan.scores.get(key.metric)!,
  };
  if (values.length === 0) {
    let failedTasks = 0;
    if (failed) for (let index = 0; index < candidates.length; index++) failedTasks += failed[candidates[index]!]!;
    if (failedTasks === 0) return null;
    return {
      ...identity,
      n: 0,
      observations: 0,
      failed: failedTasks,
      pending: Math.max(0, candidates.length * scan.shape.replicates - failedTasks),
      mean: null,
      se: null,
      ci: null,
      ciMethod: 't',
      binary: false,
      withinItemShare: null,
      cluster: null,
    };
  }
  const estimate = estimateMean(values, options.level);
  let observations = 0;
  let tasksInGroup = 0;
  let failedTasks = 0;
  for (let index = 0; index < candidates.length; index++) {
    const ord = candidates[index]!;
    tasksInGroup += scan.shape.replicates;
    observations += cells.count[ord]!;
    if (failed) failedTasks += failed[ord]!;
  }
  const share = scan.shape.replicates > 1 ? withinItemShare(subset(cells.sum, ords), subset(cells.sumOfSquares, ords), subset(cells.count, ords)) : null;
  const unit = within(values, 0, 1);
  let se = estimate.se;
  let ci = estimate.method === 't' && unit ? clip(estimate.ci, 0, 1) : estimate.ci;
  let ciMethod: GroupStatistic['ciMethod'] = estimate.method;
  let cluster: GroupStatistic['cluster'] = null;
  if (options.cluster) {
    const clustered = clusteredMean(values, clusterIds(scan, options.cluster, ords), options.level);
    se = clustered.se;
    ci = unit ? clip(clustered.ci, 0, 1) : clustered.ci;
    ciMethod = clustered.method;
    cluster = { field: options.cluster, clusters: clustered.clusters, seIndependent: clustered.seIndependent, designEffect: clustered.designEffect };
  }
  return {
    ...identity,
    n: values.length,
    observations,
    failed: failedTasks,
    pending: Math.max(0, tasksInGroup - observations - failedTasks),
    mean: estimate.mean,
    se,
    ci,
    ciMethod,
    binary: estimate.binary,
    withinItemShare: share,
    cluster,
  };
}

/** The pairs of cells to compare: every other model against the baseline, or every pair of models (per prompt) and of prompts (per model). */
function cellPairs(scan: RunScan, baseline: string | undefined): [number, number][] {
  const models = scan.shape.modelIds.length;
  const prompts = scan.shape.promptIds.length;
  const cell = (model: number, prompt: number) => model * prompts + prompt;
  const pairs: [number, number][] = [];
  if (baseline !== undefined) {
    const base = scan.shape.modelIds.indexOf(baseline);
    for (let prompt = 0; prompt < prompts; prompt++)
      for (let model = 0; model < models; model++) if (model !== base) pairs.push([cell(model, prompt), cell(base, prompt)]);
    return pairs;
  }
  for (let prompt = 0; prompt < prompts; prompt++)
    for (let a = 0; a < models; a++) for (let b = a + 1; b < models; b++) pairs.push([cell(a, prompt), cell(b, prompt)]);
  for (let model = 0; model < models; model++)
    for (let a = 0; a < prompts; a++) for (let b = a + 1; b < prompts; b++) pairs.push([cell(model, a), cell(model, b)]);
  return pairs;
}

/** Paired item values of two cells over the items among `candidates` both scored. */
export function pairedValues(left: ScoreCells, right: ScoreCells, candidates: ArrayLike<number>): { a: Float64Array; b: Float64Array; ords: Int32Array } {
  const ords: number[] = [];
  for (let index = 0; index < candidates.length; index++) {
    const ord = candidates[index]!;
    if (left.count[ord]! > 0 && right.count[ord]! > 0) ords.push(ord);
  }
  const a = new Float64Array(ords.length);
  const b = new Float64Array(ords.length);
  ords.forEach((ord, index) => {
    a[index] = left.sum[ord]! / left.count[ord]!;
    b[index] = right.sum[ord]! / right.count[ord]!;
  });
  return { a, b, ords: Int32Array.from(ords) };
}

/**
 * A comparison as reported, from a paired estimate over the item values `a` and `b`: its interval clipped to
 * [-1, 1] when both sides' scores lie in [0, 1]. `pAdjusted` is added per family by `adjustFamilies`.
 */
export function comparisonOf(metric: string, dataset: string, a: ComparedSide, b: ComparedSide, estimate: PairedEstimate, valuesA: ArrayLike<number>, valuesB: ArrayLike<number>): Omit<Comparison, 'pAdjusted'> {
  return {
    metric,
    dataset,
    a,
    b,
    n: estimate.n,
    meanDiff: estimate.meanDiff,
    se: estimate.se,
    ci: within(valuesA, 0, 1) && within(valuesB, 0, 1) ? clip(estimate.ci, -1, 1) : estimate.ci,
    ciMethod: estimate.ciMethod,
    pValue: estimate.pValue,
    test: estimate.test,
    correlation: estimate.correlation,
    unpairedSe: estimate.unpairedSe,
    mde: estimate.mde,
    flipped: estimate.flipped,
  };
}

/** Holm adjustment within each family of comparisons (same metric and dataset). */
export function adjustFamilies<T extends { metric: string; dataset: string; pValue: number | null }>(comparisons: T[]): (T & { pAdjusted: number | null })[] {
  const families = new Map<string, number[]>();
  comparisons.forEach((comparison, index) => {
    if (comparison.pValue === null) return;
    const key = `${comparison.metric}\u0000${comparison.dataset}`;
    const family = families.get(key) ?? [];
    family.push(index);
    families.set(key, family);
  });
  const adjusted = new Array<number | null>(comparisons.length).fill(null);
  for (const family of families.values()) {
    const values = holmAdjust(family.map((index) => comparisons[index]!.pValue!));
    family.forEach((index, position) => (adjusted[index] = values[position]!));
  }
  return comparisons.map((comparison, index) => ({ ...comparison, pAdjusted: adjusted[index]! }));
}

function agreement(scan: RunScan): AgreementStatistic[] {
  const rows: AgreementStatistic[] = [];
  for (const [key, entry] of scan.ratings) {
    if (!scan.scores.has(key)) continue;
    const units = entry.units.map((unit) => unit.map((value) => (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : null)));
    const numeric = units.every((unit) => unit.every((value) => value === null || typeof value === 'number'));
    const level = numeric ? 'interval' : 'nominal';
    const rated = units.filter((unit) => unit.filter((value) => value !== null).length >= 2);
    rows.push({
      judge: entry.judge,
      trait: entry.trait,
      measure: 'krippendorff-alpha',
      level,
      value: krippendorffAlpha(rated, level),
      units: rated.length,
      raters: Math.max(0, ...units.map((unit) => unit.length)),
    });
  }
  return rows;
}

function latency(scan: RunScan): LatencyStatistic[] {
  return scan.shape.modelIds.flatMap((model, index) => {
    const values = scan.latencies[index]!;
    if (values.length === 0) return [];
    const sorted = Float64Array.from(values);
    return [{ model, calls: values.length, p50Ms: quantile(sorted, 0.5)!, p95Ms: quantile(sorted, 0.95)! }];
  });
}

/** The error for a run with no score yet, saying how far it got. */
export function nothingScored(scan: RunScan): UserError {
  const through = scan.run.completedThroughStage ? `complete through ${shownThroughStage(scan.run.completedThroughStage, pipelineOf(scan.run.snapshot))}` : `furthest task at ${scan.reached}`;
  return new UserError('nothing_scored', `run ${scan.run.runId.slice(0, 12)} has nothing scored yet (${scan.run.status}, ${through})`, {
    hint: 'continue it through the score stage: `assay run CONFIG` (with no --until-stage, or --until-stage score)',
  });
}

/** Checks the options against what the run holds; every problem is one line. */
function checkOptions(scan: RunScan, options: ReportOptions): string[] {
  if (scan.scores.size === 0) throw nothingScored(scan);
  if (options.baseline !== undefined && !scan.shape.modelIds.includes(options.baseline)) {
    throw new UserError('unknown_model', `--baseline ${options.baseline} is not a model of this run`, { hint: `its models are: ${scan.shape.modelIds.join(', ')}` });
  }
  const metrics = options.metrics && options.metrics.length > 0 ? [...options.metrics] : [...scan.scores.keys()];
  for (const metric of metrics) {
    if (!scan.scores.has(metric)) {
      throw new UserError('unknown_metric', `run ${scan.run.runId.slice(0, 12)} has no scores named '${metric}'`, { hint: `its scores are: ${[...scan.scores.keys()].join(', ')}` });
    }
  }
  return metrics;
}

/**
 * The report of one stored run: per group and score, the mean with its standard error and interval; paired
 * comparisons between models and between prompts; usage, cost, latency, failures and judge agreement. Reads
 * the store through paged, indexed queries only.
 */
export async function buildReport(store: Store, runId: string, options: ReportOptions = {}): Promise<ReportDocument> {
  const level = checkLevel(options.level ?? 0.95);
  const by = [...new Set(options.by ?? [])];
  const fields = [...by, ...(options.cluster ? [options.cluster] : [])];
  const scan = await scanRun(store, runId, { fields });
  const metrics = checkOptions(scan, options);
  const settings = { ...options, level };
  const groups: GroupStatistic[] = [];
  const rawComparisons: Omit<Comparison, 'pAdjusted'>[] = [];
  const cellCount = scan.shape.modelIds.length * scan.shape.promptIds.length;
  const promptCount = scan.shape.promptIds.length;
  const side = (cell: number, mean: number) => ({ model: scan.shape.modelIds[Math.floor(cell / promptCount)]!, prompt: scan.shape.promptIds[cell % promptCount]!, mean });

  const bucketCache = new Map<number, ReturnType<typeof itemBuckets>>();
  const bucketsOf = (dataset: number) => {
    let buckets = bucketCache.get(dataset);
    if (!buckets) bucketCache.set(dataset, (buckets = itemBuckets(scan, dataset, by)));
    return buckets;
  };
  for (const metric of metrics) {
    const byCell = scan.cells.get(metric)!;
    for (let dataset = 0; dataset < scan.items.datasetIds.length; dataset++) {
      const buckets = bucketsOf(dataset);
      for (let cell = 0; cell < cellCount; cell++) {
        const cells = byCell[cell] ?? (scan.failed[cell] ? emptyCells(scan.items.count) : undefined);
        if (!cells) continue;
        const whole = groupStatistic(scan, settings, { metric, cell, dataset, by: {} }, cells, buckets.all);
        if (whole) groups.push(whole);
        for (const field of by) {
          const values = scan.items.fields.get(field)!.values;
          for (const [code, ords] of buckets.byField.get(field)!) {
            const group = groupStatistic(scan, settings, { metric, cell, dataset, by: { [field]: code < 0 ? MISSING : values[code]! } }, cells, ords);
            if (group) groups.push(group);
          }
        }
      }
      for (const [left, right] of cellPairs(scan, options.baseline)) {
        const a = byCell[left];
        const b = byCell[right];
        if (!a || !b) continue;
        const paired = pairedValues(a, b, buckets.all);
        if (paired.ords.length === 0) continue;
        const clusters = options.cluster ? clusterIds(scan, options.cluster, paired.ords) : undefined;
        const estimate = comparePaired(paired.a, paired.b, level, clusters);
        rawComparisons.push(comparisonOf(metric, scan.items.datasetIds[dataset]!, side(left, estimate.meanA), side(right, estimate.meanB), estimate, paired.a, paired.b));
      }
    }
  }

  const { usage, cost } = await getUsageSummary(store, runId);
  const failureRows = await store.countFailures(runId);
  const pending = scan.run.taskCount - scan.totals.scored - scan.totals.failed;
  return {
    schema: REPORT_SCHEMA,
    runId,
    name: scan.run.name,
    status: scan.run.status,
    completedThroughStage: shownThroughStage(scan.run.completedThroughStage, pipelineOf(scan.run.snapshot)),
    generatedAt: new Date().toISOString(),
    level,
    by,
    cluster: options.cluster ?? null,
    baseline: options.baseline ?? null,
    tasks: { total: scan.run.taskCount, scored: scan.totals.scored, failed: scan.totals.failed, pending: Math.max(0, pending) },
    groups,
    comparisons: adjustFamilies(rawComparisons),
    usage,
    cost,
    latency: latency(scan),
    failures: failureRows.map((row) => ({ stage: row.stage, category: row.category, count: row.count })),
    agreement: agreement(scan),
  };
}
