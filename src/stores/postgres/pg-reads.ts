import type pg from 'pg';
import { describeTask, taskCoordinates } from '../../core/manifest.js';
import { inputOf, targetOf } from '../../core/item-fields.js';
import { initialProgress } from '../../core/task-progress.js';
import { artifactsOf, panelRatings, scoreValues } from '../result-rows.js';
import type { CallCompleted, StoredEvent } from '../../spec/event.js';
import type { RunSnapshot } from '../../spec/snapshot.js';
import type { Stage, StageIndex } from '../../spec/stage.js';
import type {
  FailureCountRow,
  FailureRow,
  ItemFieldsRow,
  ScoreTotalRow,
  StoredCallReply,
  StoredItem,
  TaskArtifacts,
  TaskQuery,
  TaskQueryPage,
  TaskResultRow,
  UsageRow,
} from '../../spec/store.js';
import { queryTasksPg } from './pg-task-query.js';
import { TASK_COLUMNS, toProgress, type PgRunHandle, type PgTaskRow } from './pg-append.js';

/**
 * The PostgreSQL store's reads that a report, a results table or an inspection makes: items, totals,
 * failures, artifacts and result pages. Each is one or two indexed statements; none folds over a run's
 * history. PostgresStore extends this with the writes and the coordination.
 */
export abstract class PostgresReads {
  abstract readonly location: string;
  protected abstract query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>>;
  protected abstract handle(runId: string): Promise<PgRunHandle & { snapshot: RunSnapshot }>;

  private toItem(handle: { snapshot: RunSnapshot }, row: { ord: number; dataset_id: string; item_id: string; fields: Record<string, unknown> }): StoredItem {
    const dataset = handle.snapshot.datasets.find((entry) => entry.id === row.dataset_id)!;
    return { ord: row.ord, datasetId: row.dataset_id, itemId: row.item_id, input: inputOf(row.fields, dataset), target: targetOf(row.fields, dataset), fields: row.fields };
  }

  async loadItems(runId: string): Promise<StoredItem[]> {
    const handle = await this.handle(runId);
    const { rows } = await this.query('SELECT ord, dataset_id, item_id, fields FROM items WHERE run_pk = $1 ORDER BY ord', [handle.pk]);
    return rows.map((row) => this.toItem(handle, row as never));
  }

  async loadItemsAt(runId: string, itemOrds: readonly number[]): Promise<Map<number, StoredItem>> {
    const handle = await this.handle(runId);
    const found = new Map<number, StoredItem>();
    if (itemOrds.length === 0) return found;
    const { rows } = await this.query('SELECT ord, dataset_id, item_id, fields FROM items WHERE run_pk = $1 AND ord = ANY($2::int[])', [handle.pk, [...new Set(itemOrds)]]);
    for (const row of rows) found.set(row.ord, this.toItem(handle, row as never));
    return found;
  }

  async readItemFields(runId: string, fields: readonly string[], afterOrd: number, limit: number): Promise<ItemFieldsRow[]> {
    const handle = await this.handle(runId);
    // The server reads each field out of the row's JSON (as JSON text, NULL where absent): whole rows never travel.
    const columns = fields.map((_, index) => `, (fields -> $${index + 4})::text AS f${index}`).join('');
    const { rows } = await this.query(`SELECT ord, dataset_id, item_id${columns} FROM items WHERE run_pk = $1 AND ord > $2 ORDER BY ord LIMIT $3`, [handle.pk, afterOrd, limit, ...fields]);
    return rows.map((row) => ({
      ord: row.ord,
      datasetId: row.dataset_id,
      itemId: row.item_id,
      values: fields.map((_, index) => (row[`f${index}`] === null ? undefined : JSON.parse(row[`f${index}`] as string))),
    }));
  }

  async getUsageTotals(runId: string): Promise<UsageRow[]> {
    const { pk } = await this.handle(runId);
    const { rows } = await this.query(
      'SELECT model, stage, sum(calls) AS calls, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens FROM usage_totals WHERE run_pk = $1 GROUP BY model, stage ORDER BY model, stage',
      [pk],
    );
    return rows.map((row) => ({ model: row.model, stage: row.stage, calls: row.calls, inputTokens: row.input_tokens, outputTokens: row.output_tokens }));
  }

  async getScoreTotals(runId: string): Promise<ScoreTotalRow[]> {
    const { pk } = await this.handle(runId);
    const { rows } = await this.query(
      `SELECT model_index, prompt_index, metric, sum(sum) AS sum, sum(sum_sq) AS sum_sq, sum(count) AS count FROM score_totals WHERE run_pk = $1
       GROUP BY model_index, prompt_index, metric HAVING sum(count) <> 0 ORDER BY model_index, prompt_index, metric`,
      [pk],
    );
    return rows.map((row) => ({ modelIndex: row.model_index, promptIndex: row.prompt_index, metric: row.metric, sum: row.sum, sumOfSquares: row.sum_sq, count: row.count }));
  }

  private async keysOf(handle: PgRunHandle, ords: readonly number[]): Promise<Map<number, string>> {
    const itemOrds = [...new Set(ords.map((ord) => taskCoordinates(handle.shape, ord).itemOrd))];
    const { rows } = await this.query<{ ord: number; dataset_id: string; item_id: string }>('SELECT ord, dataset_id, item_id FROM items WHERE run_pk = $1 AND ord = ANY($2::int[])', [handle.pk, itemOrds]);
    const items = new Map(rows.map((row) => [row.ord, row]));
    const keys = new Map<number, string>();
    for (const ord of ords) {
      const item = items.get(taskCoordinates(handle.shape, ord).itemOrd);
      keys.set(ord, item ? describeTask(handle.shape, ord, { datasetId: item.dataset_id, itemId: item.item_id }).key : `#${ord}`);
    }
    return keys;
  }

  async listFailures(runId: string, limit: number): Promise<FailureRow[]> {
    const handle = await this.handle(runId);
    const { rows } = await this.query<{ ord: number; failure: FailureRow['failure'] & { stage: Stage } }>(
      'SELECT ord, failure FROM tasks WHERE run_pk = $1 AND failed = true ORDER BY next_stage, ord LIMIT $2',
      [handle.pk, limit],
    );
    const keys = await this.keysOf(handle, rows.map((row) => row.ord));
    return rows.map((row) => {
      const { stage, ...failure } = row.failure;
      return { taskKey: keys.get(row.ord)!, stage, failure };
    });
  }

  async countFailures(runId: string): Promise<FailureCountRow[]> {
    const { pk } = await this.handle(runId);
    const { rows } = await this.query<{ stage: Stage; category: string; count: number }>(
      `SELECT failure ->> 'stage' AS stage, failure ->> 'category' AS category, count(*) AS count FROM tasks WHERE run_pk = $1 AND failed = true
       GROUP BY 1, 2 ORDER BY 3 DESC`,
      [pk],
    );
    return rows.map((row) => ({ stage: row.stage, category: row.category, count: row.count }));
  }

  async loadArtifacts(runId: string, ords: readonly number[]): Promise<Map<number, TaskArtifacts>> {
    const handle = await this.handle(runId);
    const artifacts = new Map<number, TaskArtifacts>();
    if (ords.length === 0) return artifacts;
    const tasks = await this.query<PgTaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE run_pk = $1 AND ord = ANY($2::int[])`, [handle.pk, [...new Set(ords)]]);
    const rows = new Map(tasks.rows.map((row) => [row.ord, row]));
    const progressOf = (ord: number) => {
      const row = rows.get(ord);
      return row ? toProgress(row, handle.pipeline.samples) : initialProgress(handle.pipeline.samples);
    };
    const seqs = new Set<number>();
    for (const ord of ords) {
      const progress = progressOf(ord);
      for (const seq of [...progress.candidateSeqs, progress.reduceSeq, progress.parseSeq, progress.scoreSeq, progress.judgeSeq]) if (seq !== null) seqs.add(seq);
    }
    const events = seqs.size > 0 ? await this.query<{ seq: number; payload: unknown }>('SELECT seq, payload FROM events WHERE seq = ANY($1::bigint[])', [[...seqs]]) : { rows: [] };
    const payloads = new Map(events.rows.map((row) => [row.seq, row.payload]));
    const payload = (seq: number | null): unknown => (seq === null ? null : (payloads.get(seq) ?? null));
    for (const ord of ords) {
      const progress = progressOf(ord);
      artifacts.set(ord, artifactsOf(progress, payload));
    }
    return artifacts;
  }

  /** The viewer's task table: filtered and sorted in SQL over the indexes of schema 2 (pg-task-query.ts). */
  async queryTasks(runId: string, query: TaskQuery): Promise<TaskQueryPage> {
    const handle = await this.handle(runId);
    return queryTasksPg(
      {
        query: (text, values) => this.query(text, values),
        itemsAt: (itemOrds) => this.loadItemsAt(runId, itemOrds),
        artifactsAt: (ords) => this.loadArtifacts(runId, ords),
        resultRowsAt: (ords) => (ords.length === 0 ? Promise.resolve([]) : this.resultRows(handle, 't.ord = ANY($2::int[])', [[...ords]])),
      },
      { pk: handle.pk, location: this.location, shape: handle.shape, hasJudges: handle.pipeline.hasJudges },
      query,
    );
  }

  async readResults(runId: string, afterOrd: number, limit: number): Promise<TaskResultRow[]> {
    const handle = await this.handle(runId);
    return this.resultRows(handle, 't.ord > $2 ORDER BY t.ord LIMIT $3', [afterOrd, limit]);
  }

  /** Result rows of the tasks this condition (on `t`, after the run's, parameters from $2) keeps. */
  private async resultRows(handle: PgRunHandle, condition: string, values: unknown[]): Promise<TaskResultRow[]> {
    // The numbers of each task pulled out of its current events by the server, so answer texts never travel.
    // Every lookup is by primary key.
    const judge = handle.pipeline.hasJudges
      ? `, (SELECT e.payload -> 'scores' FROM events e WHERE e.seq = t.judge_seq) AS judge_scores,
         (SELECT CASE WHEN json_array_length(e.payload -> 'judgments') > 0 THEN e.payload -> 'judgments' END FROM events e WHERE e.seq = t.judge_seq) AS judgments`
      : '';
    const { rows } = await this.query(
      `SELECT t.ord, t.next_stage, t.failed, t.failure,
         (SELECT e.payload -> 'scores' FROM events e WHERE e.seq = t.score_seq) AS scores,
         (SELECT (e.payload -> 'candidate' ->> 'latencyMs')::float8 FROM events e WHERE e.seq = (t.candidate_seqs ->> 0)::bigint) AS latency${judge}
       FROM tasks t WHERE t.run_pk = $1 AND ${condition}`,
      [handle.pk, ...values],
    );
    return rows.map((row) => {
      const failure = row.failure as { stage: Stage; category: string } | null;
      return {
        ord: row.ord,
        nextStage: row.next_stage as StageIndex,
        failed: row.failed,
        failure: failure ? { stage: failure.stage, category: failure.category } : null,
        scores: row.scores ? scoreValues(row.scores) : null,
        latencyMs: typeof row.latency === 'number' ? row.latency : null,
        judgeScores: row.judge_scores ? scoreValues(row.judge_scores) : null,
        ratings: row.judgments ? panelRatings(row.judgments) : null,
      };
    });
  }

  async findCallReplies(keys: readonly string[]): Promise<Map<string, StoredCallReply>> {
    const found = new Map<string, StoredCallReply>();
    if (keys.length === 0) return found;
    const { rows } = await this.query<{ call_key: string; payload: CallCompleted; run_id: string }>(
      `SELECT c.call_key, e.payload, r.run_id FROM call_replies c JOIN events e ON e.seq = c.seq JOIN runs r ON r.run_pk = c.run_pk WHERE c.call_key = ANY($1::text[])`,
      [[...new Set(keys)]],
    );
    for (const row of rows) found.set(row.call_key, { runId: row.run_id, call: row.payload });
    return found;
  }

  async readTaskEvents(runId: string, ord: number): Promise<StoredEvent[]> {
    const { pk } = await this.handle(runId);
    const { rows } = await this.query<PgEventRow>('SELECT seq, task_ord, type, payload, created_at FROM events WHERE run_pk = $1 AND task_ord = $2 ORDER BY seq', [pk, ord]);
    return rows.map((row) => storedEvent(row, runId));
  }

  /** One query for the whole batch, on events_by_task (run_pk, task_ord, seq). */
  async readTaskEventsAt(runId: string, ords: readonly number[]): Promise<Map<number, StoredEvent[]>> {
    const { pk } = await this.handle(runId);
    const found = new Map<number, StoredEvent[]>(ords.map((ord) => [ord, []]));
    if (ords.length === 0) return found;
    const { rows } = await this.query<PgEventRow>(
      'SELECT seq, task_ord, type, payload, created_at FROM events WHERE run_pk = $1 AND task_ord = ANY($2::int[]) ORDER BY task_ord, seq',
      [pk, [...found.keys()]],
    );
    for (const row of rows) found.get(row.task_ord)!.push(storedEvent(row, runId));
    return found;
  }
}

interface PgEventRow {
  seq: number;
  task_ord: number;
  type: string;
  payload: unknown;
  created_at: number;
}

function storedEvent(row: PgEventRow, runId: string): StoredEvent {
  return { seq: row.seq, runId, taskOrd: row.task_ord, type: row.type as StoredEvent['type'], payload: row.payload, createdAt: new Date(row.created_at).toISOString() };
}
