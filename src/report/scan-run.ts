import { UserError } from '../core/errors.js';
import { getField } from '../core/field-path.js';
import { manifestShape, taskCoordinates, type ManifestShape } from '../core/manifest.js';
import { stageName } from '../spec/stage.js';
import type { RunRecord, Store, TaskResultRow } from '../spec/store.js';
import type { ScoreKind } from './report-document.js';

/** Tasks read per store query; items per item query. */
const RESULT_PAGE = 10_000;
const ITEM_PAGE = 5_000;

/** What the scan needs to know of each item: its dataset, and the values of the fields the report splits by. */
export interface ItemTable {
  readonly count: number;
  readonly datasetIds: readonly string[];
  /** Dataset index per item ord. */
  readonly datasetOf: Int32Array;
  /** Per requested field: a code per item (-1 where the item lacks the field) and the value of each code. */
  readonly fields: ReadonlyMap<string, { readonly codes: Int32Array; readonly values: readonly string[] }>;
  /** Item ids by ord; read only when asked for (run comparison pairs items by id). */
  readonly itemIds: readonly string[] | null;
}

/** Per-item sums of one score for one model x prompt cell: replicates of an item add up here. */
export interface ScoreCells {
  readonly sum: Float64Array;
  readonly sumOfSquares: Float64Array;
  readonly count: Uint32Array;
}

/** Everything the report computes from, gathered in one pass over the run's task results. */
export interface RunScan {
  readonly run: RunRecord;
  readonly shape: ManifestShape;
  readonly items: ItemTable;
  /** Score names in the order first seen, with their kind. */
  readonly scores: ReadonlyMap<string, ScoreKind>;
  /** cells.get(score)[modelIndex * prompts + promptIndex]: per-item sums, or undefined when nothing was scored. */
  readonly cells: ReadonlyMap<string, (ScoreCells | undefined)[]>;
  /** Failed tasks per cell and item. */
  readonly failed: (Uint32Array | undefined)[];
  readonly totals: { scored: number; failed: number };
  /** Answering-call latencies per model index. */
  readonly latencies: readonly number[][];
  /** Per `judge` + trait: one unit per judged task, one rating per panel member. */
  readonly ratings: ReadonlyMap<string, { readonly judge: string; readonly trait: string; readonly units: unknown[][] }>;
  /** The furthest stage any task reached, for messages. */
  readonly reached: string;
}

export interface ScanOptions {
  readonly fields?: readonly string[];
  readonly itemIds?: boolean;
}

/** How many items each dataset of the snapshot holds, in manifest order. */
function datasetRanges(run: RunRecord): { ids: string[]; datasetOf: Int32Array; count: number } {
  const count = run.snapshot.datasets.reduce((total, dataset) => total + dataset.itemCount, 0);
  const datasetOf = new Int32Array(count);
  let start = 0;
  run.snapshot.datasets.forEach((dataset, index) => {
    datasetOf.fill(index, start, start + dataset.itemCount);
    start += dataset.itemCount;
  });
  return { ids: run.snapshot.datasets.map((dataset) => dataset.id), datasetOf, count };
}

function fieldText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * Reads the items a page at a time (an indexed range query) and keeps only what the report needs: the values
 * of the split and cluster fields, coded as integers, and the ids when asked for.
 */
export async function readItemTable(store: Store, run: RunRecord, options: ScanOptions): Promise<ItemTable> {
  const { ids, datasetOf, count } = datasetRanges(run);
  const fieldNames = [...new Set(options.fields ?? [])];
  const fields = new Map<string, { codes: Int32Array; values: string[]; index: Map<string, number> }>();
  for (const name of fieldNames) fields.set(name, { codes: new Int32Array(count).fill(-1), values: [], index: new Map() });
  const itemIds = options.itemIds ? new Array<string>(count) : null;
  if (fieldNames.length > 0 || itemIds) {
    // Only the top-level fields the paths start with are read; the rest of a dotted path is followed here.
    const tops = [...new Set(fieldNames.filter((name) => name !== 'dataset').map((name) => name.split('.')[0]!))];
    const position = new Map(tops.map((top, index) => [top, index]));
    for (let after = -1; ; ) {
      const page = await store.readItemFields(run.runId, tops, after, ITEM_PAGE);
      for (const item of page) {
        if (itemIds) itemIds[item.ord] = `${item.datasetId}\u0000${item.itemId}`;
        for (const [name, field] of fields) {
          const [top, ...rest] = name.split('.');
          const raw = name === 'dataset' ? item.datasetId : item.values[position.get(top!)!];
          const text = fieldText(rest.length > 0 ? getField(raw, rest.join('.')) : raw);
          if (text === null) continue;
          let code = field.index.get(text);
          if (code === undefined) {
            code = field.values.length;
            field.values.push(text);
            field.index.set(text, code);
          }
          field.codes[item.ord] = code;
        }
      }
      if (page.length < ITEM_PAGE) break;
      after = page[page.length - 1]!.ord;
    }
    for (const [name, field] of fields) {
      if (field.values.length === 0) {
        const known = (await store.loadItemsAt(run.runId, [0])).get(0);
        const keys = known ? Object.keys(known.fields).slice(0, 12).join(', ') : '';
        throw new UserError('unknown_field', `no item of run ${run.runId.slice(0, 12)} has a field '${name}'`, {
          hint: keys ? `the items have: ${keys}` : 'the run has no items',
        });
      }
    }
  }
  return {
    count,
    datasetIds: ids,
    datasetOf,
    fields: new Map([...fields].map(([name, field]) => [name, { codes: field.codes, values: field.values }])),
    itemIds,
  };
}

/** Score names that are pass@k metrics, from the run's metric specs. */
function passAtKNames(run: RunRecord): Set<string> {
  const names = new Set<string>();
  for (const metric of run.snapshot.metrics) {
    if (metric.id !== 'pass-at-k') continue;
    const args = metric.args as { name?: string; k?: number };
    names.add(args.name ?? `pass@${args.k}`);
  }
  return names;
}

/**
 * One pass over a run's task results, a page at a time, in manifest order. Memory is a few numbers per
 * item and score (the per-item sums), never the run's events or texts.
 */
export async function scanRun(store: Store, runId: string, options: ScanOptions = {}): Promise<RunScan> {
  const run = await store.getRun(runId);
  if (!run) throw new UserError('run_not_found', `no run ${runId} in store ${store.location}`);
  const shape = manifestShape(run.snapshot);
  const items = await readItemTable(store, run, options);
  const cellCount = shape.modelIds.length * shape.promptIds.length;
  const passAtK = passAtKNames(run);
  const scores = new Map<string, ScoreKind>();
  const cells = new Map<string, (ScoreCells | undefined)[]>();
  const failed: (Uint32Array | undefined)[] = new Array(cellCount).fill(undefined);
  const latencies: number[][] = shape.modelIds.map(() => []);
  const ratings = new Map<string, { judge: string; trait: string; units: unknown[][] }>();
  const totals = { scored: 0, failed: 0 };
  let furthest = 0;

  const add = (name: string, kind: ScoreKind, cell: number, itemOrd: number, value: number) => {
    let byCell = cells.get(name);
    if (!byCell) {
      byCell = new Array(cellCount).fill(undefined);
      cells.set(name, byCell);
      scores.set(name, kind);
    }
    let target = byCell[cell];
    if (!target) {
      target = { sum: new Float64Array(items.count), sumOfSquares: new Float64Array(items.count), count: new Uint32Array(items.count) };
      byCell[cell] = target;
    }
    target.sum[itemOrd]! += value;
    target.sumOfSquares[itemOrd]! += value * value;
    target.count[itemOrd]! += 1;
  };

  const visit = (row: TaskResultRow) => {
    const { itemOrd, modelIndex, promptIndex } = taskCoordinates(shape, row.ord);
    const cell = modelIndex * shape.promptIds.length + promptIndex;
    if (row.nextStage > furthest) furthest = row.nextStage;
    if (row.latencyMs !== null) latencies[modelIndex]!.push(row.latencyMs);
    if (row.failed) {
      totals.failed++;
      (failed[cell] ??= new Uint32Array(items.count))[itemOrd]! += 1;
    }
    if (row.scores) {
      totals.scored++;
      for (const name in row.scores) add(name, passAtK.has(name) ? 'pass-at-k' : 'metric', cell, itemOrd, row.scores[name]!);
    }
    if (row.judgeScores) for (const name in row.judgeScores) add(name, 'judge', cell, itemOrd, row.judgeScores[name]!);
    for (const panel of row.ratings ?? []) {
      const traits = new Set(panel.raters.flatMap((rater) => Object.keys(rater.values)));
      for (const trait of traits) {
        const key = `${panel.judge}.${trait}`;
        let entry = ratings.get(key);
        if (!entry) ratings.set(key, (entry = { judge: panel.judge, trait, units: [] }));
        entry.units.push(panel.raters.map((rater) => rater.values[trait] ?? null));
      }
    }
  };

  for (let after = -1; ; ) {
    const page = await store.readResults(runId, after, RESULT_PAGE);
    for (const row of page) visit(row);
    if (page.length < RESULT_PAGE) break;
    after = page[page.length - 1]!.ord;
  }
  return { run, shape, items, scores, cells, failed, totals, latencies, ratings, reached: stageName(furthest) };
}
