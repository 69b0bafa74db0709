import { taskCoordinates, type ManifestShape } from '../../core/manifest.js';
import type { StoredItem, TaskArtifacts, TaskFilter, TaskQuery, TaskQueryPage, TaskResultRow } from '../../spec/store.js';
import { answerTexts, checkQuery, containsText, coordinatesMatch, likePatternInJson, pageOrds, pendingCanMatch, pendingRow, type TaskQueryPartResult } from '../task-query.js';

/**
 * Store.queryTasks over PostgreSQL (docs/adr/0017-the-viewer.md, as SQLite's task-query-sql.ts does it). The
 * task rows are filtered in SQL: model and prompt by arithmetic on the position, a dataset by its range of
 * positions, the stage through tasks_by_stage, a failure through tasks_by_failure, a score through
 * task_scores_by_value; sorted by position or by a score value (ties by position, tasks without the score
 * after). Tasks without a row (never claimed: pending at generate) follow from the run's `fresh_from` and are
 * added in memory. The text search is a scan: an ILIKE over the JSON of the items and of the answer events
 * narrows it (sequential scans of the run's rows), and every candidate is then checked exactly (input and
 * answer texts) in memory, since ILIKE folds more than ASCII.
 */

export interface PgQueriedRun {
  readonly pk: number;
  readonly location: string;
  readonly shape: ManifestShape;
  readonly hasJudges: boolean;
}

export interface PgTaskQueryReads {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  itemsAt(itemOrds: readonly number[]): Promise<Map<number, StoredItem>>;
  artifactsAt(ords: readonly number[]): Promise<Map<number, TaskArtifacts>>;
  resultRowsAt(ords: readonly number[]): Promise<TaskResultRow[]>;
}

type Part = (skip: number, want: number) => Promise<TaskQueryPartResult>;

/** Candidates checked exactly per round trip in a text search. */
const TEXT_CHUNK = 200;

export async function queryTasksPg(reads: PgTaskQueryReads, run: PgQueriedRun, query: TaskQuery): Promise<TaskQueryPage> {
  const { offset, limit, needle } = checkQuery(run.location, query);
  const filter: TaskFilter = query.filter ?? {};
  const sort = query.sort ?? { by: 'ord' as const };
  const { shape } = run;
  const counts = await reads.query('SELECT task_count, fresh_from FROM runs WHERE run_pk = $1', [run.pk]);
  const taskCount = counts.rows[0]!.task_count as number;
  const freshFrom = counts.rows[0]!.fresh_from as number;

  const params: unknown[] = [run.pk];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  // The manifest's sizes go into the SQL as integer literals (so `/` truncates).
  const perItem = String(Math.trunc(shape.perItem));
  const replicates = String(Math.trunc(shape.replicates));
  const perModelText = String(Math.trunc(shape.promptIds.length * shape.replicates));

  let datasetRange: readonly [number, number] | null = null;
  let datasetItems: Set<number> | null = null;
  if (filter.datasetId !== undefined) {
    const found = await reads.query('SELECT min(ord) AS lo, max(ord) AS hi, count(*)::int AS n FROM items WHERE run_pk = $1 AND dataset_id = $2', [run.pk, filter.datasetId]);
    const { lo, hi, n } = found.rows[0] as { lo: number | null; hi: number | null; n: number };
    if (n === 0 || lo === null || hi === null) return { rows: [], more: false };
    if (hi - lo + 1 === n) datasetRange = [lo * shape.perItem, (hi + 1) * shape.perItem];
  }

  const where: string[] = ['t.run_pk = $1'];
  const joins: string[] = [];
  if (filter.modelIndex !== undefined) where.push(`(t.ord % ${perItem}) / ${perModelText} = ${param(filter.modelIndex)}::int`);
  if (filter.promptIndex !== undefined) where.push(`(t.ord % ${perModelText}) / ${replicates} = ${param(filter.promptIndex)}::int`);
  if (datasetRange) {
    where.push(`t.ord >= ${param(datasetRange[0])}::int AND t.ord < ${param(datasetRange[1])}::int`);
  } else if (filter.datasetId !== undefined) {
    where.push(`EXISTS (SELECT 1 FROM items i WHERE i.run_pk = t.run_pk AND i.ord = t.ord / ${perItem} AND i.dataset_id = ${param(filter.datasetId)})`);
  }
  if (filter.nextStage !== undefined) where.push(`t.next_stage = ${param(filter.nextStage)}::smallint`);
  if (filter.failureCategory !== undefined) {
    // The expression of the partial index tasks_by_failure, as written there.
    where.push(`t.failed AND (t.failure ->> 'category') = ${param(filter.failureCategory)}`);
  } else if (filter.failed !== undefined) {
    where.push(`t.failed = ${param(filter.failed)}::boolean`);
  }
  if (filter.score !== undefined) {
    joins.push(`JOIN task_scores s ON s.run_pk = t.run_pk AND s.ord = t.ord AND s.name = ${param(filter.score.name)}`);
    if (filter.score.pass === true) where.push('s.value >= 1');
    if (filter.score.pass === false) where.push('s.value < 1');
    if (filter.score.min !== undefined) where.push(`s.value >= ${param(filter.score.min)}::float8`);
    if (filter.score.max !== undefined) where.push(`s.value <= ${param(filter.score.max)}::float8`);
  }
  /** Item positions whose JSON has the needle (a superset of the inputs that do), or null: not narrowed. */
  let textItems: Set<number> | null = null;
  const like = needle === null ? null : likePatternInJson(needle);
  if (like !== null) {
    // A superset of the matches, each checked exactly below: items whose row (as JSON text) has the text, and
    // tasks with an answer event that has it (any, current or not). Each is a sequential scan of the run's rows.
    const pattern = param(like);
    const found = await reads.query(`SELECT ord FROM items WHERE run_pk = $1 AND fields::text ILIKE $2`, [run.pk, params[params.length - 1]]);
    textItems = new Set(found.rows.map((row) => row.ord as number));
    where.push(`((t.ord / ${perItem}) = ANY(${param([...textItems])}::int[])
      OR t.ord IN (SELECT e.task_ord FROM events e WHERE e.run_pk = $1 AND e.type IN ('generate-completed', 'reduce-completed') AND e.payload::text ILIKE ${pattern}))`);
  }
  const direction = sort.descending ? 'DESC' : 'ASC';
  const filterJoins = joins.join(' ');
  const select = (from: string, extra: readonly string[], order: string) => ({
    sql: `SELECT t.ord FROM ${from} ${filterJoins} WHERE ${[...where, ...extra].join(' AND ')} ORDER BY ${order}`,
    count: `SELECT count(*)::int AS n FROM ${from} ${filterJoins} WHERE ${[...where, ...extra].join(' AND ')}`,
  });
  let sqlParts: { sql: string; count: string }[];
  if (sort.by === 'score') {
    const name = param(sort.name);
    // Scored tasks by value (walking task_scores_by_value), then the tasks without that score by position.
    sqlParts = [
      select('task_scores o JOIN tasks t ON t.run_pk = o.run_pk AND t.ord = o.ord', ['o.run_pk = $1', `o.name = ${name}`], `o.value ${direction}, o.ord ${direction}`),
      select('tasks t', [`NOT EXISTS (SELECT 1 FROM task_scores o WHERE o.run_pk = t.run_pk AND o.ord = t.ord AND o.name = ${name})`], `t.ord ${direction}`),
    ];
  } else {
    sqlParts = [select('tasks t', [], `t.ord ${direction}`)];
  }

  /** The candidates (in order) whose input, or (withAnswer) current answer, has the needle. */
  const textMatching = async (ords: readonly number[], withAnswer: boolean): Promise<number[]> => {
    const items = await reads.itemsAt(ords.map((ord) => taskCoordinates(shape, ord).itemOrd));
    const artifacts = withAnswer ? await reads.artifactsAt(ords) : null;
    return ords.filter((ord) => containsText([items.get(taskCoordinates(shape, ord).itemOrd)?.input ?? '', ...answerTexts(artifacts?.get(ord))], needle!));
  };

  const rowsPart =
    (part: { sql: string; count: string }): Part =>
    async (skip, want) => {
      if (needle === null) {
        const page = await reads.query(`${part.sql} LIMIT ${want} OFFSET ${skip}`, params);
        const ords = page.rows.map((row) => row.ord as number);
        if (ords.length > 0 || skip === 0) return { ords, skipped: skip };
        const total = await reads.query(part.count, params);
        return { ords, skipped: Math.min(skip, total.rows[0]!.n as number) };
      }
      const candidates = (await reads.query(part.sql, params)).rows.map((row) => row.ord as number);
      const ords: number[] = [];
      let skipped = 0;
      for (let start = 0; start < candidates.length && ords.length < want; start += TEXT_CHUNK) {
        for (const ord of await textMatching(candidates.slice(start, start + TEXT_CHUNK), true)) {
          if (skipped < skip) skipped++;
          else if (ords.length < want) ords.push(ord);
        }
      }
      return { ords, skipped };
    };

  const pending = new Set<number>();
  const pendingPart: Part = async (skip, want) => {
    const ords: number[] = [];
    let skipped = 0;
    if (!pendingCanMatch(filter) || freshFrom >= taskCount) return { ords, skipped };
    if (filter.datasetId !== undefined && !datasetRange) {
      const found = await reads.query('SELECT ord FROM items WHERE run_pk = $1 AND dataset_id = $2 AND ord >= $3', [run.pk, filter.datasetId, Math.floor(freshFrom / shape.perItem)]);
      datasetItems = new Set(found.rows.map((row) => row.ord as number));
    }
    const datasetOf = (itemOrd: number): string | undefined => {
      if (filter.datasetId === undefined) return undefined;
      if (datasetRange) return itemOrd * shape.perItem >= datasetRange[0] && itemOrd * shape.perItem < datasetRange[1] ? filter.datasetId : '';
      return datasetItems!.has(itemOrd) ? filter.datasetId : '';
    };
    const descending = sort.descending === true;
    let from = freshFrom;
    let to = taskCount;
    if (datasetRange) {
      from = Math.max(from, datasetRange[0]);
      to = Math.min(to, datasetRange[1]);
    }
    let batch: number[] = [];
    const take = (ord: number) => {
      if (skipped < skip) skipped++;
      else if (ords.length < want) {
        ords.push(ord);
        pending.add(ord);
      }
    };
    const flush = async () => {
      for (const ord of await textMatching(batch, false)) take(ord);
      batch = [];
    };
    for (let index = 0; index < to - from && ords.length < want; index++) {
      const ord = descending ? to - 1 - index : from + index;
      if (!coordinatesMatch(shape, ord, filter, datasetOf)) continue;
      if (needle === null) take(ord);
      else if (textItems === null || textItems.has(taskCoordinates(shape, ord).itemOrd)) {
        batch.push(ord);
        if (batch.length >= TEXT_CHUNK) await flush();
      }
    }
    if (batch.length > 0 && ords.length < want) await flush();
    return { ords, skipped };
  };

  const ords = await pageOrds(sqlParts.map(rowsPart), pendingPart, sort.descending === true, offset, limit);
  // The page's result columns (events read per row) only for the rows shown.
  const stored = ords.filter((ord) => !pending.has(ord)).slice(0, limit);
  const found = new Map((await reads.resultRowsAt(stored)).map((row) => [row.ord, row]));
  return { rows: ords.slice(0, limit).map((ord) => found.get(ord) ?? pendingRow(ord)), more: ords.length > limit };
}
