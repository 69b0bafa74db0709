import type pg from 'pg';
import { OwnerUnknownError, RunBusyError, StoreError } from '../../core/errors.js';
import { generationGroups } from '../../core/generation-groups.js';
import { locateTaskKey, manifestShape, taskCoordinates } from '../../core/manifest.js';
import { RunCounters } from '../../core/run-counters.js';
import { initialProgress } from '../../core/task-progress.js';
import { grantable } from '../call-grants.js';
import { translateFailures } from '../store-failures.js';
import { importedStatus, pagesOf, readOnce } from '../import-pages.js';
import type { RunEventPayloads, RunEventType } from '../../spec/event.js';
import type { MetricScore } from '../../spec/metric.js';
import type { RunSnapshot } from '../../spec/snapshot.js';
import { stageIndex, type Stage, type StageIndex } from '../../spec/stage.js';
import type {
  AppendRequest,
  AppendResult,
  CallGrant,
  CallReservation,
  ClaimRequest,
  ClaimedTask,
  HeartbeatResult,
  ImportOutcome,
  ImportRequest,
  ImportedRun,
  InterruptReason,
  NewOwner,
  NewRun,
  OwnerRecord,
  RunRecord,
  RunStatus,
  StageHistogramRow,
  Store,
  StoredItem,
  TaskRecord,
} from '../../spec/store.js';
import { addCounters, appendInTransaction, TASK_COLUMNS, toProgress, type PgRunHandle, type PgTaskRow } from './pg-append.js';
import { PostgresReads } from './pg-reads.js';
import { openFailure, pgFailure } from './pg-failure.js';
import { createPool, inTransaction, migrate, queryRetrying } from './pg-pool.js';
import { redactStoreUrl } from './pg-url.js';
import { COUNTER_SLOTS, NOW_MS, PG_TASK_SCORES_FILL_SQL } from './schema.js';

/** Runs' advisory locks use this first key (the second is the run's key): appends share it, rewinds take it alone. */
const RUN_LOCK_CLASS = 0x6173;

/** How long an import's transaction may sit idle while its caller reads the next page (ms). */
const IMPORT_IDLE_MS = 60_000;

/** Items are written in chunks of this many rows per statement when a run is created. */
const ITEM_CHUNK = 2_000;

interface RunRow {
  run_pk: number;
  run_id: string;
  name: string;
  snapshot: RunSnapshot;
  provenance: RunRecord['provenance'];
  status: RunStatus;
  completed_through: Stage | null;
  status_reason: InterruptReason | null;
  task_count: number;
  samples: number;
  has_judges: boolean;
  created_at: string;
  updated_at: string;
}

function toRunRecord(row: RunRow): RunRecord {
  return {
    runId: row.run_id,
    name: row.name,
    snapshot: row.snapshot,
    provenance: row.provenance,
    status: row.status,
    completedThroughStage: row.completed_through,
    interruptReason: row.status === 'interrupted' ? row.status_reason : null,
    taskCount: row.task_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A task row `t` whose lease is free: no owner, or one whose lease expired (or that is gone), by the server's clock. */
const LEASE_FREE = `(t.lease_owner IS NULL OR NOT EXISTS (SELECT 1 FROM owners o WHERE o.owner_pk = t.lease_owner AND o.expires_at > ${NOW_MS}))`;

const RUN_COLUMNS = 'run_pk, run_id, name, snapshot, provenance, status, completed_through, status_reason, task_count, samples, has_judges, created_at, updated_at';

/**
 * Opens the PostgreSQL store at a `postgres://` URL: connects (a pool), checks the schema (migrating or
 * creating it when `create`), and returns the store. An unreachable server, a refused login, a database
 * without assay's schema (without `create`) or with a newer one: a `StoreError` naming the redacted URL.
 */
export async function openPostgresStore(url: string, options: { create: boolean; readonly?: boolean }): Promise<Store> {
  const location = redactStoreUrl(url);
  const pool = createPool(url, { readonly: options.readonly ?? false });
  try {
    await migrate(pool, location, options.create, options.readonly ?? false);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw openFailure(location, error) ?? error;
  }
  return translateFailures(new PostgresStore(pool, location), (error) => pgFailure(location, error));
}

/**
 * The store on PostgreSQL: the one source of truth for any number of processes on any number of machines.
 * Claims lock task rows with `FOR UPDATE SKIP LOCKED`; leases, grants and liveness are judged by the server's
 * clock; an append checks the fencing tokens on the rows it locks, in its own transaction; counters are
 * spread over slots (one per writer, summed when read); a batch costs a constant number of statements.
 */
export class PostgresStore extends PostgresReads implements Store {
  readonly specificationVersion = 'assay.store.v1' as const;
  readonly kind = 'postgres';
  readonly location: string;
  private readonly handles = new Map<string, PgRunHandle & { snapshot: RunSnapshot }>();
  /** This process's counter rows: a random slot, so concurrent writers rarely share one. */
  private readonly slot = Math.floor(Math.random() * COUNTER_SLOTS);
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    location: string,
  ) {
    super();
    this.location = location;
  }

  protected query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>> {
    return queryRetrying<Row>(this.pool, text, values);
  }

  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }

  protected async handle(runId: string): Promise<PgRunHandle & { snapshot: RunSnapshot }> {
    let handle = this.handles.get(runId);
    if (!handle) {
      const { rows } = await this.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1`, [runId]);
      const row = rows[0];
      if (!row) throw new StoreError(this.location, `no run ${runId} in this store`);
      handle = {
        pk: row.run_pk,
        runId,
        snapshot: row.snapshot,
        pipeline: { samples: row.samples, hasJudges: row.has_judges },
        shape: manifestShape(row.snapshot),
        taskCount: row.task_count,
      };
      this.handles.set(runId, handle);
    }
    return handle;
  }

  /**
   * In one statement: takes the run's advisory lock shared (see lockRun) and reads the owner's key, inside the
   * caller's transaction, so an owner removed a moment ago is unknown.
   */
  private async lockRunForOwner(client: pg.PoolClient, runPk: number, owner: string | null): Promise<number | null> {
    const { rows } = await client.query<{ owner_pk: number | null }>(
      'SELECT pg_advisory_xact_lock_shared($1::int, $2::int), (SELECT owner_pk FROM owners WHERE owner = $3) AS owner_pk',
      [RUN_LOCK_CLASS, runPk, owner],
    );
    if (owner === null) return null;
    if (rows[0]!.owner_pk === null) throw new OwnerUnknownError(owner);
    return rows[0]!.owner_pk;
  }

  private async refuseIfLeased(client: pg.PoolClient, runPk: number, runId: string): Promise<void> {
    const { rows } = await client.query<{ pid: number; host: string }>(`SELECT pid, host FROM owners WHERE run_pk = $1 AND expires_at > ${NOW_MS} LIMIT 1`, [runPk]);
    if (rows[0]) throw new RunBusyError(runId, `pid ${rows[0].pid} on ${rows[0].host}`);
  }

  /** Takes the run's advisory lock for this transaction: shared by appends and claims, alone by rewinds and imports. */
  private async lockRun(client: pg.PoolClient, runPk: number, exclusive: boolean): Promise<void> {
    await client.query(exclusive ? 'SELECT pg_advisory_xact_lock($1::int, $2::int)' : 'SELECT pg_advisory_xact_lock_shared($1::int, $2::int)', [RUN_LOCK_CLASS, runPk]);
  }

  async createRun(run: NewRun, options: { replace?: boolean } = {}): Promise<boolean> {
    return this.transaction(async (client) => {
      // Creation of one run id is serialized by a lock on its id, so two processes creating it at once make one.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`assay.run.${run.runId}`]);
      const { rows } = await client.query<{ run_pk: number }>('SELECT run_pk FROM runs WHERE run_id = $1', [run.runId]);
      const existing = rows[0];
      if (existing && !options.replace) return false;
      if (existing) {
        await this.lockRun(client, existing.run_pk, true);
        await this.refuseIfLeased(client, existing.run_pk, run.runId);
        await this.deleteInTransaction(client, existing.run_pk, run.runId);
      }
      await this.createInTransaction(client, run);
      return true;
    });
  }

  private async createInTransaction(client: pg.PoolClient, run: ImportedRun): Promise<number> {
    const now = new Date().toISOString();
    const { rows } = await client.query<{ run_pk: number }>(
      `INSERT INTO runs (run_id, name, snapshot, provenance, status, task_count, samples, has_judges, created_at, updated_at)
       VALUES ($1, $2, $3, $4, 'created', $5, $6, $7, $8, $9) RETURNING run_pk`,
      [run.runId, run.name, JSON.stringify(run.snapshot), JSON.stringify(run.provenance), run.taskCount, run.snapshot.samples, run.snapshot.judges.length > 0, run.createdAt ?? now, now],
    );
    const pk = rows[0]!.run_pk;
    let chunk: StoredItem[] = [];
    const flush = async () => {
      if (chunk.length === 0) return;
      try {
        await client.query('SAVEPOINT items');
        await client.query(
          'INSERT INTO items (run_pk, ord, dataset_id, item_id, fields) SELECT $1::bigint, * FROM unnest($2::int[], $3::text[], $4::text[], $5::json[])',
          [pk, chunk.map((item) => item.ord), chunk.map((item) => item.datasetId), chunk.map((item) => item.itemId), chunk.map((item) => JSON.stringify(item.fields))],
        );
        await client.query('RELEASE SAVEPOINT items');
      } catch (error) {
        if ((error as { code?: string }).code !== '23505') throw error;
        // Ids were checked when the rows were first read; a duplicate now means the file changed since.
        const detail = /\(run_pk, dataset_id, item_id\)=\(\d+, (.*), (.*)\)/.exec((error as { detail?: string }).detail ?? '');
        throw new StoreError(this.location, `dataset '${detail?.[1] ?? '?'}' now has item id '${detail?.[2] ?? '?'}' twice: the file changed while assay read it`, {
          hint: 'leave the dataset alone while assay runs, then run the command again',
        });
      }
      chunk = [];
    };
    for await (const page of pagesOf(run.items, ITEM_CHUNK)) {
      for (const item of page) {
        chunk.push(item);
        if (chunk.length >= ITEM_CHUNK) await flush();
      }
    }
    await flush();
    await client.query('INSERT INTO stage_histogram (run_pk, slot, next_stage, failed, count) VALUES ($1, 0, 0, false, $2)', [pk, run.taskCount]);
    const groups = generationGroups(run.snapshot).map((group) => group.key);
    if (groups.length > 0) await client.query('INSERT INTO generation_groups (group_key, run_pk) SELECT DISTINCT g, $1::bigint FROM unnest($2::text[]) AS g ON CONFLICT DO NOTHING', [pk, groups]);
    await client.query("INSERT INTO events (run_pk, task_ord, type, payload, created_at) VALUES ($1, NULL, 'run-created', $2, $3)", [pk, JSON.stringify({ taskCount: run.taskCount }), Date.now()]);
    return pk;
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const { rows } = await this.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1`, [runId]);
    return rows[0] ? toRunRecord(rows[0]) : undefined;
  }

  async findRuns(idPrefix: string, limit: number): Promise<RunRecord[]> {
    const { rows } = await this.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id LIKE $1 ORDER BY created_at DESC LIMIT $2`, [`${idPrefix.replace(/[%_\\]/g, '')}%`, limit]);
    return rows.map(toRunRecord);
  }

  async listRuns(): Promise<RunRecord[]> {
    const { rows } = await this.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs ORDER BY created_at DESC`);
    return rows.map(toRunRecord);
  }

  async deleteRun(runId: string): Promise<void> {
    const { rows } = await this.query<{ run_pk: number }>('SELECT run_pk FROM runs WHERE run_id = $1', [runId]);
    const row = rows[0];
    if (!row) return;
    await this.transaction(async (client) => {
      await this.lockRun(client, row.run_pk, true);
      await this.deleteInTransaction(client, row.run_pk, runId);
    });
  }

  private async deleteInTransaction(client: pg.PoolClient, pk: number, runId: string): Promise<void> {
    for (const table of ['events', 'tasks', 'items', 'stage_histogram', 'score_totals', 'owners', 'generation_groups', 'usage_totals', 'call_replies', 'model_windows', 'call_grants', 'task_scores', 'runs']) {
      await client.query(`DELETE FROM ${table} WHERE run_pk = $1`, [pk]);
    }
    this.handles.delete(runId);
  }

  async setRunStatus(runId: string, status: RunStatus, completedThrough: Stage | null, interruptReason?: InterruptReason): Promise<void> {
    const { pk } = await this.handle(runId);
    await this.writeStatus(null, pk, status, completedThrough, interruptReason);
  }

  /** On `client` (a transaction's) or, with null, as one statement; an interrupted run without a reason was stopped by its user. */
  private async writeStatus(client: pg.PoolClient | null, pk: number, status: RunStatus, completedThrough: Stage | null, interruptReason?: InterruptReason): Promise<void> {
    const reason = status === 'interrupted' ? (interruptReason ?? 'user') : null;
    const sql = 'UPDATE runs SET status = $1, completed_through = $2, status_reason = $3, updated_at = $4 WHERE run_pk = $5';
    const values = [status, completedThrough, reason, new Date().toISOString(), pk];
    if (client) await client.query(sql, values);
    else await this.query(sql, values);
  }

  async appendRunEvent<Type extends RunEventType>(runId: string, type: Type, payload: RunEventPayloads[Type]): Promise<void> {
    const { pk } = await this.handle(runId);
    await this.pool.query('INSERT INTO events (run_pk, task_ord, type, payload, created_at) VALUES ($1, NULL, $2, $3, $4)', [pk, type, JSON.stringify(payload), Date.now()]);
  }

  async getTask(runId: string, key: string): Promise<TaskRecord | undefined> {
    const handle = await this.handle(runId);
    // The key names its item by id: found first (one indexed read), then the position follows.
    let wanted: [string, string] | undefined;
    locateTaskKey(handle.shape, key, (datasetId, itemId) => {
      wanted = [datasetId, itemId];
      return undefined;
    });
    if (!wanted) return undefined;
    const { rows } = await this.query<{ ord: number }>('SELECT ord FROM items WHERE run_pk = $1 AND dataset_id = $2 AND item_id = $3', [handle.pk, wanted[0], wanted[1]]);
    const itemOrd = rows[0]?.ord;
    const ord = locateTaskKey(handle.shape, key, () => itemOrd);
    if (ord === undefined || ord >= handle.taskCount) return undefined;
    const task = await this.query<PgTaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE run_pk = $1 AND ord = $2`, [handle.pk, ord]);
    const progress = task.rows[0] ? toProgress(task.rows[0], handle.pipeline.samples) : initialProgress(handle.pipeline.samples);
    return { ...taskCoordinates(handle.shape, ord), key, progress };
  }

  // Every time below is the server's clock (NOW_MS): processes on different machines share it.

  // A registration retried after a lost connection (it may have been made) renews the same owner.
  async registerOwner(owner: NewOwner, leaseMs: number): Promise<OwnerRecord> {
    const { pk } = await this.handle(owner.runId);
    const { rows } = await this.query<{ now: number }>(
      `WITH clock AS (SELECT ${NOW_MS} AS now)
       INSERT INTO owners (owner, run_pk, host, pid, started_at, heartbeat_at, expires_at)
       SELECT $1, $2::bigint, $3, $4::int, to_char(to_timestamp(now / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), now, now + $5::bigint FROM clock
       ON CONFLICT (owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at
       RETURNING heartbeat_at AS now`,
      [owner.owner, pk, owner.host, owner.pid, Math.round(leaseMs)],
    );
    const now = rows[0]!.now;
    const startedAt = new Date(now).toISOString();
    return { ...owner, startedAt, heartbeatAt: startedAt, expiresAt: new Date(now + leaseMs).toISOString(), live: true, heldTasks: 0 };
  }

  async heartbeat(owner: string, leaseMs: number, held: ReadonlyMap<number, number>): Promise<HeartbeatResult> {
    return this.transaction(async (client): Promise<HeartbeatResult> => {
      const renewed = await client.query<{ owner_pk: number; run_pk: number }>(
        `UPDATE owners SET heartbeat_at = ${NOW_MS}, expires_at = ${NOW_MS} + $2, held_tasks = $3 WHERE owner = $1 RETURNING owner_pk, run_pk`,
        [owner, Math.round(leaseMs), held.size],
      );
      const row = renewed.rows[0];
      if (!row) return { alive: false, lost: [] };
      if (held.size === 0) return { alive: true, lost: [] };
      const ords = [...held.keys()];
      const tokens = ords.map((ord) => held.get(ord)!);
      // Still ours by its token: attached to this owner (it may have registered again after an eviction).
      await client.query(
        `UPDATE tasks t SET lease_owner = $2 FROM unnest($3::int[], $4::bigint[]) AS h(ord, token)
         WHERE t.run_pk = $1 AND t.ord = ANY($3::int[]) AND t.ord = h.ord AND t.lease_token = h.token AND t.lease_owner IS DISTINCT FROM $2`,
        [row.run_pk, row.owner_pk, ords, tokens],
      );
      const lost = await client.query<{ ord: number }>(
        `SELECT h.ord FROM unnest($2::int[], $3::bigint[]) AS h(ord, token) LEFT JOIN tasks t ON t.run_pk = $1 AND t.ord = h.ord
         WHERE t.lease_token IS DISTINCT FROM h.token ORDER BY h.ord`,
        [row.run_pk, ords, tokens],
      );
      return { alive: true, lost: lost.rows.map((entry) => entry.ord) };
    });
  }

  async reserveCalls(request: CallReservation): Promise<CallGrant> {
    const { pk } = await this.handle(request.runId);
    if (request.requests <= 0) {
      // Only asking about a pause: a read, no lock (every process asks about every model once a second).
      const { rows } = await this.query<{ paused_until: number | null; now: number }>(
        `SELECT (SELECT paused_until FROM model_windows WHERE run_pk = $1 AND model = $2) AS paused_until, ${NOW_MS} AS now`,
        [pk, request.model],
      );
      return { granted: 0, retryAfterMs: Math.max(0, (rows[0]!.paused_until ?? 0) - rows[0]!.now) };
    }
    return this.transaction(async (client): Promise<CallGrant> => {
      await client.query('INSERT INTO model_windows (run_pk, model) VALUES ($1, $2) ON CONFLICT DO NOTHING', [pk, request.model]);
      const locked = await client.query<{ paused_until: number }>('SELECT paused_until FROM model_windows WHERE run_pk = $1 AND model = $2 FOR UPDATE', [pk, request.model]);
      // The clock is read once the (run, model) row is ours: a grant carries the time it was really made.
      const { rows } = await client.query<{ now: number; requests: number | null; tokens: number | null; oldest: number | null }>(
        `WITH clock AS (SELECT ${NOW_MS} AS now),
         forgotten AS (DELETE FROM call_grants WHERE run_pk = $1 AND model = $2 AND granted_at <= (SELECT now FROM clock) - $3)
         SELECT clock.now, sum(g.requests) AS requests, sum(g.tokens) AS tokens, min(g.granted_at) AS oldest
         FROM clock LEFT JOIN call_grants g ON g.run_pk = $1 AND g.model = $2 AND g.granted_at > clock.now - $3 GROUP BY clock.now`,
        [pk, request.model, Math.round(request.windowMs)],
      );
      const used = rows[0]!;
      const now = used.now;
      const pausedUntil = locked.rows[0]!.paused_until;
      if (pausedUntil > now) return { granted: 0, retryAfterMs: pausedUntil - now };
      const granted = grantable(request, used.requests ?? 0, used.tokens ?? 0);
      if (granted > 0) {
        await client.query('INSERT INTO call_grants (run_pk, model, granted_at, requests, tokens) VALUES ($1, $2, $3, $4, $5)', [pk, request.model, now, granted, granted * request.tokensPerRequest]);
      }
      const retryAfterMs = granted >= request.requests ? 0 : Math.max(1, (used.oldest ?? now) + request.windowMs - now);
      return { granted, retryAfterMs };
    });
  }

  async pauseModel(runId: string, model: string, pauseMs: number): Promise<void> {
    const { pk } = await this.handle(runId);
    await this.query(
      `INSERT INTO model_windows (run_pk, model, paused_until) VALUES ($1, $2, ${NOW_MS} + $3)
       ON CONFLICT (run_pk, model) DO UPDATE SET paused_until = greatest(model_windows.paused_until, excluded.paused_until)`,
      [pk, model, Math.round(pauseMs)],
    );
  }

  async releaseOwner(owner: string): Promise<void> {
    // Leases hang off the owner row: once it is gone, every task it held is claimable again.
    await this.query('DELETE FROM owners WHERE owner = $1', [owner]);
  }

  async listOwners(runId: string): Promise<OwnerRecord[]> {
    const { pk } = await this.handle(runId);
    const { rows } = await this.query(
      `SELECT owner, host, pid, started_at, heartbeat_at, expires_at, held_tasks, expires_at > ${NOW_MS} AS live FROM owners WHERE run_pk = $1 ORDER BY owner_pk`,
      [pk],
    );
    return rows.map((row) => ({
      owner: row.owner,
      runId,
      host: row.host,
      pid: row.pid,
      startedAt: row.started_at,
      heartbeatAt: new Date(row.heartbeat_at).toISOString(),
      expiresAt: new Date(row.expires_at).toISOString(),
      live: row.live,
      heldTasks: row.held_tasks,
    }));
  }

  async claimTasks(request: ClaimRequest): Promise<ClaimedTask[]> {
    const handle = await this.handle(request.runId);
    const empty = new Array<number | null>(handle.pipeline.samples).fill(null);
    return this.transaction(async (client) => {
      const ownerPk = (await this.lockRunForOwner(client, handle.pk, request.owner))!;
      const from = request.fromStage ? stageIndex(request.fromStage) : 0;
      // Tasks already started (resumed, retried, or given up by a process whose lease expired) go first, in
      // two statements. The first locks candidates, skipping rows another claimer has locked this moment. Its
      // snapshot may predate an owner that registered and claimed one of them since (the row it locks is the
      // newest, but the owners it judges it by are as of the statement's start): so the second statement,
      // whose snapshot is taken once those locks are held, sees every claim committed before them and takes
      // only the rows whose lease is still free or expired. The token comes from one sequence.
      const candidates = await client.query<{ ord: number }>(
        `SELECT t.ord FROM tasks t
         WHERE t.run_pk = $1 AND t.failed = false AND t.next_stage >= $2 AND t.next_stage <= $3
           AND ${LEASE_FREE}
         ORDER BY t.next_stage, t.ord LIMIT $4 FOR UPDATE SKIP LOCKED`,
        [handle.pk, from, stageIndex(request.untilStage), request.limit],
      );
      const { rows } =
        candidates.rows.length === 0
          ? { rows: [] }
          : await client.query<{ ord: number; next_stage: number; candidate_seqs: (number | null)[] | null; token: number }>(
              `WITH token AS (SELECT nextval('lease_tokens') AS token)
               UPDATE tasks t SET lease_owner = $3, lease_token = token.token FROM token
               WHERE t.run_pk = $1 AND t.ord = ANY($2::int[])
                 AND ${LEASE_FREE}
               RETURNING t.ord, t.next_stage, t.candidate_seqs, token.token`,
              [handle.pk, candidates.rows.map((row) => row.ord), ownerPk],
            );
      rows.sort((left, right) => left.next_stage - right.next_stage || left.ord - right.ord);
      const claimed: ClaimedTask[] = rows.map((row) => ({ ord: row.ord, token: row.token, nextStage: row.next_stage as StageIndex, candidateSeqs: row.candidate_seqs ?? empty }));
      // ...then untouched ones, whose rows are created here, already leased (they are all at generate).
      const wanted = from === 0 ? request.limit - claimed.length : 0;
      if (wanted > 0) {
        // One statement: the run's next range taken (the only moment a claim touches the run row) and its
        // task rows created, already leased.
        const fresh = await client.query<{ first: number; last: number; token: number }>(
          `WITH range AS (
             UPDATE runs r SET fresh_from = least(r.task_count, r.fresh_from + $2)
             FROM (SELECT fresh_from AS first FROM runs WHERE run_pk = $1 FOR UPDATE) old, (SELECT nextval('lease_tokens') AS token) token
             WHERE r.run_pk = $1 AND r.fresh_from < r.task_count RETURNING old.first, r.fresh_from AS last, token.token),
           created AS (
             INSERT INTO tasks (run_pk, ord, lease_owner, lease_token)
             SELECT $1::bigint, generate_series(range.first, range.last - 1), $3::bigint, range.token FROM range)
           SELECT first, last, token FROM range`,
          [handle.pk, wanted, ownerPk],
        );
        const range = fresh.rows[0];
        if (range && range.last > range.first) {
          for (let ord = range.first; ord < range.last; ord++) claimed.push({ ord, token: range.token, nextStage: 0, candidateSeqs: empty });
        }
      }
      return claimed;
    });
  }

  async appendEvents(request: AppendRequest): Promise<AppendResult> {
    if (request.events.length === 0 && request.release.length === 0) return { appended: 0, rejectedOrds: [] };
    const handle = await this.handle(request.runId);
    return this.transaction(async (client) => {
      // An owner is checked inside the transaction: one evicted a moment ago writes nothing.
      await this.lockRunForOwner(client, handle.pk, request.owner);
      return appendInTransaction(client, handle, request, this.slot, this.location);
    });
  }

  /**
   * One import in one transaction on one pooled connection. Pages given (a run copied from another store) are
   * read while it is open, each appended as one batch (a constant number of statements per page), so only a
   * page is in memory; the server's idle-in-transaction limit is lifted for it (reading the next page is
   * the caller's time), and an import whose pages can be read only once is not tried again on a lost
   * connection: it fails, rolled back, and the caller runs it again.
   */
  async importRun(request: ImportRequest): Promise<ImportOutcome> {
    const attempts = readOnce(request.events, request.create?.items) ? 1 : undefined;
    return inTransaction(this.pool, async (client): Promise<ImportOutcome> => {
      await client.query(`SET LOCAL idle_in_transaction_session_timeout = ${IMPORT_IDLE_MS}`);
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`assay.run.${request.runId}`]);
      let createdRun = false;
      const existing = await client.query('SELECT 1 FROM runs WHERE run_id = $1', [request.runId]);
      if (existing.rowCount === 0) {
        if (!request.create) throw new StoreError(this.location, `no run ${request.runId} in this store`);
        await this.createInTransaction(client, request.create);
        createdRun = true;
      }
      const handle = await this.handleIn(client, request.runId);
      await this.lockRun(client, handle.pk, true);
      await this.refuseIfLeased(client, handle.pk, request.runId);
      if (request.rewind && request.rewind.ords.length > 0) await this.rewindInTransaction(client, handle, request.rewind.stage, request.rewind.ords);
      let appended = 0;
      let pages = 0;
      for await (const events of pagesOf(request.events)) {
        appended += (await appendInTransaction(client, handle, { runId: request.runId, owner: null, events, release: [] }, this.slot, this.location)).appended;
        // The planner's statistics know nothing of the rows this transaction wrote (autovacuum cannot see them),
        // so as a copy grows its lookups turn into scans and each page costs more than the last. Analyzed in
        // the transaction (it sees its own rows) after pages 4, 8, 16...: the per-page cost stays flat.
        if (++pages >= 4 && (pages & (pages - 1)) === 0) await client.query('ANALYZE tasks, events, task_scores');
      }
      const current = (await client.query<{ status: RunStatus }>('SELECT status FROM runs WHERE run_pk = $1', [handle.pk])).rows[0]!.status;
      const target = await importedStatus(request, current, () => this.histogramIn(client, handle.pk));
      if (target) await this.writeStatus(client, handle.pk, target.status, target.completedThroughStage, target.interruptReason ?? undefined);
      return { createdRun, appended };
    }, attempts);
  }

  /** A run's handle read inside a transaction (a run created by it is not yet visible to other connections). */
  private async handleIn(client: pg.PoolClient, runId: string): Promise<PgRunHandle & { snapshot: RunSnapshot }> {
    const cached = this.handles.get(runId);
    if (cached) return cached;
    const row = (await client.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1`, [runId])).rows[0]!;
    return { pk: row.run_pk, runId, snapshot: row.snapshot, pipeline: { samples: row.samples, hasJudges: row.has_judges }, shape: manifestShape(row.snapshot), taskCount: row.task_count };
  }

  async resetFailures(runId: string, untilStage: Stage): Promise<number> {
    const { pk } = await this.handle(runId);
    const until = stageIndex(untilStage);
    return this.transaction(async (client) => {
      await this.lockRun(client, pk, true);
      const result = await client.query<{ next_stage: number; count: number }>(
        `WITH reset AS (UPDATE tasks SET failed = false WHERE run_pk = $1 AND failed = true AND next_stage <= $2 RETURNING next_stage)
         SELECT next_stage, count(*) AS count FROM reset GROUP BY next_stage`,
        [pk, until],
      );
      const counters = new RunCounters();
      let changed = 0;
      for (const row of result.rows) {
        counters.bump(row.next_stage, true, -row.count);
        counters.bump(row.next_stage, false, row.count);
        changed += row.count;
      }
      await addCounters(client, pk, this.slot, counters);
      return changed;
    });
  }

  async rewind(runId: string, stage: Stage, ords?: readonly number[]): Promise<number> {
    const handle = await this.handle(runId);
    return this.transaction(async (client) => {
      await this.lockRun(client, handle.pk, true);
      return this.rewindInTransaction(client, handle, stage, ords);
    });
  }

  private async rewindInTransaction(client: pg.PoolClient, handle: PgRunHandle, stage: Stage, ords?: readonly number[]): Promise<number> {
    const { pk } = handle;
    const index = stageIndex(stage);
    const result = await client.query(
      `UPDATE tasks SET next_stage = $2, failed = false, failure = NULL,
         candidate_seqs = CASE WHEN $2 <= 0 THEN NULL ELSE candidate_seqs END,
         reduce_seq = CASE WHEN $2 <= 1 THEN NULL ELSE reduce_seq END,
         parse_seq = CASE WHEN $2 <= 2 THEN NULL ELSE parse_seq END,
         score_seq = CASE WHEN $2 <= 3 THEN NULL ELSE score_seq END,
         judge_seq = NULL
       WHERE run_pk = $1 AND next_stage >= $2 AND ($3::int[] IS NULL OR ord = ANY($3::int[]))`,
      [pk, index, ords ? [...ords] : null],
    );
    // Counters are rebuilt once here rather than adjusted task by task: a rewind is rare and run-wide.
    await client.query('DELETE FROM stage_histogram WHERE run_pk = $1', [pk]);
    await client.query(
      `INSERT INTO stage_histogram (run_pk, slot, next_stage, failed, count)
       SELECT $1::bigint, 0, next_stage, failed, count(*) FROM tasks WHERE run_pk = $1 GROUP BY next_stage, failed`,
      [pk],
    );
    await client.query(
      `INSERT INTO stage_histogram (run_pk, slot, next_stage, failed, count) SELECT $1::bigint, 0, 0, false, task_count - fresh_from FROM runs WHERE run_pk = $1 AND task_count > fresh_from
       ON CONFLICT (run_pk, slot, next_stage, failed) DO UPDATE SET count = stage_histogram.count + excluded.count`,
      [pk],
    );
    await this.rebuildScoreTotals(client, handle);
    await client.query("INSERT INTO events (run_pk, task_ord, type, payload, created_at) VALUES ($1, NULL, 'run-rewound', $2, $3)", [pk, JSON.stringify(ords ? { stage, tasks: ords.length } : { stage }), Date.now()]);
    return result.rowCount ?? 0;
  }

  /** Recomputes the score sums from the current score and judge results (after a rewind moved pointers). */
  private async rebuildScoreTotals(client: pg.PoolClient, handle: PgRunHandle): Promise<void> {
    const counters = new RunCounters();
    const { rows } = await client.query<{ ord: number; score: Record<string, MetricScore> | null; judge: Record<string, MetricScore> | null }>(
      `SELECT t.ord, (SELECT e.payload -> 'scores' FROM events e WHERE e.seq = t.score_seq) AS score, (SELECT e.payload -> 'scores' FROM events e WHERE e.seq = t.judge_seq) AS judge
       FROM tasks t WHERE t.run_pk = $1 AND (t.score_seq IS NOT NULL OR t.judge_seq IS NOT NULL)`,
      [handle.pk],
    );
    for (const row of rows) {
      const { modelIndex, promptIndex } = taskCoordinates(handle.shape, row.ord);
      for (const scores of [row.score, row.judge]) if (scores) counters.addScores(modelIndex, promptIndex, scores, 1);
    }
    await client.query('DELETE FROM score_totals WHERE run_pk = $1', [handle.pk]);
    const only = new RunCounters();
    for (const [key, entry] of counters.scores) only.scores.set(key, entry);
    await addCounters(client, handle.pk, 0, only);
    await client.query('DELETE FROM task_scores WHERE run_pk = $1', [handle.pk]);
    await client.query(PG_TASK_SCORES_FILL_SQL, [handle.pk]);
  }

  async findRunsSharingGenerations(runId: string): Promise<string[]> {
    const { pk } = await this.handle(runId);
    const { rows } = await this.query<{ run_id: string }>(
      `SELECT runs.run_id FROM runs WHERE runs.run_pk IN (
         SELECT theirs.run_pk FROM generation_groups mine JOIN generation_groups theirs ON theirs.group_key = mine.group_key AND theirs.run_pk <> mine.run_pk
         WHERE mine.run_pk = $1) ORDER BY runs.created_at DESC`,
      [pk],
    );
    return rows.map((row) => row.run_id);
  }

  private async histogramIn(client: pg.PoolClient | pg.Pool, pk: number): Promise<StageHistogramRow[]> {
    const { rows } = await client.query<{ next_stage: number; failed: boolean; count: number }>(
      'SELECT next_stage, failed, sum(count) AS count FROM stage_histogram WHERE run_pk = $1 GROUP BY next_stage, failed HAVING sum(count) <> 0 ORDER BY next_stage, failed',
      [pk],
    );
    return rows.map((row) => ({ nextStage: row.next_stage as StageIndex, failed: row.failed, count: row.count }));
  }

  async getStageHistogram(runId: string): Promise<StageHistogramRow[]> {
    const { pk } = await this.handle(runId);
    return this.histogramIn(this.pool, pk);
  }

  async countPastStageByModel(runId: string, stage: Stage): Promise<number[]> {
    const handle = await this.handle(runId);
    const models = handle.shape.modelIds.length;
    const counts = new Array<number>(models).fill(0);
    const perModel = handle.shape.promptIds.length * handle.shape.replicates;
    const { rows } = await this.query<{ model_index: number; count: number }>(
      'SELECT (ord / $1) % $2 AS model_index, count(*) AS count FROM tasks WHERE run_pk = $3 AND next_stage > $4 GROUP BY 1',
      [perModel, models, handle.pk, stageIndex(stage)],
    );
    for (const row of rows) counts[row.model_index] = row.count;
    return counts;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
