import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { OwnerUnknownError, RunBusyError, StoreError } from '../../core/errors.js';
import { errnoFailure } from '../medium-failure.js';
import { translateFailures } from '../store-failures.js';
import { collectPages, importedStatus } from '../import-pages.js';
import { itemFieldsPage, itemsAt, taskEventsAt } from '../items-in-memory.js';
import { artifactsOf, judgeResult, scoreValues } from '../result-rows.js';
import { MemoryCallWindows } from '../call-grants.js';
import { createManifest, manifestShape, taskCoordinates, type Manifest } from '../../core/manifest.js';
import { eventOf, recordOf, type ItemRecord, type LogRecord } from '../../core/records.js';
import { RunCounters } from '../../core/run-counters.js';
import { applyTaskEvent, initialProgress, rewindProgress } from '../../core/task-progress.js';
import type { CallCompleted, RunEventPayloads, RunEventType, StoredEvent, TaskEvent } from '../../spec/event.js';
import type { MetricScore } from '../../spec/metric.js';
import type { Provenance, RunSnapshot } from '../../spec/snapshot.js';
import { DONE_INDEX, stageIndex, type Stage, type StageIndex } from '../../spec/stage.js';
import type { ItemFieldsRow,
  AppendRequest,
  AppendResult,
  CallGrant,
  CallReservation,
  ClaimRequest,
  ClaimedTask,
  FailureCountRow,
  HeartbeatResult,
  ImportOutcome,
  ImportRequest,
  InterruptReason,
  NewOwner,
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
  TaskResultRow,
  StoredCallReply,
  TaskProgress,
  TaskRecord,
  UsageRow,
} from '../../spec/store.js';
import { pipelineOf } from '../../core/execution-state.js';
import { ProgressiveSave, type ProgressiveSaveOptions } from './progressive-save.js';
import { processAlive } from '../../core/process-alive.js';
import { scanTaskQuery } from '../task-query.js';
import type { TaskQuery, TaskQueryPage } from '../../spec/store.js';

/** What a lock file of the files store says it is. */
const LOCK_FORMAT = 'assay.lock';

export interface FilesStoreOptions {
  /** Job settings written into the `.state` (config and dataset paths, for resume checks). */
  readonly job: Omit<ProgressiveSaveOptions, 'outputPath'>;
  /**
   * A reader's store (assay view): the job's lock is not taken (its job may be running), nothing is written,
   * not even the `.state` on close; the files are read as they were at the open.
   */
  readonly readonly?: boolean;
}

interface LoggedEvent {
  readonly ord: number;
  readonly type: TaskEvent['type'];
  readonly payload: unknown;
  readonly at: number;
}

interface RunState {
  runId: string;
  name: string;
  snapshot: RunSnapshot;
  provenance: Provenance;
  status: RunStatus;
  completedThroughStage: Stage | null;
  interruptReason?: InterruptReason | null;
  untilStage: Stage;
  createdAt: string;
  updatedAt: string;
}

/**
 * The `files` store: a run kept in plain files beside its output, `<output>.tmp` (every result, append-only
 * JSONL in the bundle record format) and `<output>.state` (progress, replaced atomically). It holds one run,
 * keeps its state in memory (rebuilt from the `.tmp` when reopened), and is locked to one process at a time.
 */
export class FilesStore implements Store {
  readonly specificationVersion = 'assay.store.v1' as const;
  readonly kind = 'files';
  readonly location: string;
  private readonly lockPath: string;
  private save: ProgressiveSave;
  private run: RunState | null = null;
  private manifest: Manifest | null = null;
  private pipeline: PipelineShape = { samples: 1, hasJudges: false };
  private items: StoredItem[] = [];
  private tasks: TaskProgress[] = [];
  private leases: (number | null)[] = [];
  /** The fencing token of each task's current lease; `epoch` is the last one handed out. */
  private tokens: (number | null)[] = [];
  private epoch = 0;
  private taskEvents: number[][] = [];
  /** The first accepted evaluator reply per request key: its event's seq. */
  private readonly callReplies = new Map<string, number>();
  private events: (LoggedEvent | null)[] = [];
  private counters = new RunCounters();
  /** Usage survives rewinds (calls that were made stay paid for), so it lives apart from the other counters. */
  private usage = new RunCounters();
  private readonly owners = new Map<string, NewOwner & { pk: number; startedAt: string; heartbeat: number; expires: number }>();
  private nextOwnerPk = 1;
  private runEvents: { type: string; payload: unknown; at: number }[] = [];
  private finalized = false;
  /**
   * Per stage, where claim scans start: every task before it has moved past that stage, which only a rewind
   * undoes. Claims stay proportional to what they hand out, not to the run.
   */
  private cursors = [0, 0, 0, 0, 0];

  private constructor(outputPath: string, private readonly options: FilesStoreOptions) {
    this.location = outputPath;
    this.lockPath = `${outputPath}.lock`;
    this.save = new ProgressiveSave({ outputPath, ...options.job });
  }

  /**
   * Opens the files store for an output path: a fresh one, or the job its `.state` describes. A write the
   * file system refuses (disk full, read-only) surfaces as a `StoreUnavailableError` naming the output.
   */
  static open(outputPath: string, options: FilesStoreOptions): FilesStore {
    const location = resolve(outputPath);
    const translate = (error: unknown) => errnoFailure(location, error);
    const store = new FilesStore(location, options);
    try {
      // Like the SQLite store, a results file may name a folder that does not exist yet.
      if (!options.readonly) {
        mkdirSync(dirname(location), { recursive: true });
        store.lock();
      }
    } catch (error) {
      throw translate(error) ?? error;
    }
    try {
      if (existsSync(store.save.statePath)) store.reload();
    } catch (error) {
      store.unlock();
      throw translate(error) ?? error;
    }
    return translateFailures(store, translate);
  }

  /** The progressive-save files behind this store. */
  get files(): ProgressiveSave {
    return this.save;
  }

  /**
   * Takes the job's lock by creating `<output>.lock` exclusively (one atomic step: two processes can never
   * both succeed). A lock left by a process of this machine that is gone is moved aside (by a rename, which
   * only one contender wins) and taken; a live holder, or a lock file assay did not write, is an error, and
   * the file is left as it is.
   */
  private lock(): void {
    const mine = JSON.stringify({ format: LOCK_FORMAT, pid: process.pid, host: hostname() });
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const descriptor = openSync(this.lockPath, 'wx');
        try {
          writeSync(descriptor, mine);
        } finally {
          closeSync(descriptor);
        }
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = this.readLock();
      if (holder === null) continue;
      // This process already holds it (a second store on the same output in one process).
      if (holder.pid === process.pid && holder.host === hostname()) return;
      if (holder.host !== hostname() || processAlive(holder.pid)) {
        throw new StoreError(this.location, `this job is being run by pid ${holder.pid} on ${holder.host} (${this.lockPath})`, {
          hint: holder.host === hostname() ? 'wait for it to finish, or stop it first' : `wait for it to finish; if that machine is gone, delete ${this.lockPath}`,
        });
      }
      // The holder is dead: move its lock aside (only one contender's rename succeeds), then try again.
      const aside = `${this.lockPath}.${process.pid}.stale`;
      try {
        renameSync(this.lockPath, aside);
        rmSync(aside, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    throw new StoreError(this.location, `could not take the lock ${this.lockPath}: other processes keep taking it`, { hint: 'run one job at a time on this output' });
  }

  /** The holder a lock file names; a file that is not an assay lock is refused, never overwritten. */
  private readLock(): { pid: number; host: string } | null {
    let text: string;
    try {
      text = readFileSync(this.lockPath, 'utf8');
    } catch (error) {
      // Released between our create and our read: the caller tries again.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    let holder: unknown;
    try {
      holder = JSON.parse(text);
    } catch {
      holder = null;
    }
    const valid = holder !== null && typeof holder === 'object' && Number.isInteger((holder as { pid?: unknown }).pid) && typeof (holder as { host?: unknown }).host === 'string';
    if (!valid) {
      throw new StoreError(this.location, `${this.lockPath} is not a lock file assay wrote (it holds something else, or is damaged)`, {
        hint: 'if no assay job is running on this output, delete it and run again',
      });
    }
    return holder as { pid: number; host: string };
  }

  /** Removes the lock if it is this process's (never another's). */
  private unlock(): void {
    try {
      const holder = this.readLock();
      if (holder?.pid === process.pid && holder.host === hostname()) rmSync(this.lockPath, { force: true });
    } catch {
      // not ours to remove
    }
  }

  private reload(): void {
    const { save, records } = ProgressiveSave.loadForResume(this.save.statePath, { readonly: this.options.readonly ?? false });
    this.save = save;
    const extra = save.extra as unknown as RunState;
    this.run = { ...extra };
    this.items = records.filter((record): record is ItemRecord => record.type === 'item').map(({ type: _type, ...item }) => item);
    this.setUp(this.run.snapshot);
    this.save.useManifest([...this.manifest!.tasks()].map((task) => task.key));
    for (const record of records) this.replay(record);
    this.refreshOutcomes();
  }

  private setUp(snapshot: RunSnapshot): void {
    this.manifest = createManifest(manifestShape(snapshot), this.items);
    this.pipeline = pipelineOf(snapshot);
    const count = this.manifest.taskCount;
    this.tasks = Array.from({ length: count }, () => initialProgress(this.pipeline.samples));
    this.leases = new Array<number | null>(count).fill(null);
    this.tokens = new Array<number | null>(count).fill(null);
    this.taskEvents = Array.from({ length: count }, () => []);
    this.events = [];
    this.callReplies.clear();
    this.cursors = [0, 0, 0, 0, 0];
    this.usage = new RunCounters();
    this.counters = new RunCounters();
    this.counters.bump(0, false, count);
  }

  /** Applies one logged record while reopening, exactly as it was applied when written. */
  private replay(record: LogRecord): void {
    if (record.type === 'item') {
      this.events.push(null);
      return;
    }
    if (record.type === 'rewind') {
      this.events.push(null);
      const only = record.tasks?.map((key) => this.manifest!.locate(key)).filter((ord): ord is number => ord !== undefined);
      this.applyRewind(stageIndex(record.stage), only);
      return;
    }
    const ord = this.manifest!.locate(record.task);
    if (ord === undefined) throw new StoreError(this.location, `the .tmp names task '${record.task}', which is not in this job`);
    this.applyEvent(eventOf(record, ord), Date.now());
  }

  private requireRun(runId: string): RunState {
    if (!this.run || this.run.runId !== runId) throw new StoreError(this.location, `no run ${runId} in this store`);
    return this.run;
  }

  private keyOf(ord: number): string {
    return this.manifest!.task(ord).key;
  }

  async createRun(run: NewRun, options: { replace?: boolean } = {}): Promise<boolean> {
    // The files store is one job of one process (it is locked), so a rerun is a delete and a create.
    if (this.run && this.run.runId === run.runId && options.replace) {
      this.refuseIfLeased(run.runId);
      await this.deleteRun(run.runId);
    }
    if (this.run) {
      if (this.run.runId === run.runId) return false;
      throw new StoreError(this.location, `this output already holds run ${this.run.runId.slice(0, 12)} (${this.run.name})`, {
        hint: 'write to another --output, or delete its .state and .tmp to start over',
      });
    }
    const now = new Date().toISOString();
    this.items = [...run.items];
    this.run = { runId: run.runId, name: run.name, snapshot: run.snapshot, provenance: run.provenance, status: 'created', completedThroughStage: null, untilStage: 'judge', createdAt: run.createdAt ?? now, updatedAt: now };
    this.setUp(run.snapshot);
    this.save.initialize([...this.manifest!.tasks()].map((task) => task.key), this.extra());
    this.save.append(this.items.map((item) => ({ type: 'item', ...item })));
    for (let index = 0; index < this.items.length; index++) this.events.push(null);
    return true;
  }

  private extra(): Record<string, unknown> {
    return { ...this.run } as Record<string, unknown>;
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    if (!this.run || this.run.runId !== runId) return undefined;
    return this.record();
  }

  private record(): RunRecord {
    const run = this.run!;
    return {
      runId: run.runId,
      name: run.name,
      snapshot: run.snapshot,
      provenance: run.provenance,
      status: run.status,
      completedThroughStage: run.completedThroughStage,
      interruptReason: run.status === 'interrupted' ? (run.interruptReason ?? null) : null,
      taskCount: this.tasks.length,
      createdAt: run.createdAt,
      updatedAt: run.updatedAt,
    };
  }

  async findRuns(idPrefix: string, limit: number): Promise<RunRecord[]> {
    return this.run && this.run.runId.startsWith(idPrefix) && limit > 0 ? [this.record()] : [];
  }

  async listRuns(): Promise<RunRecord[]> {
    return this.run ? [this.record()] : [];
  }

  async deleteRun(runId: string): Promise<void> {
    if (!this.run || this.run.runId !== runId) return;
    this.save.close();
    rmSync(this.save.tmpPath, { force: true });
    rmSync(this.save.statePath, { force: true });
    this.save = new ProgressiveSave({ outputPath: this.location, ...this.options.job });
    this.run = null;
    this.items = [];
    this.tasks = [];
    this.events = [];
    this.callReplies.clear();
  }

  async setRunStatus(runId: string, status: RunStatus, completedThroughStage: Stage | null, interruptReason?: InterruptReason): Promise<void> {
    const run = this.requireRun(runId);
    run.status = status;
    run.completedThroughStage = completedThroughStage;
    run.interruptReason = status === 'interrupted' ? (interruptReason ?? 'user') : null;
    run.updatedAt = new Date().toISOString();
    this.save.extra = this.extra();
    this.save.writeState();
  }

  async appendRunEvent<Type extends RunEventType>(runId: string, type: Type, payload: RunEventPayloads[Type]): Promise<void> {
    const run = this.requireRun(runId);
    if (type === 'run-started') {
      run.untilStage = (payload as RunEventPayloads['run-started']).untilStage;
      this.refreshOutcomes();
    }
    this.runEvents.push({ type, payload, at: Date.now() });
  }

  async loadItems(runId: string): Promise<StoredItem[]> {
    this.requireRun(runId);
    return this.items;
  }

  async readItemFields(runId: string, fields: readonly string[], afterOrd: number, limit: number): Promise<ItemFieldsRow[]> {
    this.requireRun(runId);
    return itemFieldsPage(this.items, fields, afterOrd, limit);
  }

  async loadItemsAt(runId: string, itemOrds: readonly number[]): Promise<Map<number, StoredItem>> {
    this.requireRun(runId);
    return itemsAt(this.items, itemOrds);
  }

  async getTask(runId: string, key: string): Promise<TaskRecord | undefined> {
    this.requireRun(runId);
    const ord = this.manifest!.locate(key);
    if (ord === undefined) return undefined;
    return { ...taskCoordinates(this.manifest!.shape, ord), key, progress: this.tasks[ord]! };
  }

  // The files store lives in one process (it is locked), so that process's clock is the store's clock.

  async registerOwner(owner: NewOwner, leaseMs: number): Promise<OwnerRecord> {
    this.requireRun(owner.runId);
    const now = Date.now();
    const entry = { ...owner, pk: this.nextOwnerPk++, startedAt: new Date(now).toISOString(), heartbeat: now, expires: now + leaseMs };
    this.owners.set(owner.owner, entry);
    return this.ownerRecord(entry, now);
  }

  private ownerRecord(entry: NewOwner & { startedAt: string; heartbeat: number; expires: number }, now: number): OwnerRecord {
    return {
      owner: entry.owner,
      runId: entry.runId,
      host: entry.host,
      pid: entry.pid,
      startedAt: entry.startedAt,
      heartbeatAt: new Date(entry.heartbeat).toISOString(),
      expiresAt: new Date(entry.expires).toISOString(),
      live: entry.expires > now,
      heldTasks: (entry as { held?: number }).held ?? 0,
    };
  }

  async heartbeat(owner: string, leaseMs: number, held: ReadonlyMap<number, number>): Promise<HeartbeatResult> {
    const entry = this.owners.get(owner);
    if (!entry) return { alive: false, lost: [] };
    const now = Date.now();
    entry.heartbeat = now;
    entry.expires = now + leaseMs;
    (entry as { held?: number }).held = held.size;
    const lost: number[] = [];
    for (const [ord, token] of held) {
      if (this.tokens[ord] !== token) lost.push(ord);
      else this.leases[ord] = entry.pk;
    }
    return { alive: true, lost };
  }

  async releaseOwner(owner: string): Promise<void> {
    this.owners.delete(owner);
  }

  private readonly callWindows = new MemoryCallWindows();

  // One process holds the files store (it is locked): the fleet is that process, its limits kept in memory.
  async reserveCalls(request: CallReservation): Promise<CallGrant> {
    this.requireRun(request.runId);
    return this.callWindows.reserve(request);
  }

  async pauseModel(runId: string, model: string, pauseMs: number): Promise<void> {
    this.requireRun(runId);
    this.callWindows.pause(runId, model, pauseMs);
  }

  async listOwners(runId: string): Promise<OwnerRecord[]> {
    this.requireRun(runId);
    const now = Date.now();
    return [...this.owners.values()].map((entry) => this.ownerRecord(entry, now));
  }

  async claimTasks(request: ClaimRequest): Promise<ClaimedTask[]> {
    this.requireRun(request.runId);
    const owner = this.owners.get(request.owner);
    if (!owner) throw new OwnerUnknownError(request.owner);
    const now = Date.now();
    const live = new Set([...this.owners.values()].filter((entry) => entry.expires > now).map((entry) => entry.pk));
    const token = ++this.epoch;
    const from = request.fromStage ? stageIndex(request.fromStage) : 0;
    const until = stageIndex(request.untilStage);
    const candidates: number[] = [];
    for (let stage = from; stage <= until && candidates.length < request.limit; stage++) {
      let ord = this.cursors[stage]!;
      while (ord < this.tasks.length && this.tasks[ord]!.nextStage > stage) ord++;
      this.cursors[stage] = ord;
      for (; ord < this.tasks.length && candidates.length < request.limit; ord++) {
        const progress = this.tasks[ord]!;
        if (progress.nextStage !== stage || progress.failed) continue;
        const lease = this.leases[ord]!;
        if (lease !== null && live.has(lease)) continue;
        candidates.push(ord);
      }
    }
    return candidates.slice(0, request.limit).map((ord) => {
      this.leases[ord] = owner.pk;
      this.tokens[ord] = token;
      const progress = this.tasks[ord]!;
      return { ord, token, nextStage: progress.nextStage, candidateSeqs: progress.candidateSeqs };
    });
  }

  async appendEvents(request: AppendRequest): Promise<AppendResult> {
    this.requireRun(request.runId);
    if (request.owner !== null && !this.owners.has(request.owner)) throw new OwnerUnknownError(request.owner);
    const checked = request.owner !== null;
    // The fence: a leased writer must hold the task's current token (imports, with no owner, hold the lock).
    const holds = (ord: number) => !checked || this.tokens[ord] === (request.leases?.get(ord) ?? null);
    const rejected = new Set<number>();
    const accepted: TaskEvent[] = [];
    for (const event of request.events) {
      if (!Number.isInteger(event.taskOrd) || event.taskOrd < 0 || event.taskOrd >= this.tasks.length) {
        throw new StoreError(this.location, `task ${event.taskOrd} does not exist in run ${request.runId}`);
      }
      if (holds(event.taskOrd)) accepted.push(event);
      else rejected.add(event.taskOrd);
    }
    // Durable first, then applied: a crash between the two is replayed from the log on reopen.
    this.save.append(accepted.map((event) => recordOf(event, this.keyOf(event.taskOrd))));
    const now = Date.now();
    for (const event of accepted) this.applyEvent(event, now);
    for (const ord of request.release) {
      if (rejected.has(ord)) continue;
      if (holds(ord)) this.leases[ord] = null;
      else rejected.add(ord);
    }
    for (const event of accepted) this.refreshOutcome(event.taskOrd);
    return { appended: accepted.length, rejectedOrds: [...rejected] };
  }

  private applyEvent(event: TaskEvent, at: number): void {
    const seq = this.events.length;
    this.events.push({ ord: event.taskOrd, type: event.type, payload: event.payload, at });
    this.taskEvents[event.taskOrd]!.push(seq);
    if (event.type === 'call-completed' && event.payload.accepted && !this.callReplies.has(event.payload.key)) this.callReplies.set(event.payload.key, seq);
    const before = this.tasks[event.taskOrd]!;
    this.usage.addUsage(event, this.manifest!.shape.modelIds[taskCoordinates(this.manifest!.shape, event.taskOrd).modelIndex]!);
    const previous = event.type === 'judge-completed' ? before.judgeSeq : before.scoreSeq;
    const result = applyTaskEvent(before, event, seq, this.pipeline);
    if (result.applied && (event.type === 'score-completed' || event.type === 'judge-completed')) {
      const { modelIndex, promptIndex } = taskCoordinates(this.manifest!.shape, event.taskOrd);
      if (previous !== null) this.counters.addScores(modelIndex, promptIndex, this.scoresAt(previous), -1);
      this.counters.addScores(modelIndex, promptIndex, event.payload.scores, 1);
    }
    this.counters.move(before, result.progress);
    this.tasks[event.taskOrd] = result.progress;
  }

  private refreshOutcomes(): void {
    for (let ord = 0; ord < this.tasks.length; ord++) this.refreshOutcome(ord);
  }

  /** The `.state` counts a task completed once it passed the stage the current session runs to. */
  private refreshOutcome(ord: number): void {
    const progress = this.tasks[ord]!;
    const until = stageIndex(this.run?.untilStage ?? 'judge');
    const outcome = progress.nextStage > until || progress.nextStage === DONE_INDEX ? 'completed' : progress.failed ? 'failed' : 'pending';
    this.save.mark(ord, outcome);
  }

  private scoresAt(seq: number): Readonly<Record<string, MetricScore>> {
    return (this.events[seq]?.payload as { scores?: Record<string, MetricScore> } | undefined)?.scores ?? {};
  }

  /**
   * An import into the one job this store holds. Its records go to the log in one write (a kill leaves it
   * whole or repairs a torn last line); creating the job first is a separate write, as every import into a
   * files store is made by the one process that holds its lock. Pages given (a copied run) are collected
   * first: this store holds its whole job in memory anyway, and its log takes the records in one write.
   */
  async importRun(request: ImportRequest): Promise<ImportOutcome> {
    let createdRun = false;
    if (!this.run || this.run.runId !== request.runId) {
      if (!request.create) throw new StoreError(this.location, `no run ${request.runId} in this store`);
      createdRun = await this.createRun({ ...request.create, items: await collectPages(request.create.items) });
    }
    this.refuseIfLeased(request.runId);
    if (request.rewind && request.rewind.ords.length > 0) await this.rewind(request.runId, request.rewind.stage, request.rewind.ords);
    const { appended } = await this.appendEvents({ runId: request.runId, owner: null, events: await collectPages(request.events), release: [] });
    const target = await importedStatus(request, this.run!.status, () => this.counters.histogramRows());
    if (target) await this.setRunStatus(request.runId, target.status, target.completedThroughStage, target.interruptReason ?? undefined);
    return { createdRun, appended };
  }

  private refuseIfLeased(runId: string): void {
    const now = Date.now();
    const holder = [...this.owners.values()].find((entry) => entry.runId === runId && entry.expires > now);
    if (holder) throw new RunBusyError(runId, `pid ${holder.pid} on ${holder.host}`);
  }

  async resetFailures(runId: string, untilStage: Stage): Promise<number> {
    this.requireRun(runId);
    const until = stageIndex(untilStage);
    let changed = 0;
    this.tasks.forEach((progress, ord) => {
      if (!progress.failed || progress.nextStage > until) return;
      const reset = { ...progress, failed: false };
      this.counters.move(progress, reset);
      this.tasks[ord] = reset;
      changed++;
    });
    return changed;
  }

  async rewind(runId: string, stage: Stage, ords?: readonly number[]): Promise<number> {
    this.requireRun(runId);
    this.save.append([{ type: 'rewind', stage, ...(ords ? { tasks: ords.map((ord) => this.keyOf(ord)) } : {}) }]);
    this.events.push(null);
    const changed = this.applyRewind(stageIndex(stage), ords);
    this.refreshOutcomes();
    return changed;
  }

  private applyRewind(index: StageIndex, ords?: readonly number[]): number {
    let changed = 0;
    this.cursors = [0, 0, 0, 0, 0];
    const only = ords ? new Set(ords) : null;
    this.counters = new RunCounters();
    this.tasks = this.tasks.map((progress, ord) => {
      if (progress.nextStage < index || (only && !only.has(ord))) return progress;
      changed++;
      return rewindProgress(progress, index);
    });
    this.tasks.forEach((progress, ord) => {
      this.counters.bump(progress.nextStage, progress.failed, 1);
      const { modelIndex, promptIndex } = taskCoordinates(this.manifest!.shape, ord);
      for (const seq of [progress.scoreSeq, progress.judgeSeq]) if (seq !== null) this.counters.addScores(modelIndex, promptIndex, this.scoresAt(seq), 1);
    });
    return changed;
  }

  async findRunsSharingGenerations(): Promise<string[]> {
    return [];
  }

  async getStageHistogram(runId: string): Promise<StageHistogramRow[]> {
    this.requireRun(runId);
    return this.counters.histogramRows();
  }

  async countPastStageByModel(runId: string, stage: Stage): Promise<number[]> {
    this.requireRun(runId);
    const shape = this.manifest!.shape;
    const counts = new Array<number>(shape.modelIds.length).fill(0);
    const index = stageIndex(stage);
    this.tasks.forEach((progress, ord) => {
      if (progress.nextStage > index) counts[taskCoordinates(shape, ord).modelIndex]!++;
    });
    return counts;
  }

  async getUsageTotals(runId: string): Promise<UsageRow[]> {
    this.requireRun(runId);
    return this.usage.usageRows();
  }

  async getScoreTotals(runId: string): Promise<ScoreTotalRow[]> {
    this.requireRun(runId);
    return this.counters.scoreRows();
  }

  async listFailures(runId: string, limit: number): Promise<FailureRow[]> {
    this.requireRun(runId);
    const rows: FailureRow[] = [];
    const order = this.tasks.map((progress, ord) => ({ progress, ord })).filter((entry) => entry.progress.failed);
    order.sort((left, right) => left.progress.nextStage - right.progress.nextStage || left.ord - right.ord);
    for (const { progress, ord } of order.slice(0, limit)) {
      const { stage, ...failure } = progress.failure!;
      rows.push({ taskKey: this.keyOf(ord), stage, failure });
    }
    return rows;
  }

  async countFailures(runId: string): Promise<FailureCountRow[]> {
    this.requireRun(runId);
    const counts = new Map<string, FailureCountRow>();
    for (const progress of this.tasks) {
      if (!progress.failed || !progress.failure) continue;
      const key = `${progress.failure.stage}\u0000${progress.failure.category}`;
      counts.set(key, { stage: progress.failure.stage, category: progress.failure.category, count: (counts.get(key)?.count ?? 0) + 1 });
    }
    return [...counts.values()].sort((left, right) => right.count - left.count);
  }

  async loadArtifacts(runId: string, ords: readonly number[]): Promise<Map<number, TaskArtifacts>> {
    this.requireRun(runId);
    const payload = (seq: number | null): unknown => (seq === null ? null : (this.events[seq]?.payload ?? null));
    const artifacts = new Map<number, TaskArtifacts>();
    for (const ord of ords) {
      const progress = this.tasks[ord];
      if (!progress) continue;
      artifacts.set(ord, artifactsOf(progress, payload));
    }
    return artifacts;
  }

  async readResults(runId: string, afterOrd: number, limit: number): Promise<TaskResultRow[]> {
    this.requireRun(runId);
    const payload = (seq: number | null): unknown => (seq === null ? null : (this.events[seq]?.payload ?? null));
    const rows: TaskResultRow[] = [];
    for (let ord = Math.max(0, afterOrd + 1); ord < this.tasks.length && rows.length < limit; ord++) {
      const progress = this.tasks[ord];
      if (!progress) continue;
      const first = progress.candidateSeqs[0] ?? null;
      const latency = (payload(first) as { candidate?: { latencyMs?: unknown } } | null)?.candidate?.latencyMs;
      rows.push({
        ord,
        nextStage: progress.nextStage,
        failed: progress.failed,
        failure: progress.failure ? { stage: progress.failure.stage, category: progress.failure.category } : null,
        scores: scoreValues((payload(progress.scoreSeq) as { scores?: TaskArtifacts['scores'] } | null)?.scores),
        ...judgeResult(payload(progress.judgeSeq) as Parameters<typeof judgeResult>[0]),
        latencyMs: typeof latency === 'number' ? latency : null,
      });
    }
    return rows;
  }

  async findCallReplies(keys: readonly string[]): Promise<Map<string, StoredCallReply>> {
    const found = new Map<string, StoredCallReply>();
    if (!this.run) return found;
    for (const key of keys) {
      const seq = this.callReplies.get(key);
      if (seq !== undefined) found.set(key, { runId: this.run.runId, call: this.events[seq]!.payload as CallCompleted });
    }
    return found;
  }

  /** Answered from the run held in memory (stores/task-query.ts). */
  async queryTasks(runId: string, query: TaskQuery): Promise<TaskQueryPage> {
    return scanTaskQuery(this, runId, query);
  }

  async readTaskEvents(runId: string, ord: number): Promise<StoredEvent[]> {
    this.requireRun(runId);
    return (this.taskEvents[ord] ?? []).map((seq) => {
      const event = this.events[seq]!;
      return { seq, runId, taskOrd: ord, type: event.type, payload: event.payload, createdAt: new Date(event.at).toISOString() };
    });
  }

  /** From the run held in memory: a lookup per task. */
  readTaskEventsAt(runId: string, ords: readonly number[]): Promise<Map<number, StoredEvent[]>> {
    return taskEventsAt(ords, (ord) => this.readTaskEvents(runId, ord));
  }

  /** Writes the final output (through `write`, given a scratch path), then removes the `.tmp` and `.state`. */
  async finalize(write: (scratchPath: string) => Promise<void>): Promise<void> {
    await this.save.finalize(write);
    this.finalized = true;
  }

  async close(): Promise<void> {
    if (this.options.readonly) return;
    try {
      if (this.run && !this.finalized) {
        this.save.extra = this.extra();
        this.save.close();
      }
    } finally {
      // The .tmp is the source of truth; a .state the disk refused is rebuilt from it on the next open.
      this.unlock();
    }
  }
}

