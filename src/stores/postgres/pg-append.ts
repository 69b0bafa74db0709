import type pg from 'pg';
import { StoreError } from '../../core/errors.js';
import { taskCoordinates, type ManifestShape } from '../../core/manifest.js';
import { RunCounters } from '../../core/run-counters.js';
import { applyTaskEvent } from '../../core/task-progress.js';
import type { MetricScore } from '../../spec/metric.js';
import type { TaskEvent } from '../../spec/event.js';
import type { AppendRequest, AppendResult, PipelineShape, TaskProgress } from '../../spec/store.js';
import type { StageIndex } from '../../spec/stage.js';

export interface PgRunHandle {
  readonly pk: number;
  readonly runId: string;
  readonly pipeline: PipelineShape;
  readonly shape: ManifestShape;
  readonly taskCount: number;
}

export interface PgTaskRow {
  ord: number;
  next_stage: number;
  failed: boolean;
  failure: unknown;
  candidate_seqs: (number | null)[] | null;
  reduce_seq: number | null;
  parse_seq: number | null;
  score_seq: number | null;
  judge_seq: number | null;
  lease_owner: number | null;
  lease_token: number | null;
}

export const TASK_COLUMNS = 'ord, next_stage, failed, failure, candidate_seqs, reduce_seq, parse_seq, score_seq, judge_seq, lease_owner, lease_token';

export function toProgress(row: PgTaskRow, samples: number): TaskProgress {
  return {
    nextStage: row.next_stage as StageIndex,
    failed: row.failed,
    failure: (row.failure as TaskProgress['failure']) ?? null,
    candidateSeqs: row.candidate_seqs ?? new Array(samples).fill(null),
    reduceSeq: row.reduce_seq,
    parseSeq: row.parse_seq,
    scoreSeq: row.score_seq,
    judgeSeq: row.judge_seq,
  };
}

/**
 * Writes a batch of events inside the caller's transaction, in a constant number of statements whatever the
 * batch size: the task rows are locked and read at once (with the scores they currently point at), the
 * events inserted with one multi-row insert, the state rows updated from arrays, and the counters added to
 * this writer's slot. The fence is checked against the locked rows, in the same transaction as the writes.
 */
export async function appendInTransaction(client: pg.PoolClient, handle: PgRunHandle, request: AppendRequest, slot: number, location: string): Promise<AppendResult> {
  const { pk, pipeline, shape } = handle;
  const checked = request.owner !== null;
  const releases = new Set(request.release);
  const byTask = new Map<number, TaskEvent[]>();
  for (const event of request.events) {
    const ord = event.taskOrd;
    if (!Number.isInteger(ord) || ord < 0 || ord >= handle.taskCount) throw new StoreError(location, `task ${ord} does not exist in run ${handle.runId}`);
    const list = byTask.get(ord);
    if (list) list.push(event);
    else byTask.set(ord, [event]);
  }
  const ords = [...byTask.keys()].sort((left, right) => left - right);
  const rows = new Map<number, PgTaskRow & { scores_at_score: unknown; scores_at_judge: unknown }>();
  if (ords.length > 0) {
    // Rows in ord order, so two writers lock them in the same order.
    let found = await client.query(
      `SELECT ${TASK_COLUMNS},
         (SELECT e.payload -> 'scores' FROM events e WHERE e.seq = t.score_seq) AS scores_at_score,
         (SELECT e.payload -> 'scores' FROM events e WHERE e.seq = t.judge_seq) AS scores_at_judge
       FROM tasks t WHERE t.run_pk = $1 AND t.ord = ANY($2::int[]) ORDER BY t.ord FOR UPDATE OF t`,
      [pk, ords],
    );
    if (found.rows.length < ords.length) {
      // Tasks never claimed (an import, say): their rows are created first, up to the highest one.
      const have = new Set(found.rows.map((row) => row.ord as number));
      const missing = ords.filter((ord) => !have.has(ord));
      const fresh = await client.query<{ fresh_from: number }>('SELECT fresh_from FROM runs WHERE run_pk = $1 FOR UPDATE', [pk]);
      const from = fresh.rows[0]!.fresh_from;
      if (missing[0]! < from) throw new StoreError(location, `task ${missing[0]} of run ${handle.runId} has lost its row`);
      const last = missing[missing.length - 1]! + 1;
      await client.query('INSERT INTO tasks (run_pk, ord) SELECT $1::bigint, generate_series($2::int, $3::int - 1)', [pk, from, last]);
      await client.query('UPDATE runs SET fresh_from = $2 WHERE run_pk = $1', [pk, last]);
      found = await client.query(`SELECT ${TASK_COLUMNS}, NULL AS scores_at_score, NULL AS scores_at_judge FROM tasks t WHERE t.run_pk = $1 AND t.ord = ANY($2::int[]) ORDER BY t.ord FOR UPDATE`, [pk, ords]);
    }
    for (const row of found.rows) rows.set(row.ord, row);
  }

  // The fence: a leased writer must hold each task's current token (imports, with no owner, hold the run's lock).
  const rejected: number[] = [];
  const refused = new Set<number>();
  const accepted: TaskEvent[] = [];
  for (const ord of ords) {
    const row = rows.get(ord)!;
    if (checked && row.lease_token !== (request.leases?.get(ord) ?? null)) {
      rejected.push(ord);
      refused.add(ord);
      releases.delete(ord);
      continue;
    }
    accepted.push(...byTask.get(ord)!);
  }

  let seqs: number[] = [];
  const now = Date.now();
  if (accepted.length > 0) {
    const inserted = await client.query<{ seq: number }>(
      `INSERT INTO events (run_pk, task_ord, type, payload, created_at)
       SELECT $1::bigint, e.ord, e.type, e.payload, $5::bigint FROM unnest($2::int[], $3::text[], $4::json[]) AS e(ord, type, payload) RETURNING seq`,
      [pk, accepted.map((event) => event.taskOrd), accepted.map((event) => event.type), accepted.map((event) => JSON.stringify(event.payload)), now],
    );
    // The sequence hands out numbers in insertion order, which is the order of the arrays.
    seqs = inserted.rows.map((row) => row.seq).sort((left, right) => left - right);
  }

  const counters = new RunCounters();
  const batchScores = new Map<number, Readonly<Record<string, MetricScore>>>();
  /** Each task's current scores of a kind after the batch (the last applied event of that kind wins): task_scores' new rows. */
  const taskScores = new Map<string, { ord: number; kind: number; scores: Readonly<Record<string, MetricScore>> }>();
  const replyKeys: string[] = [];
  const replySeqs: number[] = [];
  const updates: { ord: number; progress: TaskProgress; owner: number | null }[] = [];
  let index = 0;
  for (const ord of ords) {
    if (refused.has(ord)) continue;
    const row = rows.get(ord)!;
    const { modelIndex, promptIndex } = taskCoordinates(shape, ord);
    const storedScores = (seq: number | null): Readonly<Record<string, MetricScore>> => {
      if (seq === null) return {};
      if (batchScores.has(seq)) return batchScores.get(seq)!;
      if (seq === row.score_seq) return (row.scores_at_score as Record<string, MetricScore> | null) ?? {};
      if (seq === row.judge_seq) return (row.scores_at_judge as Record<string, MetricScore> | null) ?? {};
      return {};
    };
    let progress = toProgress(row, pipeline.samples);
    const before = progress;
    for (const event of byTask.get(ord)!) {
      const seq = seqs[index++]!;
      counters.addUsage(event, shape.modelIds[modelIndex]!);
      if (event.type === 'call-completed' && event.payload.accepted) {
        replyKeys.push(event.payload.key);
        replySeqs.push(seq);
      }
      const previous = event.type === 'judge-completed' ? progress.judgeSeq : progress.scoreSeq;
      const result = applyTaskEvent(progress, event, seq, pipeline);
      if (result.applied && (event.type === 'score-completed' || event.type === 'judge-completed')) {
        if (previous !== null) counters.addScores(modelIndex, promptIndex, storedScores(previous), -1);
        counters.addScores(modelIndex, promptIndex, event.payload.scores, 1);
        batchScores.set(seq, event.payload.scores);
        const kind = event.type === 'judge-completed' ? 1 : 0;
        taskScores.set(`${ord}:${kind}`, { ord, kind, scores: event.payload.scores });
      }
      progress = result.progress;
    }
    const owner = releases.delete(ord) ? null : row.lease_owner;
    if (progress !== before || owner !== row.lease_owner) {
      updates.push({ ord, progress, owner });
      counters.move(before, progress);
    }
  }

  if (replyKeys.length > 0) {
    await client.query('INSERT INTO call_replies (call_key, run_pk, seq) SELECT k, $1::bigint, s FROM unnest($2::text[], $3::bigint[]) AS r(k, s) ON CONFLICT DO NOTHING', [pk, replyKeys, replySeqs]);
  }
  if (updates.length > 0) {
    await client.query(
      `UPDATE tasks t SET next_stage = u.next_stage, failed = u.failed, failure = u.failure, candidate_seqs = u.candidate_seqs,
         reduce_seq = u.reduce_seq, parse_seq = u.parse_seq, score_seq = u.score_seq, judge_seq = u.judge_seq, lease_owner = u.lease_owner
       FROM unnest($2::int[], $3::smallint[], $4::boolean[], $5::json[], $6::json[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[])
         AS u(ord, next_stage, failed, failure, candidate_seqs, reduce_seq, parse_seq, score_seq, judge_seq, lease_owner)
       WHERE t.run_pk = $1 AND t.ord = ANY($2::int[]) AND t.ord = u.ord`,
      [
        pk,
        updates.map((update) => update.ord),
        updates.map((update) => update.progress.nextStage),
        updates.map((update) => update.progress.failed),
        updates.map((update) => (update.progress.failure ? JSON.stringify(update.progress.failure) : null)),
        updates.map((update) => JSON.stringify(update.progress.candidateSeqs)),
        updates.map((update) => update.progress.reduceSeq),
        updates.map((update) => update.progress.parseSeq),
        updates.map((update) => update.progress.scoreSeq),
        updates.map((update) => update.progress.judgeSeq),
        updates.map((update) => update.owner),
      ],
    );
  }
  if (taskScores.size > 0) await replaceTaskScores(client, pk, [...taskScores.values()]);
  // Tasks finished without a new event in this batch (their events went out earlier): released if still ours.
  const bare = [...releases].filter((ord) => !byTask.has(ord));
  if (checked && bare.length > 0) {
    const released = await client.query<{ ord: number }>(
      `UPDATE tasks t SET lease_owner = NULL FROM unnest($2::int[], $3::bigint[]) AS r(ord, token)
       WHERE t.run_pk = $1 AND t.ord = ANY($2::int[]) AND t.ord = r.ord AND t.lease_token IS NOT DISTINCT FROM r.token RETURNING t.ord`,
      [pk, bare, bare.map((ord) => request.leases?.get(ord) ?? null)],
    );
    const done = new Set(released.rows.map((row) => row.ord));
    for (const ord of bare) if (!done.has(ord)) rejected.push(ord);
  }
  await addCounters(client, pk, slot, counters);
  return { appended: seqs.length, rejectedOrds: rejected };
}

/**
 * Replaces the task_scores rows of these (task, kind) pairs with the given scores (finite numbers only): two
 * statements from arrays, whatever the number of tasks.
 */
async function replaceTaskScores(client: pg.PoolClient, pk: number, entries: readonly { ord: number; kind: number; scores: Readonly<Record<string, MetricScore>> }[]): Promise<void> {
  await client.query('DELETE FROM task_scores s USING unnest($2::int[], $3::smallint[]) AS c(ord, kind) WHERE s.run_pk = $1 AND s.ord = c.ord AND s.kind = c.kind', [
    pk,
    entries.map((entry) => entry.ord),
    entries.map((entry) => entry.kind),
  ]);
  const ords: number[] = [];
  const kinds: number[] = [];
  const names: string[] = [];
  const values: number[] = [];
  for (const entry of entries) {
    for (const [name, score] of Object.entries(entry.scores)) {
      if (typeof score?.value !== 'number' || !Number.isFinite(score.value)) continue;
      ords.push(entry.ord);
      kinds.push(entry.kind);
      names.push(name);
      values.push(score.value);
    }
  }
  if (ords.length === 0) return;
  await client.query(
    'INSERT INTO task_scores (run_pk, ord, kind, name, value) SELECT $1::bigint, s.ord, s.kind, s.name, s.value FROM unnest($2::int[], $3::smallint[], $4::text[], $5::float8[]) AS s(ord, kind, name, value) ON CONFLICT DO NOTHING',
    [pk, ords, kinds, names, values],
  );
}

/**
 * Adds a transaction's counter deltas to one slot's rows: the three tables in one statement (each a
 * multi-row upsert from arrays, keys in a fixed order so two writers sharing a slot never deadlock).
 */
export async function addCounters(client: pg.PoolClient, pk: number, slot: number, counters: RunCounters): Promise<void> {
  const histogram = [...counters.histogram].filter(([, delta]) => delta !== 0).sort(([left], [right]) => left - right);
  const scores = [...counters.scores.values()].filter((entry) => entry.count !== 0 || entry.sum !== 0);
  scores.sort((left, right) => left.model - right.model || left.prompt - right.prompt || (left.metric < right.metric ? -1 : left.metric > right.metric ? 1 : 0));
  const usage = [...counters.usage.values()].sort((left, right) => (left.model + '\u0000' + left.stage < right.model + '\u0000' + right.stage ? -1 : 1));
  if (histogram.length === 0 && scores.length === 0 && usage.length === 0) return;
  await client.query(
    `WITH histogram AS (
       INSERT INTO stage_histogram (run_pk, slot, next_stage, failed, count)
       SELECT $1::bigint, $2::smallint, h.stage, h.failed, h.delta FROM unnest($3::smallint[], $4::boolean[], $5::bigint[]) AS h(stage, failed, delta)
       ON CONFLICT (run_pk, slot, next_stage, failed) DO UPDATE SET count = stage_histogram.count + excluded.count),
     scores AS (
       INSERT INTO score_totals (run_pk, slot, model_index, prompt_index, metric, sum, sum_sq, count)
       SELECT $1::bigint, $2::smallint, s.m, s.p, s.metric, s.sum, s.sq, s.n FROM unnest($6::int[], $7::int[], $8::text[], $9::float8[], $10::float8[], $11::bigint[]) AS s(m, p, metric, sum, sq, n)
       ON CONFLICT (run_pk, slot, model_index, prompt_index, metric) DO UPDATE SET sum = score_totals.sum + excluded.sum,
         sum_sq = score_totals.sum_sq + excluded.sum_sq, count = score_totals.count + excluded.count)
     INSERT INTO usage_totals (run_pk, slot, model, stage, calls, input_tokens, output_tokens)
     SELECT $1::bigint, $2::smallint, u.model, u.stage, u.calls, u.i, u.o FROM unnest($12::text[], $13::text[], $14::bigint[], $15::bigint[], $16::bigint[]) AS u(model, stage, calls, i, o)
     ON CONFLICT (run_pk, slot, model, stage) DO UPDATE SET calls = usage_totals.calls + excluded.calls,
       input_tokens = usage_totals.input_tokens + excluded.input_tokens, output_tokens = usage_totals.output_tokens + excluded.output_tokens`,
    [
      pk,
      slot,
      histogram.map(([key]) => key >> 1),
      histogram.map(([key]) => (key & 1) === 1),
      histogram.map(([, delta]) => delta),
      scores.map((entry) => entry.model),
      scores.map((entry) => entry.prompt),
      scores.map((entry) => entry.metric),
      scores.map((entry) => entry.sum),
      scores.map((entry) => entry.sumOfSquares),
      scores.map((entry) => entry.count),
      usage.map((entry) => entry.model),
      usage.map((entry) => entry.stage),
      usage.map((entry) => entry.calls),
      usage.map((entry) => entry.inputTokens),
      usage.map((entry) => entry.outputTokens),
    ],
  );
}
