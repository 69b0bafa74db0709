import { manifestShape, taskCoordinates, type ManifestShape } from '../core/manifest.js';
import { StoreError } from '../core/errors.js';
import type { Store, TaskArtifacts, TaskFilter, TaskQuery, TaskQueryPage, TaskResultRow } from '../spec/store.js';

/**
 * The parts of `Store.queryTasks` every backend shares: the meaning of each condition (checked in memory),
 * and a scan that answers a query from a store's other reads (the files stores keep everything in memory).
 */

/** ASCII letters lowered, everything else kept: the case folding of the text search. */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/** The text of a task's answer the search looks in: every current candidate's text, then the reduced text. */
export function answerTexts(artifacts: Pick<TaskArtifacts, 'candidates' | 'reduced'> | undefined): string[] {
  if (!artifacts) return [];
  const texts = artifacts.candidates.flatMap((candidate) => (candidate ? [candidate.text] : []));
  if (artifacts.reduced) texts.push(artifacts.reduced.text);
  return texts;
}

/** Whether one of the texts contains the needle (already ASCII-lowered). */
export function containsText(texts: readonly string[], needle: string): boolean {
  return texts.some((text) => asciiLower(text).includes(needle));
}

/** A result row's value of a score (metric or `judge.trait`), or undefined. */
export function scoreOf(row: Pick<TaskResultRow, 'scores' | 'judgeScores'>, name: string): number | undefined {
  return row.scores?.[name] ?? row.judgeScores?.[name];
}

export function scoreMatches(value: number | undefined, condition: NonNullable<TaskFilter['score']>): boolean {
  if (value === undefined) return false;
  if (condition.pass === true && !(value >= 1)) return false;
  if (condition.pass === false && !(value < 1)) return false;
  if (condition.min !== undefined && !(value >= condition.min)) return false;
  if (condition.max !== undefined && !(value <= condition.max)) return false;
  return true;
}

/** The row of a task nobody has claimed: pending at generate. */
export function pendingRow(ord: number): TaskResultRow {
  return { ord, nextStage: 0, failed: false, failure: null, scores: null, judgeScores: null, ratings: null, latencyMs: null };
}

/** Whether a task nobody has claimed can match the filter (its text search aside: that looks at the input). */
export function pendingCanMatch(filter: TaskFilter): boolean {
  return filter.failed !== true && filter.failureCategory === undefined && (filter.nextStage === undefined || filter.nextStage === 0) && filter.score === undefined;
}

/** The conditions on a task's place in the manifest (model, prompt, dataset). */
export function coordinatesMatch(shape: ManifestShape, ord: number, filter: TaskFilter, datasetOfItem: (itemOrd: number) => string | undefined): boolean {
  if (filter.modelIndex === undefined && filter.promptIndex === undefined && filter.datasetId === undefined) return true;
  const at = taskCoordinates(shape, ord);
  if (filter.modelIndex !== undefined && at.modelIndex !== filter.modelIndex) return false;
  if (filter.promptIndex !== undefined && at.promptIndex !== filter.promptIndex) return false;
  if (filter.datasetId !== undefined && datasetOfItem(at.itemOrd) !== filter.datasetId) return false;
  return true;
}

/** The conditions on a task's state and scores (not its coordinates, not its text). */
export function stateMatches(row: TaskResultRow, filter: TaskFilter): boolean {
  if (filter.nextStage !== undefined && row.nextStage !== filter.nextStage) return false;
  if (filter.failed !== undefined && row.failed !== filter.failed) return false;
  if (filter.failureCategory !== undefined && (!row.failed || row.failure?.category !== filter.failureCategory)) return false;
  if (filter.score !== undefined && !scoreMatches(scoreOf(row, filter.score.name), filter.score)) return false;
  return true;
}

/** Checks a query's shape; a bad one is the caller's mistake, named. */
export function checkQuery(location: string, query: TaskQuery): { offset: number; limit: number; needle: string | null } {
  const offset = query.offset ?? 0;
  if (!Number.isInteger(query.limit) || query.limit < 1) throw new StoreError(location, `a task query needs a limit of 1 or more, got ${query.limit}`);
  if (!Number.isInteger(offset) || offset < 0) throw new StoreError(location, `a task query's offset must be 0 or more, got ${offset}`);
  const text = query.filter?.text;
  return { offset, limit: query.limit, needle: text ? asciiLower(text) : null };
}

/** Orders rows as TaskSort says (ties by ord in the sort's direction; rows without the sorted score last). */
export function sortRows(rows: TaskResultRow[], query: TaskQuery): TaskResultRow[] {
  const sort = query.sort ?? { by: 'ord' };
  const sign = sort.descending ? -1 : 1;
  if (sort.by === 'ord') return rows.sort((left, right) => sign * (left.ord - right.ord));
  return rows.sort((left, right) => {
    const a = scoreOf(left, sort.name);
    const b = scoreOf(right, sort.name);
    if (a === undefined || b === undefined) return a === b ? sign * (left.ord - right.ord) : a === undefined ? 1 : -1;
    return sign * (a !== b ? a - b : left.ord - right.ord);
  });
}

/**
 * Answers a query from a store's other reads: every result row, the items, and (for the text search) the
 * artifacts of the tasks the other conditions keep. For stores that hold a run in memory.
 */
export async function scanTaskQuery(store: Pick<Store, 'location' | 'getRun' | 'loadItems' | 'readResults' | 'loadArtifacts'>, runId: string, query: TaskQuery): Promise<TaskQueryPage> {
  const { offset, limit, needle } = checkQuery(store.location, query);
  const run = await store.getRun(runId);
  if (!run) throw new StoreError(store.location, `no run ${runId} in this store`);
  const shape = manifestShape(run.snapshot);
  const filter = query.filter ?? {};
  const items = await store.loadItems(runId);
  const results = new Map<number, TaskResultRow>();
  for (let after = -1; ; ) {
    const page = await store.readResults(runId, after, 10_000);
    for (const row of page) results.set(row.ord, row);
    if (page.length < 10_000) break;
    after = page[page.length - 1]!.ord;
  }
  let kept: TaskResultRow[] = [];
  for (let ord = 0; ord < run.taskCount; ord++) {
    if (!coordinatesMatch(shape, ord, filter, (itemOrd) => items[itemOrd]?.datasetId)) continue;
    const row = results.get(ord) ?? pendingRow(ord);
    if (stateMatches(row, filter)) kept.push(row);
  }
  if (needle !== null) {
    const found: TaskResultRow[] = [];
    for (let start = 0; start < kept.length; start += 1000) {
      const chunk = kept.slice(start, start + 1000);
      const artifacts = await store.loadArtifacts(runId, chunk.map((row) => row.ord));
      for (const row of chunk) {
        const input = items[taskCoordinates(shape, row.ord).itemOrd]?.input ?? '';
        if (containsText([input, ...answerTexts(artifacts.get(row.ord))], needle)) found.push(row);
      }
    }
    kept = found;
  }
  const sorted = sortRows(kept, query);
  return { rows: sorted.slice(offset, offset + limit), more: sorted.length > offset + limit };
}

/** One part of a task query's matches, in order: `skip` of them are passed over, then up to `want` returned. */
export type TaskQueryPart = (skip: number, want: number) => TaskQueryPartResult | Promise<TaskQueryPartResult>;

export interface TaskQueryPartResult {
  readonly ords: number[];
  /** How many of the `skip` asked for it passed over (fewer when it had fewer matches). */
  readonly skipped: number;
}

/**
 * The positions of one page of a backend's task query, up to `limit + 1` (one more than shown tells that
 * there are more), from its parts: `stored`, the task rows in the sort's order (one part, or by a score two:
 * the tasks with it, then those without), and `pending`, the tasks without a row. Those have no score and the
 * highest positions: in ascending order they come last; in descending order first, or (by a score) first
 * among the tasks without it.
 */
export async function pageOrds(stored: readonly TaskQueryPart[], pending: TaskQueryPart, descending: boolean, offset: number, limit: number): Promise<number[]> {
  const [first, second] = stored;
  const parts = !descending ? [first!, ...(second ? [second] : []), pending] : second ? [first!, pending, second] : [pending, first!];
  const ords: number[] = [];
  let skip = offset;
  for (const part of parts) {
    const want = limit + 1 - ords.length;
    if (want <= 0) break;
    const result = await part(skip, want);
    skip -= result.skipped;
    ords.push(...result.ords);
  }
  return ords;
}

/**
 * The LIKE pattern that narrows a text search in SQL (`\` escapes `%`, `_` and itself), or null when the needle
 * has a character JSON.stringify writes escaped: such a needle cannot be found in the stored JSON text as it
 * is, so the search is not narrowed and every candidate is checked exactly.
 */
export function likePatternInJson(needle: string): string | null {
  if (/["\\\u0000-\u001f]/.test(needle)) return null;
  return `%${needle.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}
