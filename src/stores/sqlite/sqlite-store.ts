import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { OwnerUnknownError, RunBusyError, StoreError } from '../../core/errors.js';
import { generationGroups } from '../../core/generation-groups.js';
import { describeTask, locateTaskKey, manifestShape, taskCoordinates, type ManifestShape } from '../../core/manifest.js';
import { inputOf, targetOf } from '../../core/item-fields.js';
import { RunCounters } from '../../core/run-counters.js';
import { applyTaskEvent, initialProgress } from '../../core/task-progress.js';
import { artifactsOf } from '../result-rows.js';
import { grantable } from '../call-grants.js';
import type { CallCompleted, RunEventPayloads, RunEventType, StoredEvent, TaskEvent } from '../../spec/event.js';
import type { MetricScore } from '../../spec/metric.js';
import type { RunSnapshot } from '../../spec/snapshot.js';
import { stageIndex, type Stage, type StageIndex } from '../../spec/stage.js';
import type {
  AppendRequest,
  AppendResult,
  CallGrant,
  CallReservation,
  ClaimRequest,
  HeartbeatResult,
  ImportOutcome,
  ImportRequest,
  InterruptReason,
  NewOwner,
  ClaimedTask,
  FailureCountRow,
  FailureRow,
  NewRun,
  OwnerRecord,
  PipelineShape,
  RunRecord,
  RunStatus,
  ScoreTotalRow,
  StageHistogramRow,
  Store,
  StoredItem,
  TaskArtifacts,
  TaskProgress,
  TaskResultRow,
  ItemFieldsRow,
  StoredCallReply,
  TaskRecord,
  TaskQuery,
  TaskQueryPage,
  UsageRow,
} from '../../spec/store.js';
import { MIGRATIONS, SCHEMA_SQL, SCHEMA_VERSION, TASK_SCORES_FILL_SQL } from './schema.js';
import { queryTasksSql } from './task-query-sql.js';
import { resultColumns, toResultRow } from './result-sql.js';
import { sqliteFailure } from './sqlite-failure.js';
import { translateFailures } from '../store-failures.js';
import { retryWhenBusy } from './busy-retry.js';
import { importedStatus, pagesOf } from '../import-pages.js';

/** How long a method waits, in all, for another process's write to end before the store counts as busy. */
const BUSY_WAIT_MS = 15_000;

interface RunRow {
  run_pk: number;
  run_id: string;
  name: string;
  snapshot: string;
  provenance: string;
  status: RunStatus;
  completed_through: Stage | null;
  status_reason: InterruptReason | null;
  task_count: number;
  fresh_from: number;
  samples: number;
  has_judges: number;
  created_at: string;
  updated_at: string;
}

/** The task columns, as a raw array (much cheaper than an object per row on hot paths). */
type TaskRow = [
  ord: number,
  nextStage: number,
  failed: number,
  failure: string | null,
  candidateSeqs: string | null,
  reduceSeq: number | null,
  parseSeq: number | null,
  scoreSeq: number | null,
  judgeSeq: number | null,
  leaseOwner: number | null,
  leaseToken: number | null,
];

const TASK_COLUMNS = 'ord, next_stage, failed, failure, candidate_seqs, reduce_seq, parse_seq, score_seq, judge_seq, lease_owner, lease_token';

interface RunHandle {
  readonly pk: number;
  readonly runId: string;
  readonly snapshot: RunSnapshot;
  readonly pipeline: PipelineShape;
  readonly shape: ManifestShape;
  readonly taskCount: number;
}

export interface SqliteStoreOptions {
  /** Create the file (and its folder) when missing. Read-only commands pass false. */
  readonly create?: boolean;
  /** `normal` (default) survives a killed process; `full` also survives power loss, at some cost per commit. */
  readonly synchronous?: 'normal' | 'full';
  /**
   * Open for reading only (the viewer): the file must exist and have this assay's schema, nothing is ever
   * written to it (no migration, no pragma that writes), and every write method fails.
   */
  readonly readonly?: boolean;
}

function toRunRecord(row: RunRow): RunRecord {
  return {
    runId: row.run_id,
    name: row.name,
    snapshot: JSON.parse(row.snapshot),
    provenance: JSON.parse(row.provenance),
    status: row.status,
    completedThroughStage: row.completed_through,
    interruptReason: row.status === 'interrupted' ? row.status_reason : null,
    taskCount: row.task_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function resultsSql(judged: boolean): string {
  return `SELECT ${resultColumns(judged)} FROM tasks t WHERE t.run_pk = ? AND t.ord > ? ORDER BY t.ord LIMIT ?`;
}


function toProgress(row: TaskRow, samples: number): TaskProgress {
  return {
    nextStage: row[1] as StageIndex,
    failed: row[2] === 1,
    failure: row[3] ? JSON.parse(row[3]) : null,
    candidateSeqs: row[4] ? JSON.parse(row[4]) : new Array(samples).fill(null),
    reduceSeq: row[5],
    parseSeq: row[6],
    scoreSeq: row[7],
    judgeSeq: row[8],
  };
}

function storedEvent(row: { seq: number; task_ord: number | null; type: string; payload: string; created_at: number }, runId: string): StoredEvent {
  return { seq: row.seq, runId, taskOrd: row.task_ord, type: row.type as StoredEvent['type'], payload: JSON.parse(row.payload), createdAt: new Date(row.created_at).toISOString() };
}

/**
 * Opens (or creates) an assay store in one SQLite file, in WAL mode. A write the file system refuses (disk
 * full, read-only, I/O error) surfaces as a `StoreUnavailableError` naming the file.
 */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  const location = resolve(path);
  try {
    return translateFailures(retryWhenBusy(new SqliteStore(location, options), BUSY_WAIT_MS), (error) => sqliteFailure(location, error));
  } catch (error) {
    throw sqliteFailure(location, error) ?? error;
  }
}

/**
 * The embedded default store. One writer transaction per batch of events; every read a command needs is an
 * index lookup or a maintained counter, so nothing slows down as a run grows. Task rows are created lazily,
 * when a task is first claimed: a new run of a million tasks starts at once.
 */
export class SqliteStore implements Store {
  readonly specificationVersion = 'assay.store.v1' as const;
  readonly kind = 'sqlite';
  readonly location: string;
  private readonly db: Database.Database;
  private readonly handles = new Map<string, RunHandle>();
  private readonly statements;

  constructor(path: string, options: SqliteStoreOptions) {
    this.location = path;
    const readonly = options.readonly ?? false;
    const create = !readonly && (options.create ?? true);
    if (create) mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new Database(path, { fileMustExist: !create, readonly });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'SQLITE_CANTOPEN') {
        throw new StoreError(path, 'no store here', { hint: 'run an experiment first, or pass --store with the right path', cause: error });
      }
      throw new StoreError(path, `cannot open the store (${(error as Error).message})`, { cause: error });
    }
    try {
      if (readonly) {
        this.db.pragma('busy_timeout = 15000');
        this.db.pragma('cache_size = -32768');
        this.checkReadable();
      } else {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
        this.db.pragma('busy_timeout = 15000');
        this.db.pragma('cache_size = -32768');
        // Checkpoint the WAL every 32 MB instead of every 4 MB: fewer, larger copies back into the database.
        this.db.pragma('wal_autocheckpoint = 8192');
        this.migrate();
      }
      // From here a busy file does not block the thread: a method that finds another process writing gives
      // the event loop back and tries again (see retryWhenBusy), as long as SQLite's own wait would have.
      this.db.pragma('busy_timeout = 0');
    } catch (error) {
      this.db.close();
      if (error instanceof StoreError) throw error;
      const code = (error as { code?: string }).code;
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
        throw new StoreError(path, 'this file is not an assay store (not a SQLite database)', { hint: 'pass --store with a different path', cause: error });
      }
      throw error;
    }
    this.statements = this.prepareStatements();
  }

  /** A store opened read-only must already be an assay store of this schema: it cannot be made one. */
  private checkReadable(): void {
    const hasMeta = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    if (!hasMeta) throw new StoreError(this.location, 'this SQLite file is not an assay store', { hint: 'pass --store with a different path' });
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
    const version = row ? Number(row.value) : 0;
    if (version > SCHEMA_VERSION) {
      throw new StoreError(this.location, `this store was written by a newer assay (schema ${version}; this one reads up to ${SCHEMA_VERSION})`, { hint: 'upgrade assay' });
    }
    if (version < SCHEMA_VERSION) {
      throw new StoreError(this.location, `this store has schema ${version} and is opened read-only here, so it cannot be upgraded to ${SCHEMA_VERSION}`, {
        hint: `upgrade it once with a command that writes, e.g. \`assay runs --store ${this.location}\``,
      });
    }
  }

  private migrate(): void {
    const hasMeta = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    if (hasMeta) {
      const row = this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
      const version = row ? Number(row.value) : 0;
      if (version > SCHEMA_VERSION) {
        throw new StoreError(this.location, `this store was written by a newer assay (schema ${version}; this one reads up to ${SCHEMA_VERSION})`, {
          hint: 'upgrade assay',
        });
      }
      if (version === SCHEMA_VERSION) return;
      this.upgrade(version);
      return;
    }
    const tables = this.db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number };
    if (tables.n > 0) throw new StoreError(this.location, 'this SQLite file is not an assay store', { hint: 'pass --store with a different path' });
    this.db.exec('BEGIN IMMEDIATE');
    try {
      this.db.exec(SCHEMA_SQL);
      this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)").run(String(SCHEMA_VERSION));
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Brings a store written by an older assay up to this schema, one step at a time, in one transaction. */
  private upgrade(from: number): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (let version = from + 1; version <= SCHEMA_VERSION; version++) {
        const step = MIGRATIONS[version];
        if (step === undefined) throw new StoreError(this.location, `this store has schema ${from}, which this assay cannot upgrade`, { hint: 'open it with the assay version that wrote it' });
        this.db.exec(step);
      }
      this.db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION));
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  private prepareStatements() {
    const db = this.db;
    const raw = <Parameters extends unknown[]>(sql: string) => db.prepare<Parameters, TaskRow>(sql).raw(true);
    return {
      runById: db.prepare<[string], RunRow>('SELECT * FROM runs WHERE run_id = ?'),
      runsByPrefix: db.prepare<[string, number], RunRow>("SELECT * FROM runs WHERE run_id LIKE ? || '%' ORDER BY created_at DESC LIMIT ?"),
      allRuns: db.prepare<[], RunRow>('SELECT * FROM runs ORDER BY created_at DESC'),
      insertRun: db.prepare(
        `INSERT INTO runs (run_id, name, snapshot, provenance, status, completed_through, task_count, samples, has_judges, created_at, updated_at)
         VALUES (@runId, @name, @snapshot, @provenance, 'created', NULL, @taskCount, @samples, @hasJudges, @createdAt, @now)`,
      ),
      freshFrom: db.prepare<[number], { fresh_from: number }>('SELECT fresh_from FROM runs WHERE run_pk = ?'),
      advanceFresh: db.prepare('UPDATE runs SET fresh_from = ? WHERE run_pk = ?'),
      insertItem: db.prepare('INSERT INTO items (run_pk, ord, dataset_id, item_id, fields) VALUES (?, ?, ?, ?, ?)'),
      itemIdentity: db.prepare<[number, number], { dataset_id: string; item_id: string }>('SELECT dataset_id, item_id FROM items WHERE run_pk = ? AND ord = ?'),
      itemOrd: db.prepare<[number, string, string], { ord: number }>('SELECT ord FROM items WHERE run_pk = ? AND dataset_id = ? AND item_id = ?'),
      insertFreshTasks: db.prepare(
        `WITH RECURSIVE fresh(ord) AS (SELECT ? UNION ALL SELECT ord + 1 FROM fresh WHERE ord + 1 < ?)
         INSERT INTO tasks (run_pk, ord, lease_owner, lease_token) SELECT ?, ord, ?, ? FROM fresh`,
      ),
      setStatus: db.prepare('UPDATE runs SET status = ?, completed_through = ?, status_reason = ?, updated_at = ? WHERE run_pk = ?'),
      nextToken: db.prepare<[number], { lease_epoch: number }>('UPDATE runs SET lease_epoch = lease_epoch + 1 WHERE run_pk = ? RETURNING lease_epoch'),
      insertEvent: db.prepare('INSERT INTO events (run_pk, task_ord, type, payload, created_at) VALUES (?, ?, ?, ?, ?)'),
      taskScoresClear: db.prepare('DELETE FROM task_scores WHERE run_pk = ? AND ord = ? AND kind = ?'),
      taskScoreInsert: db.prepare('INSERT INTO task_scores (run_pk, ord, kind, name, value) VALUES (?, ?, ?, ?, ?)'),
      insertCallReply: db.prepare('INSERT OR IGNORE INTO call_replies (call_key, run_pk, seq) VALUES (?, ?, ?)'),
      callReply: db.prepare<[string], { payload: string; run_id: string }>(
        `SELECT e.payload AS payload, r.run_id AS run_id FROM call_replies c JOIN events e ON e.seq = c.seq JOIN runs r ON r.run_pk = c.run_pk
         WHERE c.call_key = ?`,
      ),
      task: raw<[number, number]>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE run_pk = ? AND ord = ?`),
      updateTask: db.prepare(
        `UPDATE tasks SET next_stage = ?, failed = ?, failure = ?, candidate_seqs = ?, reduce_seq = ?, parse_seq = ?, score_seq = ?,
         judge_seq = ?, lease_owner = ? WHERE run_pk = ? AND ord = ?`,
      ),
      release: db.prepare('UPDATE tasks SET lease_owner = NULL WHERE run_pk = ? AND ord = ? AND lease_token IS ?'),
      // A lease is free when nobody holds it or its owner's lease has expired by this machine's clock.
      claim: db.prepare<[number, number, number, number, number, number, number, number, number], { ord: number; next_stage: number; candidate_seqs: string | null }>(
        `UPDATE tasks SET lease_owner = ?, lease_token = ? WHERE run_pk = ? AND ord IN (
           SELECT ord FROM tasks
           WHERE run_pk = ? AND failed = 0 AND next_stage >= ? AND next_stage <= ?
             AND (lease_owner IS NULL OR lease_owner NOT IN (SELECT owner_pk FROM owners WHERE run_pk = ? AND expires_at > ?))
           ORDER BY next_stage, ord LIMIT ?)
         RETURNING ord, next_stage, candidate_seqs`,
      ),
      leaseOf: db.prepare<[number, number], { lease_owner: number | null; lease_token: number | null }>('SELECT lease_owner, lease_token FROM tasks WHERE run_pk = ? AND ord = ?'),
      attachLease: db.prepare('UPDATE tasks SET lease_owner = ? WHERE run_pk = ? AND ord = ?'),
      histogramAdd: db.prepare(
        `INSERT INTO stage_histogram (run_pk, next_stage, failed, count) VALUES (?, ?, ?, ?)
         ON CONFLICT (run_pk, next_stage, failed) DO UPDATE SET count = count + excluded.count`,
      ),
      // A task's model follows from its position: floor(ord / (prompts x replicates)) mod models (core/manifest.ts).
      pastStageByModel: db.prepare<[number, number, number, number], { model_index: number; count: number }>(
        'SELECT (ord / ?) % ? AS model_index, COUNT(*) AS count FROM tasks WHERE run_pk = ? AND next_stage > ? GROUP BY model_index',
      ),
      histogram: db.prepare<[number], { next_stage: number; failed: number; count: number }>(
        'SELECT next_stage, failed, count FROM stage_histogram WHERE run_pk = ? AND count <> 0',
      ),
      scoreAdd: db.prepare(
        `INSERT INTO score_totals (run_pk, model_index, prompt_index, metric, sum, sum_sq, count) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_pk, model_index, prompt_index, metric) DO UPDATE SET sum = sum + excluded.sum, sum_sq = sum_sq + excluded.sum_sq,
           count = count + excluded.count`,
      ),
      usageAdd: db.prepare(
        `INSERT INTO usage_totals (run_pk, model, stage, calls, input_tokens, output_tokens) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_pk, model, stage) DO UPDATE SET calls = calls + excluded.calls,
           input_tokens = input_tokens + excluded.input_tokens, output_tokens = output_tokens + excluded.output_tokens`,
      ),
      usageTotals: db.prepare<[number], { model: string; stage: Stage; calls: number; input_tokens: number; output_tokens: number }>(
        'SELECT model, stage, calls, input_tokens, output_tokens FROM usage_totals WHERE run_pk = ? ORDER BY model, stage',
      ),
      scoreTotals: db.prepare<[number], { model_index: number; prompt_index: number; metric: string; sum: number; sum_sq: number | null; count: number }>(
        'SELECT model_index, prompt_index, metric, sum, sum_sq, count FROM score_totals WHERE run_pk = ? AND count <> 0 ORDER BY model_index, prompt_index, metric',
      ),
      eventPayload: db.prepare<[number], { payload: string }>('SELECT payload FROM events WHERE seq = ?'),
      // One page of the report's scan: the numbers of each task, pulled out of its current events by SQLite
      // (json_extract), so answer texts never reach JavaScript. Every lookup is by primary key. Rows come as
      // arrays (see ResultSqlRow); runs without judges skip the judge lookups.
      results: raw<[number, number, number]>(resultsSql(false)),
      resultsJudged: raw<[number, number, number]>(resultsSql(true)),
      insertGroup: db.prepare('INSERT OR IGNORE INTO generation_groups (group_key, run_pk) VALUES (?, ?)'),
      sharedGroups: db.prepare<[number], { run_id: string }>(
        `SELECT DISTINCT runs.run_id AS run_id FROM generation_groups AS mine
         JOIN generation_groups AS theirs ON theirs.group_key = mine.group_key AND theirs.run_pk <> mine.run_pk
         JOIN runs ON runs.run_pk = theirs.run_pk
         WHERE mine.run_pk = ? ORDER BY runs.created_at DESC`,
      ),
      scoredTasks: db.prepare<[number], { ord: number; score_seq: number | null; judge_seq: number | null }>(
        'SELECT ord, score_seq, judge_seq FROM tasks WHERE run_pk = ? AND (score_seq IS NOT NULL OR judge_seq IS NOT NULL)',
      ),
      eventsByTask: db.prepare<[number, number], { seq: number; task_ord: number | null; type: string; payload: string; created_at: number }>(
        'SELECT seq, task_ord, type, payload, created_at FROM events WHERE run_pk = ? AND task_ord = ? ORDER BY seq',
      ),
      eventsAmong: db.prepare<[number, string], { seq: number; task_ord: number; type: string; payload: string; created_at: number }>(
        'SELECT seq, task_ord, type, payload, created_at FROM events WHERE run_pk = ? AND task_ord IN (SELECT value FROM json_each(?)) ORDER BY task_ord, seq',
      ),
      failures: db.prepare<[number, number], { ord: number; failure: string }>(
        'SELECT ord, failure FROM tasks WHERE run_pk = ? AND failed = 1 ORDER BY next_stage, ord LIMIT ?',
      ),
      allFailures: db.prepare<[number], { failure: string }>('SELECT failure FROM tasks INDEXED BY tasks_claimable WHERE run_pk = ? AND failed = 1'),
      items: db.prepare<[number], { ord: number; dataset_id: string; item_id: string; fields: string }>(
        'SELECT ord, dataset_id, item_id, fields FROM items WHERE run_pk = ? ORDER BY ord',
      ),
      itemsBetween: db.prepare<[number, number, number], { ord: number; dataset_id: string; item_id: string; fields: string }>(
        'SELECT ord, dataset_id, item_id, fields FROM items WHERE run_pk = ? AND ord BETWEEN ? AND ?',
      ),
      itemsAmong: db.prepare<[number, string], { ord: number; dataset_id: string; item_id: string; fields: string }>(
        'SELECT ord, dataset_id, item_id, fields FROM items WHERE run_pk = ? AND ord IN (SELECT value FROM json_each(?))',
      ),
      ownerPk: db.prepare<[string], { owner_pk: number; run_pk: number }>('SELECT owner_pk, run_pk FROM owners WHERE owner = ?'),
      liveOwner: db.prepare<[number, number], { pid: number; host: string }>('SELECT pid, host FROM owners WHERE run_pk = ? AND expires_at > ? LIMIT 1'),
      insertOwner: db.prepare('INSERT INTO owners (owner, run_pk, host, pid, started_at, heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      heartbeat: db.prepare('UPDATE owners SET heartbeat_at = ?, expires_at = ?, held_tasks = ? WHERE owner = ?'),
      windowRow: db.prepare<[number, string], { paused_until: number }>('SELECT paused_until FROM model_windows WHERE run_pk = ? AND model = ?'),
      insertWindow: db.prepare('INSERT OR IGNORE INTO model_windows (run_pk, model) VALUES (?, ?)'),
      pause: db.prepare('UPDATE model_windows SET paused_until = max(paused_until, ?) WHERE run_pk = ? AND model = ?'),
      grantsSince: db.prepare<[number, string, number], { requests: number | null; tokens: number | null; oldest: number | null }>(
        'SELECT sum(requests) AS requests, sum(tokens) AS tokens, min(granted_at) AS oldest FROM call_grants WHERE run_pk = ? AND model = ? AND granted_at > ?',
      ),
      insertGrant: db.prepare('INSERT INTO call_grants (run_pk, model, granted_at, requests, tokens) VALUES (?, ?, ?, ?, ?)'),
      forgetGrants: db.prepare('DELETE FROM call_grants WHERE run_pk = ? AND model = ? AND granted_at <= ?'),
      deleteOwner: db.prepare('DELETE FROM owners WHERE owner = ?'),
      owners: db.prepare<[number], { owner: string; host: string; pid: number; started_at: string; heartbeat_at: number; expires_at: number; held_tasks: number }>(
        'SELECT owner, host, pid, started_at, heartbeat_at, expires_at, held_tasks FROM owners WHERE run_pk = ? ORDER BY owner_pk',
      ),
    };
  }

  private readonly itemFieldStatements = new Map<string, Database.Statement>();

  private handle(runId: string): RunHandle {
    let handle = this.handles.get(runId);
    if (!handle) {
      const row = this.statements.runById.get(runId);
      if (!row) throw new StoreError(this.location, `no run ${runId} in this store`);
      const snapshot = JSON.parse(row.snapshot) as RunSnapshot;
      handle = {
        pk: row.run_pk,
        runId,
        snapshot,
        pipeline: { samples: row.samples, hasJudges: row.has_judges === 1 },
        shape: manifestShape(snapshot),
        taskCount: row.task_count,
      };
      this.handles.set(runId, handle);
    }
    return handle;
  }

  /** The owner's row key, read inside the caller's transaction: an owner removed a moment ago is unknown. */
  private registeredOwner(owner: string): number {
    const row = this.statements.ownerPk.get(owner);
    if (!row) throw new OwnerUnknownError(owner);
    return row.owner_pk;
  }

  private keyOf(handle: RunHandle, ord: number): string {
    const coordinates = taskCoordinates(handle.shape, ord);
    const item = this.statements.itemIdentity.get(handle.pk, coordinates.itemOrd);
    if (!item) return `#${ord}`;
    return describeTask(handle.shape, ord, { datasetId: item.dataset_id, itemId: item.item_id }).key;
  }

  async createRun(run: NewRun, options: { replace?: boolean } = {}): Promise<boolean> {
    return this.db
      .transaction(() => {
        const existing = this.statements.runById.get(run.runId);
        if (existing && !options.replace) return false;
        // A rerun: the old run goes and the new one comes in one transaction, so a kill leaves one or the other.
        if (existing) {
          this.refuseIfLeased(existing.run_pk, run.runId);
          this.deleteInTransaction(existing.run_pk, run.runId);
        }
        this.createInTransaction(run);
        return true;
      })
      .immediate();
  }

  private createInTransaction(run: NewRun): number {
    const { statements } = this;
    const now = new Date().toISOString();
    const createdAt = run.createdAt ?? now;
    const result = statements.insertRun.run({
      runId: run.runId,
      name: run.name,
      snapshot: JSON.stringify(run.snapshot),
      provenance: JSON.stringify(run.provenance),
      taskCount: run.taskCount,
      samples: run.snapshot.samples,
      hasJudges: run.snapshot.judges.length > 0 ? 1 : 0,
      createdAt,
      now,
    });
    const pk = Number(result.lastInsertRowid);
    this.insertItems(pk, run.items);
    statements.histogramAdd.run(pk, 0, 0, run.taskCount);
    for (const group of generationGroups(run.snapshot)) statements.insertGroup.run(group.key, pk);
    statements.insertEvent.run(pk, null, 'run-created', JSON.stringify({ taskCount: run.taskCount }), Date.now());
    return pk;
  }

  private insertItems(pk: number, items: Iterable<StoredItem>): void {
    const { statements } = this;
    for (const item of items) {
      try {
        statements.insertItem.run(pk, item.ord, item.datasetId, item.itemId, JSON.stringify(item.fields));
      } catch (error) {
        // Ids were checked when the rows were first read; a duplicate now means the file changed since.
        if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw error;
        throw new StoreError(this.location, `dataset '${item.datasetId}' now has item id '${item.itemId}' twice: the file changed while assay read it`, {
          hint: 'leave the dataset alone while assay runs, then run the command again',
        });
      }
    }
  }

  /** Refuses to replace or import into a run while a process's lease on it is live (by this machine's clock). */
  private refuseIfLeased(runPk: number, runId: string): void {
    const holder = this.statements.liveOwner.get(runPk, Date.now());
    if (holder) throw new RunBusyError(runId, `pid ${holder.pid} on ${holder.host}`);
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const row = this.statements.runById.get(runId);
    return row ? toRunRecord(row) : undefined;
  }

  async findRuns(idPrefix: string, limit: number): Promise<RunRecord[]> {
    return this.statements.runsByPrefix.all(idPrefix.replace(/[%_]/g, ''), limit).map(toRunRecord);
  }

  async listRuns(): Promise<RunRecord[]> {
    return this.statements.allRuns.all().map(toRunRecord);
  }

  async deleteRun(runId: string): Promise<void> {
    const row = this.statements.runById.get(runId);
    if (!row) return;
    this.db.transaction(() => this.deleteInTransaction(row.run_pk, runId)).immediate();
  }

  private deleteInTransaction(pk: number, runId: string): void {
    for (const table of ['events', 'tasks', 'items', 'stage_histogram', 'score_totals', 'owners', 'generation_groups', 'usage_totals', 'call_replies', 'model_windows', 'call_grants', 'task_scores', 'runs']) {
      this.db.prepare(`DELETE FROM ${table} WHERE run_pk = ?`).run(pk);
    }
    this.handles.delete(runId);
  }

  async setRunStatus(runId: string, status: RunStatus, completedThroughStage: Stage | null, interruptReason?: InterruptReason): Promise<void> {
    this.writeStatus(this.handle(runId).pk, status, completedThroughStage, interruptReason);
  }

  /** An interrupted run without a reason was stopped by its user; any other status has none. */
  private writeStatus(pk: number, status: RunStatus, completedThroughStage: Stage | null, interruptReason?: InterruptReason): void {
    const reason = status === 'interrupted' ? (interruptReason ?? 'user') : null;
    this.statements.setStatus.run(status, completedThroughStage, reason, new Date().toISOString(), pk);
  }

  async appendRunEvent<Type extends RunEventType>(runId: string, type: Type, payload: RunEventPayloads[Type]): Promise<void> {
    this.statements.insertEvent.run(this.handle(runId).pk, null, type, JSON.stringify(payload), Date.now());
  }

  async loadItems(runId: string): Promise<StoredItem[]> {
    const handle = this.handle(runId);
    const datasets = new Map(handle.snapshot.datasets.map((dataset) => [dataset.id, dataset]));
    return this.statements.items.all(handle.pk).map((row) => {
      const fields = JSON.parse(row.fields) as Record<string, unknown>;
      const dataset = datasets.get(row.dataset_id)!;
      return { ord: row.ord, datasetId: row.dataset_id, itemId: row.item_id, input: inputOf(fields, dataset), target: targetOf(fields, dataset), fields };
    });
  }

  async readItemFields(runId: string, fields: readonly string[], afterOrd: number, limit: number): Promise<ItemFieldsRow[]> {
    const handle = this.handle(runId);
    // SQLite reads each field out of the row's JSON, so whole rows never reach JavaScript. Prepared once per
    // field list (a report asks with one list).
    const key = JSON.stringify(fields);
    let statement = this.itemFieldStatements.get(key);
    if (!statement) {
      const columns = fields.map(() => `fields -> ('$.' || json_quote(?))`).join(', ');
      statement = this.db.prepare(`SELECT ord, dataset_id, item_id${columns ? `, ${columns}` : ''} FROM items WHERE run_pk = ? AND ord > ? ORDER BY ord LIMIT ?`).raw(true);
      this.itemFieldStatements.set(key, statement);
    }
    // `->` gives each value as JSON text (NULL where the row lacks the field): parsed here, so every kind of
    // value comes back as it is in the row.
    return (statement.all(...fields, handle.pk, afterOrd, limit) as unknown[][]).map((row) => ({
      ord: row[0] as number,
      datasetId: row[1] as string,
      itemId: row[2] as string,
      values: row.slice(3).map((value) => (value === null ? undefined : JSON.parse(value as string))),
    }));
  }

  async loadItemsAt(runId: string, itemOrds: readonly number[]): Promise<Map<number, StoredItem>> {
    const handle = this.handle(runId);
    const found = new Map<number, StoredItem>();
    if (itemOrds.length === 0) return found;
    const datasets = new Map(handle.snapshot.datasets.map((dataset) => [dataset.id, dataset]));
    let low = itemOrds[0]!;
    let high = low;
    for (const ord of itemOrds) {
      if (ord < low) low = ord;
      if (ord > high) high = ord;
    }
    // A claimed batch is mostly a contiguous run of positions: one range scan; a scattered one, point reads.
    const wanted = new Set(itemOrds);
    const rows = high - low < wanted.size * 2 ? this.statements.itemsBetween.all(handle.pk, low, high) : this.statements.itemsAmong.all(handle.pk, JSON.stringify([...wanted]));
    for (const row of rows) {
      if (!wanted.has(row.ord)) continue;
      const fields = JSON.parse(row.fields) as Record<string, unknown>;
      const dataset = datasets.get(row.dataset_id)!;
      found.set(row.ord, { ord: row.ord, datasetId: row.dataset_id, itemId: row.item_id, input: inputOf(fields, dataset), target: targetOf(fields, dataset), fields });
    }
    return found;
  }

  async getTask(runId: string, key: string): Promise<TaskRecord | undefined> {
    const handle = this.handle(runId);
    const ord = locateTaskKey(handle.shape, key, (datasetId, itemId) => this.statements.itemOrd.get(handle.pk, datasetId, itemId)?.ord);
    if (ord === undefined || ord >= handle.taskCount) return undefined;
    const row = this.statements.task.get(handle.pk, ord) as TaskRow | undefined;
    const progress = row ? toProgress(row, handle.pipeline.samples) : initialProgress(handle.pipeline.samples);
    return { ...taskCoordinates(handle.shape, ord), key, progress };
  }

  // Lease times are this machine's clock, read here in the store: every process on the file shares it.

  async registerOwner(owner: NewOwner, leaseMs: number): Promise<OwnerRecord> {
    const now = Date.now();
    const startedAt = new Date(now).toISOString();
    this.statements.insertOwner.run(owner.owner, this.handle(owner.runId).pk, owner.host, owner.pid, startedAt, now, now + leaseMs);
    return { ...owner, startedAt, heartbeatAt: startedAt, expiresAt: new Date(now + leaseMs).toISOString(), live: true, heldTasks: 0 };
  }

  // Fleet limits: the time is this machine's clock, read here in the store, shared by every process on the file.

  async reserveCalls(request: CallReservation): Promise<CallGrant> {
    const { statements } = this;
    const runPk = this.handle(request.runId).pk;
    if (request.requests <= 0) {
      // Only asking about a pause: a read, no write lock (every process asks about every model once a second).
      const now = Date.now();
      const pausedUntil = statements.windowRow.get(runPk, request.model)?.paused_until ?? 0;
      return { granted: 0, retryAfterMs: Math.max(0, pausedUntil - now) };
    }
    return this.db
      .transaction((): CallGrant => {
        const now = Date.now();
        statements.insertWindow.run(runPk, request.model);
        const pausedUntil = statements.windowRow.get(runPk, request.model)!.paused_until;
        if (pausedUntil > now) return { granted: 0, retryAfterMs: pausedUntil - now };
        if (request.requests <= 0) return { granted: 0, retryAfterMs: 0 };
        const horizon = now - request.windowMs;
        statements.forgetGrants.run(runPk, request.model, horizon);
        const used = statements.grantsSince.get(runPk, request.model, horizon)!;
        const granted = grantable(request, used.requests ?? 0, used.tokens ?? 0);
        if (granted > 0) statements.insertGrant.run(runPk, request.model, now, granted, granted * request.tokensPerRequest);
        const retryAfterMs = granted >= request.requests ? 0 : Math.max(1, (used.oldest ?? now) + request.windowMs - now);
        return { granted, retryAfterMs };
      })
      .immediate();
  }

  async pauseModel(runId: string, model: string, pauseMs: number): Promise<void> {
    const { statements } = this;
    const runPk = this.handle(runId).pk;
    this.db
      .transaction(() => {
        statements.insertWindow.run(runPk, model);
        statements.pause.run(Date.now() + pauseMs, runPk, model);
      })
      .immediate();
  }

  async heartbeat(owner: string, leaseMs: number, held: ReadonlyMap<number, number>): Promise<HeartbeatResult> {
    const { statements } = this;
    return this.db
      .transaction((): HeartbeatResult => {
        const now = Date.now();
        if (statements.heartbeat.run(now, now + leaseMs, held.size, owner).changes === 0) return { alive: false, lost: [] };
        const { owner_pk: ownerPk, run_pk: runPk } = statements.ownerPk.get(owner)!;
        const lost: number[] = [];
        for (const [ord, token] of held) {
          const lease = statements.leaseOf.get(runPk, ord);
          if (!lease || lease.lease_token !== token) lost.push(ord);
          // Still ours by its token: attach it to this owner (it may have registered again after an eviction).
          else if (lease.lease_owner !== ownerPk) statements.attachLease.run(ownerPk, runPk, ord);
        }
        return { alive: true, lost };
      })
      .immediate();
  }

  async releaseOwner(owner: string): Promise<void> {
    // Leases hang off the owner row: once it is gone, every task it held is claimable again.
    this.statements.deleteOwner.run(owner);
  }

  async listOwners(runId: string): Promise<OwnerRecord[]> {
    const now = Date.now();
    return this.statements.owners.all(this.handle(runId).pk).map((row) => ({
      owner: row.owner,
      runId,
      host: row.host,
      pid: row.pid,
      startedAt: row.started_at,
      heartbeatAt: new Date(row.heartbeat_at).toISOString(),
      expiresAt: new Date(row.expires_at).toISOString(),
      live: row.expires_at > now,
      heldTasks: row.held_tasks,
    }));
  }

  async claimTasks(request: ClaimRequest): Promise<ClaimedTask[]> {
    const handle = this.handle(request.runId);
    const { statements } = this;
    const samples = handle.pipeline.samples;
    const empty = new Array<number | null>(samples).fill(null);
    return this.db
      .transaction(() => {
        const ownerPk = this.registeredOwner(request.owner);
        const token = statements.nextToken.get(handle.pk)!.lease_epoch;
        // Tasks already started (resumed, retried, or given up by a process whose lease expired) go first...
        const from = request.fromStage ? stageIndex(request.fromStage) : 0;
        const rows = statements.claim.all(ownerPk, token, handle.pk, handle.pk, from, stageIndex(request.untilStage), handle.pk, Date.now(), request.limit);
        rows.sort((left, right) => left.next_stage - right.next_stage || left.ord - right.ord);
        const claimed: ClaimedTask[] = rows.map((row) => ({
          ord: row.ord,
          token,
          nextStage: row.next_stage as StageIndex,
          candidateSeqs: row.candidate_seqs ? (JSON.parse(row.candidate_seqs) as (number | null)[]) : empty,
        }));
        // ...then untouched ones, whose rows are created here, already leased (they are all at generate).
        const wanted = from === 0 ? request.limit - claimed.length : 0;
        const first = statements.freshFrom.get(handle.pk)!.fresh_from;
        const last = Math.min(handle.taskCount, first + Math.max(0, wanted));
        if (last > first) {
          statements.insertFreshTasks.run(first, last, handle.pk, ownerPk, token);
          statements.advanceFresh.run(last, handle.pk);
          for (let ord = first; ord < last; ord++) claimed.push({ ord, token, nextStage: 0, candidateSeqs: empty });
        }
        return claimed;
      })
      .immediate();
  }

  async appendEvents(request: AppendRequest): Promise<AppendResult> {
    if (request.events.length === 0 && request.release.length === 0) return { appended: 0, rejectedOrds: [] };
    const handle = this.handle(request.runId);
    return this.db
      .transaction(() => {
        // An owner is checked inside the transaction: one evicted a moment ago writes nothing.
        if (request.owner !== null) this.registeredOwner(request.owner);
        return this.appendInTransaction(handle, request);
      })
      .immediate();
  }

  private appendInTransaction(handle: RunHandle, request: AppendRequest): AppendResult {
    const { statements } = this;
    const { pk, pipeline, shape } = handle;
    const now = Date.now();
    const counters = new RunCounters();
    const addScores = (ord: number, scores: Readonly<Record<string, MetricScore>>, sign: 1 | -1) => {
      const { modelIndex, promptIndex } = taskCoordinates(shape, ord);
      counters.addScores(modelIndex, promptIndex, scores, sign);
    };

    let appended = 0;
    const rejected: number[] = [];
    const checked = request.owner !== null;
    const releases = new Set(request.release);
    let fresh: number | undefined;
    // Each task's events are applied together (one read and one write of its row), in their own order.
    const byTask = new Map<number, TaskEvent[]>();
    for (const event of request.events) {
      const list = byTask.get(event.taskOrd);
      if (list) list.push(event);
      else byTask.set(event.taskOrd, [event]);
    }
    for (const [ord, taskEvents] of byTask) {
      if (!Number.isInteger(ord) || ord < 0 || ord >= handle.taskCount) {
        throw new StoreError(this.location, `task ${ord} does not exist in run ${handle.runId}`);
      }
      let row = statements.task.get(pk, ord) as TaskRow | undefined;
      if (!row) {
        // A task never claimed (an import, say): create its row first.
        fresh ??= statements.freshFrom.get(pk)!.fresh_from;
        if (ord < fresh) throw new StoreError(this.location, `task ${ord} of run ${handle.runId} has lost its row`);
        statements.insertFreshTasks.run(fresh, ord + 1, pk, null, null);
        fresh = ord + 1;
        statements.advanceFresh.run(fresh, pk);
        row = statements.task.get(pk, ord) as TaskRow;
      }
      const currentOwner = row[9];
      // The fence: a leased writer must hold the task's current token (imports, with no owner, hold the run's lock).
      if (checked && row[10] !== request.leases?.get(ord)) {
        rejected.push(ord);
        releases.delete(ord);
        continue;
      }
      let progress = toProgress(row, pipeline.samples);
      const before = progress;
      for (const event of taskEvents) {
        const seq = Number(statements.insertEvent.run(pk, ord, event.type, JSON.stringify(event.payload), now).lastInsertRowid);
        appended++;
        counters.addUsage(event, shape.modelIds[taskCoordinates(shape, ord).modelIndex]!);
        if (event.type === 'call-completed' && event.payload.accepted) statements.insertCallReply.run(event.payload.key, pk, seq);
        const previous = event.type === 'judge-completed' ? progress.judgeSeq : progress.scoreSeq;
        const result = applyTaskEvent(progress, event, seq, pipeline);
        if (result.applied && (event.type === 'score-completed' || event.type === 'judge-completed')) {
          if (previous !== null) addScores(ord, this.scoresAt(previous), -1);
          addScores(ord, event.payload.scores, 1);
          const kind = event.type === 'judge-completed' ? 1 : 0;
          // A task's first scores of a kind have nothing to replace (a rewind already cleared the old ones).
          if (previous !== null) statements.taskScoresClear.run(pk, ord, kind);
          for (const [name, score] of Object.entries(event.payload.scores)) {
            if (typeof score?.value === 'number' && Number.isFinite(score.value)) statements.taskScoreInsert.run(pk, ord, kind, name, score.value);
          }
        }
        progress = result.progress;
      }
      const leaseOwner = releases.delete(ord) ? null : currentOwner;
      if (progress !== before || leaseOwner !== currentOwner) {
        statements.updateTask.run(
          progress.nextStage,
          progress.failed ? 1 : 0,
          progress.failure ? JSON.stringify(progress.failure) : null,
          JSON.stringify(progress.candidateSeqs),
          progress.reduceSeq,
          progress.parseSeq,
          progress.scoreSeq,
          progress.judgeSeq,
          leaseOwner,
          pk,
          ord,
        );
        counters.move(before, progress);
      }
    }
    // Tasks finished without a new event in this batch (their events went out earlier).
    for (const ord of releases) {
      if (checked && statements.release.run(pk, ord, request.leases?.get(ord) ?? null).changes === 0) rejected.push(ord);
    }
    for (const [key, delta] of counters.histogram) {
      if (delta !== 0) statements.histogramAdd.run(pk, key >> 1, key & 1, delta);
    }
    for (const entry of counters.scores.values()) {
      if (entry.count !== 0 || entry.sum !== 0) statements.scoreAdd.run(pk, entry.model, entry.prompt, entry.metric, entry.sum, entry.sumOfSquares, entry.count);
    }
    for (const entry of counters.usage.values()) statements.usageAdd.run(pk, entry.model, entry.stage, entry.calls, entry.inputTokens, entry.outputTokens);
    return { appended, rejectedOrds: rejected };
  }

  private scoresAt(seq: number): Readonly<Record<string, MetricScore>> {
    const row = this.statements.eventPayload.get(seq);
    return row ? (JSON.parse(row.payload) as { scores: Record<string, MetricScore> }).scores : {};
  }

  async resetFailures(runId: string, untilStage: Stage): Promise<number> {
    const { pk } = this.handle(runId);
    const until = stageIndex(untilStage);
    return this.db
      .transaction(() => {
        const moved = this.db
          .prepare<[number, number], { next_stage: number; count: number }>(
            'SELECT next_stage, count FROM stage_histogram WHERE run_pk = ? AND failed = 1 AND next_stage <= ? AND count > 0',
          )
          .all(pk, until);
        const result = this.db.prepare('UPDATE tasks SET failed = 0 WHERE run_pk = ? AND failed = 1 AND next_stage <= ?').run(pk, until);
        for (const row of moved) {
          this.statements.histogramAdd.run(pk, row.next_stage, 1, -row.count);
          this.statements.histogramAdd.run(pk, row.next_stage, 0, row.count);
        }
        return result.changes;
      })
      .immediate();
  }

  async rewind(runId: string, stage: Stage, ords?: readonly number[]): Promise<number> {
    const handle = this.handle(runId);
    return this.db.transaction(() => this.rewindInTransaction(handle, stage, ords)).immediate();
  }

  private rewindInTransaction(handle: RunHandle, stage: Stage, ords?: readonly number[]): number {
    const { pk } = handle;
    const index = stageIndex(stage);
    const result = this.db
      .prepare(
        `UPDATE tasks SET next_stage = @index, failed = 0, failure = NULL,
           candidate_seqs = CASE WHEN @index <= 0 THEN NULL ELSE candidate_seqs END,
           reduce_seq = CASE WHEN @index <= 1 THEN NULL ELSE reduce_seq END,
           parse_seq = CASE WHEN @index <= 2 THEN NULL ELSE parse_seq END,
           score_seq = CASE WHEN @index <= 3 THEN NULL ELSE score_seq END,
           judge_seq = NULL
         WHERE run_pk = @pk AND next_stage >= @index AND (@only IS NULL OR ord IN (SELECT value FROM json_each(@only)))`,
      )
      .run({ pk, index, only: ords ? JSON.stringify(ords) : null });
    // Counters are rebuilt once here rather than adjusted task by task: a rewind is rare and run-wide.
    this.db.prepare('DELETE FROM stage_histogram WHERE run_pk = ?').run(pk);
    this.db
      .prepare('INSERT INTO stage_histogram (run_pk, next_stage, failed, count) SELECT run_pk, next_stage, failed, count(*) FROM tasks WHERE run_pk = ? GROUP BY next_stage, failed')
      .run(pk);
    const untouched = handle.taskCount - this.statements.freshFrom.get(pk)!.fresh_from;
    if (untouched > 0) this.statements.histogramAdd.run(pk, 0, 0, untouched);
    this.rebuildScoreTotals(handle);
    this.statements.insertEvent.run(pk, null, 'run-rewound', JSON.stringify(ords ? { stage, tasks: ords.length } : { stage }), Date.now());
    return result.changes;
  }

  /**
   * One import, in one transaction: the run created if the store lacks it, the replaced tasks rewound, every
   * record appended as an event, and the status set from what the run now holds. A kill at any moment leaves
   * the store as it was or fully imported. Refused while a process's lease on the run is live.
   *
   * better-sqlite3's transactions are synchronous, and an import's pages may arrive asynchronously (a run
   * copied page by page from another store): so the transaction is opened and ended by hand, BEGIN IMMEDIATE
   * before the first page is read (the write lock taken, so the file's other writers wait, as for any write),
   * COMMIT after the last, ROLLBACK on any error. Each page is appended as one batch; only a page is in memory.
   */
  async importRun(request: ImportRequest): Promise<ImportOutcome> {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      let createdRun = false;
      if (!this.statements.runById.get(request.runId)) {
        if (!request.create) throw new StoreError(this.location, `no run ${request.runId} in this store`);
        const pk = this.createInTransaction({ ...request.create, items: [] });
        for await (const page of pagesOf(request.create.items)) this.insertItems(pk, page);
        createdRun = true;
      }
      const handle = this.handle(request.runId);
      this.refuseIfLeased(handle.pk, request.runId);
      if (request.rewind && request.rewind.ords.length > 0) this.rewindInTransaction(handle, request.rewind.stage, request.rewind.ords);
      let appended = 0;
      for await (const events of pagesOf(request.events)) appended += this.appendInTransaction(handle, { runId: request.runId, owner: null, events, release: [] }).appended;
      const current = this.statements.runById.get(request.runId)!.status;
      const target = await importedStatus(request, current, () => this.histogramRows(handle.pk));
      if (target) this.writeStatus(handle.pk, target.status, target.completedThroughStage, target.interruptReason ?? undefined);
      this.db.exec('COMMIT');
      return { createdRun, appended };
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      // A run created by the rolled-back transaction is gone again, and so must be its cached handle.
      this.handles.delete(request.runId);
      throw error;
    }
  }

  /** Recomputes the score sums from the current score and judge results (after a rewind moved pointers). */
  private rebuildScoreTotals(handle: RunHandle): void {
    const counters = new RunCounters();
    for (const row of this.statements.scoredTasks.iterate(handle.pk)) {
      const { modelIndex, promptIndex } = taskCoordinates(handle.shape, row.ord);
      for (const seq of [row.score_seq, row.judge_seq]) if (seq !== null) counters.addScores(modelIndex, promptIndex, this.scoresAt(seq), 1);
    }
    this.db.prepare('DELETE FROM score_totals WHERE run_pk = ?').run(handle.pk);
    for (const entry of counters.scores.values()) this.statements.scoreAdd.run(handle.pk, entry.model, entry.prompt, entry.metric, entry.sum, entry.sumOfSquares, entry.count);
    this.db.prepare('DELETE FROM task_scores WHERE run_pk = ?').run(handle.pk);
    this.db.prepare(TASK_SCORES_FILL_SQL).run({ run: handle.pk });
  }

  async findRunsSharingGenerations(runId: string): Promise<string[]> {
    return this.statements.sharedGroups.all(this.handle(runId).pk).map((row) => row.run_id);
  }

  async getStageHistogram(runId: string): Promise<StageHistogramRow[]> {
    return this.histogramRows(this.handle(runId).pk);
  }

  private histogramRows(pk: number): StageHistogramRow[] {
    return this.statements.histogram.all(pk).map((row) => ({ nextStage: row.next_stage as StageIndex, failed: row.failed === 1, count: row.count }));
  }

  async countPastStageByModel(runId: string, stage: Stage): Promise<number[]> {
    const handle = this.handle(runId);
    const models = handle.shape.modelIds.length;
    const counts = new Array<number>(models).fill(0);
    const perModel = handle.shape.promptIds.length * handle.shape.replicates;
    for (const row of this.statements.pastStageByModel.all(perModel, models, handle.pk, stageIndex(stage))) counts[row.model_index] = row.count;
    return counts;
  }

  async getUsageTotals(runId: string): Promise<UsageRow[]> {
    return this.statements.usageTotals
      .all(this.handle(runId).pk)
      .map((row) => ({ model: row.model, stage: row.stage, calls: row.calls, inputTokens: row.input_tokens, outputTokens: row.output_tokens }));
  }

  async getScoreTotals(runId: string): Promise<ScoreTotalRow[]> {
    return this.statements.scoreTotals
      .all(this.handle(runId).pk)
      .map((row) => ({ modelIndex: row.model_index, promptIndex: row.prompt_index, metric: row.metric, sum: row.sum, sumOfSquares: row.sum_sq, count: row.count }));
  }

  async listFailures(runId: string, limit: number): Promise<FailureRow[]> {
    const handle = this.handle(runId);
    return this.statements.failures.all(handle.pk, limit).map((row) => {
      const { stage, ...failure } = JSON.parse(row.failure) as FailureRow['failure'] & { stage: Stage };
      return { taskKey: this.keyOf(handle, row.ord), stage, failure };
    });
  }

  async countFailures(runId: string): Promise<FailureCountRow[]> {
    const counts = new Map<string, FailureCountRow>();
    for (const row of this.statements.allFailures.iterate(this.handle(runId).pk)) {
      const failure = JSON.parse(row.failure) as { stage: Stage; category: string };
      const key = `${failure.stage}\u0000${failure.category}`;
      const entry = counts.get(key);
      counts.set(key, { stage: failure.stage, category: failure.category, count: (entry?.count ?? 0) + 1 });
    }
    return [...counts.values()].sort((left, right) => right.count - left.count);
  }

  async loadArtifacts(runId: string, ords: readonly number[]): Promise<Map<number, TaskArtifacts>> {
    const handle = this.handle(runId);
    const payload = (seq: number | null): unknown => {
      if (seq === null) return null;
      const row = this.statements.eventPayload.get(seq);
      return row ? JSON.parse(row.payload) : null;
    };
    const artifacts = new Map<number, TaskArtifacts>();
    for (const ord of ords) {
      const row = this.statements.task.get(handle.pk, ord) as TaskRow | undefined;
      const progress = row ? toProgress(row, handle.pipeline.samples) : initialProgress(handle.pipeline.samples);
      artifacts.set(ord, artifactsOf(progress, payload));
    }
    return artifacts;
  }

  async readResults(runId: string, afterOrd: number, limit: number): Promise<TaskResultRow[]> {
    const handle = this.handle(runId);
    const statement = handle.pipeline.hasJudges ? this.statements.resultsJudged : this.statements.results;
    return (statement.all(handle.pk, afterOrd, limit) as unknown as unknown[][]).map(toResultRow);
  }

  async queryTasks(runId: string, query: TaskQuery): Promise<TaskQueryPage> {
    const handle = this.handle(runId);
    return queryTasksSql(this.db, { ...handle, location: this.location, freshFrom: this.statements.freshFrom.get(handle.pk)!.fresh_from }, query);
  }

  async findCallReplies(keys: readonly string[]): Promise<Map<string, StoredCallReply>> {
    const found = new Map<string, StoredCallReply>();
    for (const key of new Set(keys)) {
      const row = this.statements.callReply.get(key);
      if (row) found.set(key, { runId: row.run_id, call: JSON.parse(row.payload) as CallCompleted });
    }
    return found;
  }

  async readTaskEvents(runId: string, ord: number): Promise<StoredEvent[]> {
    return this.statements.eventsByTask.all(this.handle(runId).pk, ord).map((row) => storedEvent(row, runId));
  }

  /** One statement for the whole batch, on events_by_task (run_pk, task_ord, then seq as the rowid). */
  async readTaskEventsAt(runId: string, ords: readonly number[]): Promise<Map<number, StoredEvent[]>> {
    const pk = this.handle(runId).pk;
    const found = new Map<number, StoredEvent[]>(ords.map((ord) => [ord, []]));
    if (ords.length === 0) return found;
    for (const row of this.statements.eventsAmong.all(pk, JSON.stringify([...found.keys()]))) found.get(row.task_ord)!.push(storedEvent(row, runId));
    return found;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
