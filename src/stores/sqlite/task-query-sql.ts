import type Database from 'better-sqlite3';
import { inputOf } from '../../core/item-fields.js';
import { taskCoordinates, type ManifestShape } from '../../core/manifest.js';
import type { StoredCandidate, StoredReduction } from '../../spec/event.js';
import type { RunSnapshot } from '../../spec/snapshot.js';
import type { TaskFilter, TaskQuery, TaskQueryPage, TaskResultRow } from '../../spec/store.js';
import { loadReduction } from '../../core/reduction.js';
import { answerTexts, checkQuery, containsText, coordinatesMatch, likePatternInJson, pageOrds, pendingCanMatch, pendingRow, type TaskQueryPartResult } from '../task-query.js';
import { resultColumns, toResultRow } from './result-sql.js';

/**
 * Store.queryTasks over SQLite (docs/adr/0017-the-viewer.md). The task rows are filtered in SQL: model and
 * prompt by arithmetic on the position, a dataset by its range of positions, stage and failure through
 * tasks_claimable and tasks_by_failure, a score through task_scores_by_value. Tasks without a row (never
 * claimed: pending at generate) follow from the run's `fresh_from` and are added in memory. The text search
 * is a scan: a LIKE over the JSON of the items and of the answer events narrows it (two sequential scans), and
 * every candidate is then checked exactly (input and answer texts) in memory.
 */

export interface QueriedRun {
  readonly pk: number;
  readonly location: string;
  readonly snapshot: RunSnapshot;
  readonly shape: ManifestShape;
  readonly taskCount: number;
  readonly freshFrom: number;
  readonly pipeline: { readonly hasJudges: boolean };
}

type Part = (skip: number, want: number) => TaskQueryPartResult;

interface DatasetRange {
  /** Task positions [from, to) of the dataset's items, or null when its items are not contiguous. */
  readonly range: readonly [number, number] | null;
  readonly exists: boolean;
}

function datasetRange(db: Database.Database, run: QueriedRun, datasetId: string): DatasetRange {
  const row = db
    .prepare<[number, string], { lo: number | null; hi: number | null; n: number }>('SELECT min(ord) AS lo, max(ord) AS hi, count(*) AS n FROM items WHERE run_pk = ? AND dataset_id = ?')
    .get(run.pk, datasetId)!;
  if (row.n === 0 || row.lo === null || row.hi === null) return { range: null, exists: false };
  const contiguous = row.hi - row.lo + 1 === row.n;
  return { range: contiguous ? [row.lo * run.shape.perItem, (row.hi + 1) * run.shape.perItem] : null, exists: true };
}

export async function queryTasksSql(db: Database.Database, run: QueriedRun, query: TaskQuery): Promise<TaskQueryPage> {
  const { offset, limit, needle } = checkQuery(run.location, query);
  const filter: TaskFilter = query.filter ?? {};
  const sort = query.sort ?? { by: 'ord' as const };
  const { shape } = run;
  

  const dataset = filter.datasetId !== undefined ? datasetRange(db, run, filter.datasetId) : null;
  if (dataset && !dataset.exists) return { rows: [], more: false };

  const where: string[] = ['t.run_pk = @pk'];
  const joins: string[] = [];
  const params: Record<string, unknown> = { pk: run.pk };
  // The manifest's sizes go into the SQL as integer literals (a bound JS number may be a REAL, and `/` would not truncate).
  const perItem = String(Math.trunc(shape.perItem));
  const replicates = String(Math.trunc(shape.replicates));
  const perModelText = String(Math.trunc(shape.promptIds.length * shape.replicates));
  if (filter.modelIndex !== undefined) {
    where.push(`(t.ord % ${perItem}) / ${perModelText} = @model`);
    params.model = filter.modelIndex;
  }
  if (filter.promptIndex !== undefined) {
    where.push(`(t.ord % ${perModelText}) / ${replicates} = @prompt`);
    params.prompt = filter.promptIndex;
  }
  if (dataset?.range) {
    where.push('t.ord >= @dsFrom AND t.ord < @dsTo');
    [params.dsFrom, params.dsTo] = dataset.range;
  } else if (dataset) {
    where.push(`EXISTS (SELECT 1 FROM items i WHERE i.run_pk = t.run_pk AND i.ord = t.ord / ${perItem} AND i.dataset_id = @dataset)`);
    params.dataset = filter.datasetId;
  }
  if (filter.nextStage !== undefined) {
    where.push('t.next_stage = @stage');
    params.stage = filter.nextStage;
  }
  if (filter.failureCategory !== undefined) {
    // The expression of the partial index tasks_by_failure, as written there.
    where.push("t.failed = 1 AND json_extract(t.failure, '$.category') = @category");
    params.category = filter.failureCategory;
  } else if (filter.failed !== undefined) {
    where.push('t.failed = @failed');
    params.failed = filter.failed ? 1 : 0;
  }
  if (filter.score !== undefined) {
    joins.push('JOIN task_scores s ON s.run_pk = t.run_pk AND s.ord = t.ord AND s.name = @scoreName');
    params.scoreName = filter.score.name;
    if (filter.score.pass === true) where.push('s.value >= 1');
    if (filter.score.pass === false) where.push('s.value < 1');
    if (filter.score.min !== undefined) {
      where.push('s.value >= @scoreMin');
      params.scoreMin = filter.score.min;
    }
    if (filter.score.max !== undefined) {
      where.push('s.value <= @scoreMax');
      params.scoreMax = filter.score.max;
    }
  }
  const like = needle === null ? null : likePatternInJson(needle);
  if (like !== null) {
    // A superset of the matches, each checked exactly below: items whose row (as JSON) has the text, and tasks
    // with an answer event that has it (any, current or not). SQLite's LIKE folds ASCII case only, as the
    // search does; each set is one sequential scan, built once per query.
    where.push(`((t.ord / ${perItem}) IN (SELECT i.ord FROM items i WHERE i.run_pk = @pk AND i.fields LIKE @pattern ESCAPE '\\')
      OR t.ord IN (SELECT e.task_ord FROM events e NOT INDEXED WHERE e.run_pk = @pk AND e.type IN ('generate-completed', 'reduce-completed') AND e.payload LIKE @pattern ESCAPE '\\'))`);
    params.pattern = like;
  }
  const direction = sort.descending ? 'DESC' : 'ASC';
  const filterJoins = joins.join(' ');
  /** One ordered slice of the task rows: the filter's joins and conditions plus its own. */
  const select = (from: string, extra: readonly string[], order: string) => ({
    sql: `SELECT t.ord FROM ${from} ${filterJoins} WHERE ${[...where, ...extra].join(' AND ')} ORDER BY ${order}`,
    count: `SELECT count(*) FROM ${from} ${filterJoins} WHERE ${[...where, ...extra].join(' AND ')}`,
  });
  let sqlParts: { sql: string; count: string }[];
  if (sort.by === 'score') {
    params.sortName = sort.name;
    // Scored tasks by value (walking task_scores_by_value), then the tasks without that score by position.
    sqlParts = [
      select('task_scores o JOIN tasks t ON t.run_pk = o.run_pk AND t.ord = o.ord', ['o.run_pk = @pk', 'o.name = @sortName'], `o.value ${direction}, o.ord ${direction}`),
      select('tasks t', ['NOT EXISTS (SELECT 1 FROM task_scores o WHERE o.run_pk = t.run_pk AND o.ord = t.ord AND o.name = @sortName)'], `t.ord ${direction}`),
    ];
  } else {
    sqlParts = [select('tasks t', [], `t.ord ${direction}`)];
  }

  const itemStatement = db.prepare<[number, number], { dataset_id: string; fields: string }>('SELECT dataset_id, fields FROM items WHERE run_pk = ? AND ord = ?');
  const inputAt = (itemOrd: number): string => {
    const item = itemStatement.get(run.pk, itemOrd);
    if (!item) return '';
    const identity = run.snapshot.datasets.find((candidate) => candidate.id === item.dataset_id);
    return identity ? inputOf(JSON.parse(item.fields), identity) : '';
  };
  const taskStatement = db.prepare<[number, number], { candidate_seqs: string | null; reduce_seq: number | null }>('SELECT candidate_seqs, reduce_seq FROM tasks WHERE run_pk = ? AND ord = ?');
  const payloadStatement = db.prepare<[number], { payload: string }>('SELECT payload FROM events WHERE seq = ?');
  const payload = (seq: number | null | undefined): unknown => (seq == null ? null : JSON.parse(payloadStatement.get(seq)?.payload ?? 'null'));
  const textMatches = (ord: number, withAnswer: boolean): boolean => {
    const texts = [inputAt(taskCoordinates(shape, ord).itemOrd)];
    if (withAnswer) {
      const task = taskStatement.get(run.pk, ord);
      const seqs: (number | null)[] = task?.candidate_seqs ? JSON.parse(task.candidate_seqs) : [];
      const candidates = seqs.map((seq) => (payload(seq) as { candidate: StoredCandidate } | null)?.candidate ?? null);
      const reduction = (payload(task?.reduce_seq) as { reduced: StoredReduction } | null)?.reduced;
      texts.push(...answerTexts({ candidates, reduced: reduction ? loadReduction(reduction, candidates) : null }));
    }
    return containsText(texts, needle!);
  };

  const rowsPart =
    (part: { sql: string; count: string }): Part =>
    (skip, want) => {
      if (needle === null) {
        const ords = db.prepare(`${part.sql} LIMIT @want OFFSET @skip`).pluck().all({ ...params, want, skip }) as number[];
        if (ords.length > 0 || skip === 0) return { ords, skipped: skip };
        return { ords, skipped: Math.min(skip, db.prepare(part.count).pluck().get(params) as number) };
      }
      const ords: number[] = [];
      let skipped = 0;
      for (const ord of db.prepare(part.sql).pluck().iterate(params) as IterableIterator<number>) {
        if (!textMatches(ord, true)) continue;
        if (skipped < skip) skipped++;
        else ords.push(ord);
        if (ords.length >= want) break;
      }
      return { ords, skipped };
    };

  const pending = new Set<number>();
  const pendingPart: Part = (skip, want) => {
    const ords: number[] = [];
    let skipped = 0;
    if (!pendingCanMatch(filter)) return { ords, skipped };
    const datasetOf = (itemOrd: number) => {
      if (filter.datasetId === undefined) return undefined;
      if (dataset?.range) return itemOrd * shape.perItem >= dataset.range[0] && itemOrd * shape.perItem < dataset.range[1] ? filter.datasetId : '';
      return itemStatement.get(run.pk, itemOrd)?.dataset_id;
    };
    const descending = sort.descending === true;
    let from = run.freshFrom;
    let to = run.taskCount;
    if (dataset?.range) {
      from = Math.max(from, dataset.range[0]);
      to = Math.min(to, dataset.range[1]);
    }
    for (let index = 0; index < to - from && ords.length < want; index++) {
      const ord = descending ? to - 1 - index : from + index;
      if (!coordinatesMatch(shape, ord, filter, datasetOf)) continue;
      if (needle !== null && !textMatches(ord, false)) continue;
      if (skipped < skip) skipped++;
      else {
        ords.push(ord);
        pending.add(ord);
      }
    }
    return { ords, skipped };
  };

  const ords = await pageOrds(sqlParts.map(rowsPart), pendingPart, sort.descending === true, offset, limit);
  // The page's result columns (events read per row) only for the rows shown.
  const stored = ords.filter((ord) => !pending.has(ord)).slice(0, limit);
  const found = new Map<number, TaskResultRow>();
  if (stored.length > 0) {
    const rows = db.prepare(`SELECT ${resultColumns(run.pipeline.hasJudges)} FROM tasks t WHERE t.run_pk = ? AND t.ord IN (SELECT value FROM json_each(?))`).raw(true).all(run.pk, JSON.stringify(stored)) as unknown[][];
    for (const raw of rows) found.set(raw[0] as number, toResultRow(raw));
  }
  return { rows: ords.slice(0, limit).map((ord) => found.get(ord) ?? pendingRow(ord)), more: ords.length > limit };
}
