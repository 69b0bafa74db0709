import type { CallCompleted, RunEventPayloads, RunEventType, StoredCandidate, StoredEvent, TaskEvent } from './event.js';
import type { FailureRecord } from './failure.js';
import type { Judgment } from './judge.js';
import type { MetricScore } from './metric.js';
import type { ParseOutcome } from './parser.js';
import type { ReducedCandidate } from './reducer.js';
import type { Provenance, RunSnapshot } from './snapshot.js';
import type { Stage, StageIndex } from './stage.js';

export type RunStatus = 'created' | 'running' | 'completed' | 'partial' | 'interrupted';

/**
 * Why a run is `interrupted`: stopped by the user (a signal), at its spending cap, by a store that refused a
 * write, by a model that could not be reached, or by an error (a bug, or tasks left that no process could claim).
 */
export type InterruptReason = 'user' | 'budget' | 'store' | 'error' | 'model';

export interface RunRecord {
  readonly runId: string;
  readonly name: string;
  readonly snapshot: RunSnapshot;
  readonly provenance: Provenance;
  readonly status: RunStatus;
  /** The last stage every task has completed, or null when no stage is complete for all tasks. */
  readonly completedThroughStage: Stage | null;
  /** Set while the run is `interrupted`: why it stopped. */
  readonly interruptReason: InterruptReason | null;
  readonly taskCount: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface StoredItem {
  readonly ord: number;
  readonly datasetId: string;
  readonly itemId: string;
  readonly input: string;
  /** The raw target as read from the dataset, or null. */
  readonly target: unknown;
  /** The whole source row, for prompt templates that name other fields. */
  readonly fields: Readonly<Record<string, unknown>>;
}

/** An item with just some of its fields (see `Store.readItemFields`). */
export interface ItemFieldsRow {
  readonly ord: number;
  readonly datasetId: string;
  readonly itemId: string;
  /** The value of each requested field, in the order asked. */
  readonly values: readonly unknown[];
}

/** One entry of the task manifest. `ord` is the task's position in manifest order, stable for a run id. */
export interface TaskDescriptor {
  readonly ord: number;
  readonly key: string;
  readonly itemOrd: number;
  readonly modelIndex: number;
  readonly promptIndex: number;
  readonly replicate: number;
}

/** The per-task state row kept beside the event log: what is current, and what comes next. */
export interface TaskProgress {
  readonly nextStage: StageIndex;
  /** True when the stage at `nextStage` failed and has not been retried yet. */
  readonly failed: boolean;
  readonly failure: (FailureRecord & { readonly stage: Stage }) | null;
  /** Event sequence numbers of the current candidates, by sample index. */
  readonly candidateSeqs: readonly (number | null)[];
  readonly reduceSeq: number | null;
  readonly parseSeq: number | null;
  readonly scoreSeq: number | null;
  readonly judgeSeq: number | null;
}

/** The shape of the pipeline a run's tasks go through; decides stage transitions. */
export interface PipelineShape {
  readonly samples: number;
  readonly hasJudges: boolean;
}

export interface NewRun {
  readonly runId: string;
  readonly name: string;
  readonly snapshot: RunSnapshot;
  readonly provenance: Provenance;
  readonly items: Iterable<StoredItem>;
  /** Tasks follow from the snapshot and items (see core/manifest); only their number is given. */
  readonly taskCount: number;
  /** When the run was first created (ISO time): a copy keeps its source's. Default: now. */
  readonly createdAt?: string;
}

/**
 * What an import writes: all at hand, or page by page as the caller reads it (a whole run copied from another
 * store, stores/copy-run.ts), so that what is held in memory is one page, not the run. Pages are read once, in
 * order, inside the import's transaction.
 */
export type ImportPages<T> = readonly T[] | AsyncIterable<readonly T[]>;

/** A run an import creates: as `NewRun`, with its items possibly given page by page. */
export interface ImportedRun extends Omit<NewRun, 'items'> {
  readonly items: Iterable<StoredItem> | AsyncIterable<readonly StoredItem[]>;
}

/** Everything one import writes, applied by the store in one transaction. */
export interface ImportRequest {
  readonly runId: string;
  /** The run to create when the store does not have it yet. */
  readonly create?: ImportedRun;
  /** Tasks whose results from `stage` on the import replaces: rewound before the events are written. */
  readonly rewind?: { readonly stage: Stage; readonly ords: readonly number[] };
  /** The bundle's records (or the copied run's history), as events. */
  readonly events: ImportPages<TaskEvent>;
  /**
   * The status the run gets, in the same transaction (a copy carries the source's); by default it follows
   * from what the run then holds (completed through the last stage every task passed, else interrupted).
   */
  readonly status?: { readonly status: RunStatus; readonly completedThroughStage: Stage | null; readonly interruptReason: InterruptReason | null };
}

export interface ImportOutcome {
  readonly createdRun: boolean;
  readonly appended: number;
}

export interface ClaimRequest {
  readonly runId: string;
  readonly owner: string;
  /** Only tasks whose next stage is at or before this one are claimed. */
  readonly untilStage: Stage;
  /** Only tasks whose next stage is at or after this one are claimed (replays); default generate. */
  readonly fromStage?: Stage;
  readonly limit: number;
}

/** A leased task: just what the engine needs to continue it (the rest follows from the manifest). */
export interface ClaimedTask {
  readonly ord: number;
  /**
   * The fencing token of this lease: a number that only grows within the run, new with every claim. A write
   * for the task is accepted only with the token of its current lease, so a process that lost the lease
   * (paused past its expiry while another claimed the task) can no longer write for it.
   */
  readonly token: number;
  readonly nextStage: StageIndex;
  /** Sequence numbers of candidates already stored, by sample (a task interrupted between samples). */
  readonly candidateSeqs: readonly (number | null)[];
}

/** A task's manifest entry with its current state. */
export interface TaskRecord extends TaskDescriptor {
  readonly progress: TaskProgress;
}

export interface AppendRequest {
  readonly runId: string;
  /**
   * The registered owner writing; it must be known to the store (an unknown owner is an error). Null only for
   * imports, which hold the run's lock instead of task leases.
   */
  readonly owner: string | null;
  /** Events in the order they happened; each task's events keep their relative order. */
  readonly events: readonly TaskEvent[];
  /** Tasks the owner is finished with: their leases are released after these events. */
  readonly release: readonly number[];
  /**
   * The fencing token the owner holds for each task it writes for (from its claim). A task whose current
   * token differs (or that has none here) is refused: its events are not written and its lease not released.
   */
  readonly leases?: ReadonlyMap<number, number>;
}

export interface AppendResult {
  readonly appended: number;
  /** Task ordinals whose events were refused because the writer no longer holds their lease. */
  readonly rejectedOrds: readonly number[];
}

export interface NewOwner {
  readonly owner: string;
  readonly runId: string;
  readonly host: string;
  readonly pid: number;
}

export interface OwnerRecord extends NewOwner {
  readonly startedAt: string;
  readonly heartbeatAt: string;
  /** When its leases lapse unless it renews them, by the store's clock. */
  readonly expiresAt: string;
  /** Whether the lease is still in force, judged by the store's clock (never by a caller's). */
  readonly live: boolean;
  /** How many task leases the owner said it held at its last heartbeat (0 before its first one). */
  readonly heldTasks: number;
}

/**
 * A request for admission of calls to one model of a run, shared by every process working the run (the fleet
 * limits, docs/adr/fleet-limits.md). A grant is counted against the limits for `windowMs` from the moment the
 * store makes it, by the store's clock.
 */
export interface CallReservation {
  readonly runId: string;
  /** The model id (answering model or evaluator). */
  readonly model: string;
  /** How many calls the caller would like to start; 0 only asks whether the model is paused. */
  readonly requests: number;
  /** The tokens each call is counted for (an estimate: prompt and output allowance). */
  readonly tokensPerRequest: number;
  /** Most calls granted within any `windowMs`, or null for no such limit. */
  readonly requestLimit: number | null;
  /** Most tokens granted within any `windowMs`, or null for no such limit. */
  readonly tokenLimit: number | null;
  /** How long a grant counts against the limits (the model's window plus the time a caller may take to use it). */
  readonly windowMs: number;
}

export interface CallGrant {
  /** Calls granted, 0 to `requests`: the caller may start that many, now. */
  readonly granted: number;
  /**
   * When fewer were granted than asked: ms (store clock) until asking again can succeed, the end of a pause or
   * the moment the oldest grant leaves the window; 0 when all were granted.
   */
  readonly retryAfterMs: number;
}

export interface HeartbeatResult {
  /** False when the store no longer knows the owner (it was evicted): register again to go on. */
  readonly alive: boolean;
  /** The tasks among those the caller said it holds whose lease someone else has since taken. */
  readonly lost: readonly number[];
}

export interface StageHistogramRow {
  readonly nextStage: StageIndex;
  readonly failed: boolean;
  readonly count: number;
}

export interface ScoreTotalRow {
  readonly modelIndex: number;
  readonly promptIndex: number;
  readonly metric: string;
  readonly sum: number;
  /** The sum of squared scores (for a standard error); null in a store written before it was kept. */
  readonly sumOfSquares: number | null;
  readonly count: number;
}

/** Calls and tokens per model and stage (reused answers cost nothing and are not counted). */
export interface UsageRow {
  readonly model: string;
  readonly stage: Stage;
  readonly calls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
}

export interface FailureRow {
  readonly taskKey: string;
  readonly stage: Stage;
  readonly failure: FailureRecord;
}

export interface FailureCountRow {
  readonly stage: Stage;
  readonly category: string;
  readonly count: number;
}

/** A panel member's ratings of one task: what it answered for each trait, as parsed from its reply. */
export interface PanelRatings {
  readonly judge: string;
  /** Per execution (panel member), in order: the model and its parsed values by trait. */
  readonly raters: readonly { readonly model: string; readonly values: Readonly<Record<string, unknown>> }[];
}

/**
 * One task's results as the report reads them: the numbers only, never the answer texts, so a scan over a
 * million tasks stays small. Tasks nobody has claimed yet have no row.
 */
export interface TaskResultRow {
  readonly ord: number;
  readonly nextStage: StageIndex;
  readonly failed: boolean;
  /** Where and why the task is stuck, when it failed. */
  readonly failure: { readonly stage: Stage; readonly category: string } | null;
  /** Metric scores by name (value only), or null before the score stage. */
  readonly scores: Readonly<Record<string, number>> | null;
  /** Judge scores by `judge.trait`, or null before the judge stage (or without judges). */
  readonly judgeScores: Readonly<Record<string, number>> | null;
  /** Judges with more than one panel member: each member's ratings, for agreement. */
  readonly ratings: readonly PanelRatings[] | null;
  /** Latency of the first candidate's answering call (as recorded where it was answered), or null before generate. */
  readonly latencyMs: number | null;
}

/**
 * What `Store.queryTasks` selects. Every condition given must hold (AND); an absent one does not filter.
 * Tasks nobody has claimed yet count as pending at generate: not failed, no scores, no answer.
 */
export interface TaskFilter {
  /** The answering model, by index in the snapshot's `models`. */
  readonly modelIndex?: number;
  /** The prompt, by index in the snapshot's `prompts`. */
  readonly promptIndex?: number;
  /** The item's dataset id. */
  readonly datasetId?: string;
  /** The stage the task is at: its `nextStage` exactly (5 = done). */
  readonly nextStage?: StageIndex;
  /** Failed (stuck on a failure at `nextStage`) or not. */
  readonly failed?: boolean;
  /** Only failed tasks whose failure has this category (implies failed). */
  readonly failureCategory?: string;
  /**
   * A score of the task's current results: a metric name or `judge.trait`. A task without it never matches.
   * `pass: true` keeps tasks with value >= 1, `pass: false` those with value < 1; `min` / `max` bound the
   * value, both inclusive.
   */
  readonly score?: { readonly name: string; readonly pass?: boolean; readonly min?: number; readonly max?: number };
  /**
   * Text search: tasks whose item input, or whose answer (the text of any current candidate, or the reduced
   * text), contains this string, with ASCII letters compared case-insensitively (other characters exactly).
   * Never an empty string (an empty one does not filter).
   */
  readonly text?: string;
}

/**
 * How `Store.queryTasks` orders its matches. By a score (as in TaskFilter.score): by its value, ties by `ord`
 * in the same direction (so `descending` reverses the whole order, and an index on (value, ord) serves both);
 * the tasks without that score come after all that have it, by `ord` in the same direction.
 */
export type TaskSort =
  | { readonly by: 'ord'; readonly descending?: boolean }
  | { readonly by: 'score'; readonly name: string; readonly descending?: boolean };

export interface TaskQuery {
  readonly filter?: TaskFilter;
  /** Default `{ by: 'ord' }`. */
  readonly sort?: TaskSort;
  /** Matches to skip, in sort order (default 0). */
  readonly offset?: number;
  /** Most rows returned (1 or more). */
  readonly limit: number;
}

export interface TaskQueryPage {
  /** The matches from `offset` on, at most `limit`, in sort order; tasks nobody claimed have the pending row. */
  readonly rows: readonly TaskResultRow[];
  /** Whether more matches follow this page. */
  readonly more: boolean;
}

/** An evaluator reply found by what was asked: the stored `call-completed` and the run it was paid for in. */
export interface StoredCallReply {
  readonly runId: string;
  readonly call: CallCompleted;
}

/** The current artifacts of one task, resolved from the state row's pointers. */
export interface TaskArtifacts {
  /** The task's state row: what comes next, and its failure if it is stuck on one. */
  readonly progress: TaskProgress;
  readonly candidates: readonly (StoredCandidate | null)[];
  /** The reduced candidate with its text resolved. */
  readonly reduced: ReducedCandidate | null;
  readonly parsed: ParseOutcome | null;
  readonly scores: Readonly<Record<string, MetricScore>> | null;
  readonly judgments: readonly Judgment[] | null;
}

/**
 * Where runs live. Every method is one atomic, indexed operation; nothing here folds over a run's history.
 * A write the store cannot make (disk full, read-only, an I/O error, a lost connection) throws
 * `StoreUnavailableError` and changes nothing. Implementations: stores/sqlite (embedded default), stores/postgres and
 * stores/files; all pass stores/store-contract.test-suite.ts.
 */
export interface Store {
  readonly specificationVersion: 'assay.store.v1';
  readonly kind: string;
  /** Where the store lives, for messages (a path or a redacted URL). */
  readonly location: string;

  /**
   * Creates the run; returns false (and changes nothing) when a run with that id already exists, unless
   * `replace`, which deletes the old run and creates the new one in the same transaction (a rerun; refused
   * with `RunBusyError` while a process's lease on it is live).
   */
  createRun(run: NewRun, options?: { readonly replace?: boolean }): Promise<boolean>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Runs whose id starts with the prefix (at most `limit`). */
  findRuns(idPrefix: string, limit: number): Promise<RunRecord[]>;
  listRuns(): Promise<RunRecord[]>;
  deleteRun(runId: string): Promise<void>;
  /** Sets the status; `interruptReason` is kept only with `interrupted`. */
  setRunStatus(runId: string, status: RunStatus, completedThroughStage: Stage | null, interruptReason?: InterruptReason): Promise<void>;
  appendRunEvent<Type extends RunEventType>(runId: string, type: Type, payload: RunEventPayloads[Type]): Promise<void>;

  loadItems(runId: string): Promise<StoredItem[]>;
  /** The items at these positions (an indexed read: what a claimed batch of tasks needs). */
  loadItemsAt(runId: string, itemOrds: readonly number[]): Promise<Map<number, StoredItem>>;
  /**
   * A page of items (ords after `afterOrd`, in order), each with only the values of the given top-level
   * fields of its row (undefined where absent): what a report splitting by fields reads, without whole rows.
   */
  readItemFields(runId: string, fields: readonly string[], afterOrd: number, limit: number): Promise<ItemFieldsRow[]>;
  getTask(runId: string, key: string): Promise<TaskRecord | undefined>;

  /** Registers a process working on a run; its leases last `leaseMs` by the store's clock unless renewed. */
  registerOwner(owner: NewOwner, leaseMs: number): Promise<OwnerRecord>;
  /**
   * Renews the owner's leases for another `leaseMs` (store clock) and re-attaches to it every task in `held`
   * whose token is still current; reports the ones that are not. An unknown owner renews nothing.
   */
  heartbeat(owner: string, leaseMs: number, held: ReadonlyMap<number, number>): Promise<HeartbeatResult>;
  /**
   * Fleet limits, one atomic step: when the model is paused (see `pauseModel`), grants nothing and says when
   * the pause ends. Otherwise sums the grants made for (run, model) in the last `windowMs` and grants the most
   * calls (up to `requests`) that keep both sums within their limits (a call larger than the whole token limit
   * is granted alone when nothing else is in the window), records the grant with the store's time, and forgets
   * grants older than the window. Plain SQL: lock the (run, model) row, SUM over an indexed time range, INSERT.
   */
  reserveCalls(request: CallReservation): Promise<CallGrant>;
  /**
   * A rate limit seen by one process holds back all: the model is paused for the run until `pauseMs` from now
   * (store clock), or later when a longer pause is already set. Seen by every process's next `reserveCalls`.
   */
  pauseModel(runId: string, model: string, pauseMs: number): Promise<void>;
  /** Removes an owner; every lease it holds is free at once. */
  releaseOwner(owner: string): Promise<void>;
  /** The owners registered on a run, each with whether its lease is still live by the store's clock. */
  listOwners(runId: string): Promise<OwnerRecord[]>;

  /**
   * Leases up to `limit` tasks that still have work at or before `untilStage` and are not leased to a live
   * owner, each with a new fencing token. Explicit so many workers can share a run. Throws
   * `OwnerUnknownError` for an owner the store does not know.
   */
  claimTasks(request: ClaimRequest): Promise<ClaimedTask[]>;
  /** Writes events and updates the task state rows in one transaction, checking each task's fencing token. */
  appendEvents(request: AppendRequest): Promise<AppendResult>;
  /**
   * One import, atomically: creates the run if needed, rewinds the tasks it replaces, appends its events and
   * sets the status from what the run then holds; a kill at any moment leaves the store as before or fully
   * imported. Refused with `RunBusyError` while a process's lease on the run is live. Given pages (see
   * ImportPages), the transaction stays open while they are read: nothing else may use this store object
   * until the import returns, and a page that throws rolls the whole import back.
   */
  importRun(request: ImportRequest): Promise<ImportOutcome>;
  /** Makes failed tasks at or before `untilStage` pending again; returns how many. */
  resetFailures(runId: string, untilStage: Stage): Promise<number>;
  /**
   * Moves every task past `stage` (or only the given tasks) back to it, clearing the current results from
   * `stage` on (history is kept).
   */
  rewind(runId: string, stage: Stage, ords?: readonly number[]): Promise<number>;

  /** Other runs that share at least one generation group with this one (core/generation-groups.ts), newest first. */
  findRunsSharingGenerations(runId: string): Promise<string[]>;

  getStageHistogram(runId: string): Promise<StageHistogramRow[]>;
  /**
   * Per answering model (by index in the snapshot), how many of its tasks have moved past `stage`: what a
   * session starts its progress from. One covered index scan (or the store's memory), once per session.
   */
  countPastStageByModel(runId: string, stage: Stage): Promise<number[]>;
  getScoreTotals(runId: string): Promise<ScoreTotalRow[]>;
  getUsageTotals(runId: string): Promise<UsageRow[]>;
  listFailures(runId: string, limit: number): Promise<FailureRow[]>;
  countFailures(runId: string): Promise<FailureCountRow[]>;
  loadArtifacts(runId: string, ords: readonly number[]): Promise<Map<number, TaskArtifacts>>;
  /**
   * The results of up to `limit` tasks with positions after `afterOrd`, in manifest order: one page of an
   * indexed scan (pass the last row's `ord` to get the next page).
   */
  readResults(runId: string, afterOrd: number, limit: number): Promise<TaskResultRow[]>;
  readTaskEvents(runId: string, ord: number): Promise<StoredEvent[]>;
  /**
   * The events of each of these tasks, in seq order, every task asked for with an entry (empty when it has
   * none): what reads many tasks' histories (a copy) in a constant number of queries instead of one a task.
   */
  readTaskEventsAt(runId: string, ords: readonly number[]): Promise<Map<number, StoredEvent[]>>;
  /**
   * One page of a run's tasks that match a filter, in a given order (see TaskFilter, TaskSort): what a viewer's
   * task table shows. Indexed where the backend can (stage, failure, score); the text search may scan.
   */
  queryTasks(runId: string, query: TaskQuery): Promise<TaskQueryPage>;
  /**
   * The first accepted reply stored for each of these request keys (core/call-key.ts), in any run of the
   * store: one indexed lookup per key. Keys with no reply are absent.
   */
  findCallReplies(keys: readonly string[]): Promise<Map<string, StoredCallReply>>;

  close(): Promise<void>;
}
