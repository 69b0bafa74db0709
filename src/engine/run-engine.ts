import { compileTemplate, type PromptTemplate } from '../core/prompt-template.js';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreUnavailableError } from '../core/errors.js';
import { completedThroughStage } from '../core/execution-state.js';
import { taskCoordinates, taskOrd, type ManifestShape } from '../core/manifest.js';
import { stageAfter } from '../core/task-progress.js';
import { buildGenerateRequest, TaskSeeds, type GenerateItem, type PromptParts } from '../stages/generate.js';
import { runJudges } from '../stages/judge.js';
import { runParse } from '../stages/parse.js';
import { runReduce } from '../stages/reduce.js';
import { runScore, type ScorePlugins } from '../stages/score.js';
import type { StoredCandidate, TaskEvent } from '../spec/event.js';
import type { FailureRecord } from '../spec/failure.js';
import type { Judge } from '../spec/judge.js';
import type { Metric } from '../spec/metric.js';
import type { ParseOutcome, Parser } from '../spec/parser.js';
import { CallCancelled } from '../spec/plugin-context.js';
import type { CandidateView, ReducedCandidate, Reducer } from '../spec/reducer.js';
import type { RunSnapshot } from '../spec/snapshot.js';
import { DONE_INDEX, STAGES, stageIndex, type Stage, type StageIndex } from '../spec/stage.js';
import type { ClaimedTask, InterruptReason, PipelineShape, RunStatus, Store, TaskArtifacts, TaskDescriptor } from '../spec/store.js';
import { activeOwners, describeOwners } from '../stores/active-owners.js';
import { claimSize } from './claim-size.js';
import { LeaseKeeper } from './lease-keeper.js';
import { FleetLimits } from './fleet-limits.js';
import { ModelCaller, type AdmissionTicket, type CallableModel } from './model-caller.js';
import type { ProgressTracker } from './progress-tracker.js';
import { ReuseLookup, type ReusableAnswer } from './reuse-lookup.js';
import { SpendGuard, type Budget } from './spend-guard.js';
import { ModelBreaker, type ModelDown } from './model-breaker.js';
import { CallJournal, TaskContext } from './task-context.js';
import { WriteBatcher, type TaskOutcome } from './write-batcher.js';

export interface EngineItem extends GenerateItem {
  readonly target: unknown;
}

export interface EngineRuntime {
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  readonly gracePeriodMs: number;
  readonly leaseMs: number;
  /** Stop the run when a model's calls keep failing unreachable (see ModelBreaker); 0 or absent: never. */
  readonly stopAfterFailures?: number;
}

export interface EngineInput {
  readonly store: Store;
  readonly runId: string;
  readonly shape: ManifestShape;
  readonly snapshot: RunSnapshot;
  readonly seed: number;
  readonly pipeline: PipelineShape;
  /** Answering models by model index. */
  readonly models: readonly CallableModel[];
  /** Evaluator models by id: parsing models, judges, best-of choosers. */
  readonly evaluators: ReadonlyMap<string, CallableModel>;
  readonly prompts: readonly PromptParts[];
  readonly reducer: Reducer;
  readonly parser: Parser;
  readonly metrics: readonly Metric[];
  /** Per dataset id, the parser applied to targets before scoring. */
  readonly targetParsers: ReadonlyMap<string, Parser>;
  readonly judges: readonly Judge[];
  readonly runtime: EngineRuntime;
  readonly untilStage: Stage;
  /** Only work on tasks that have reached this stage (replays); default: all. */
  readonly fromStage?: Stage;
  /** Reuse identical generations stored by other runs instead of calling the model. */
  readonly reuse: boolean;
  /** Serve evaluator requests already answered (in this run or another) from the store; default true. */
  readonly shareCalls?: boolean;
  readonly tracker: ProgressTracker;
  /** Aborted: stop claiming work, let calls in flight finish for up to `gracePeriodMs`, then cancel them. */
  readonly stopSignal?: AbortSignal;
  /** Aborted: cancel calls in flight at once. */
  readonly cancelSignal?: AbortSignal;
  /** Notices for the user (another process on the run, a lost lease). */
  readonly notice?: (message: string) => void;
  /** The spending cap; without one, calls are admitted whatever they cost. */
  readonly budget?: Budget;
  /** How often the fleet limits are synced with the store (ms, default 1000). */
  readonly fleetSyncMs?: number;
}

export interface EngineResult {
  readonly status: RunStatus;
  readonly completedThroughStage: Stage | null;
  readonly interrupted: boolean;
  /** Why the run stopped early, when it did. */
  readonly interruptReason: InterruptReason | null;
  /**
   * Why this process stopped before the run was done, when it did: the same as `interruptReason`, or, while
   * other processes still work the run (its status stays `running`), this process's own reason (a fleet's
   * spending cap reached here first, a signal).
   */
  readonly stoppedFor: InterruptReason | null;
  readonly modelCalls: number;
  readonly reusedGenerations: number;
  /** Tasks whose results another process wrote first (our copy was refused). */
  readonly rejected: number;
  /** Set when the run stopped because a model could not be reached (reason `model`). */
  readonly modelDown: ModelDown | null;
}

const REDUCE = stageIndex('reduce');
const PARSE = stageIndex('parse');
const SCORE = stageIndex('score');

interface QueuedTask {
  readonly claimed: ClaimedTask;
  /** The task's item, read from the store with the rest of its claimed batch. */
  readonly item: EngineItem;
  /** Stored generations from other runs for this task's missing samples, by sample. */
  readonly reusable?: ReadonlyMap<number, ReusableAnswer>;
}

type TaskCoordinates = Omit<TaskDescriptor, 'key'>;

type SampleResult = { readonly ok: true; readonly candidate: StoredCandidate } | { readonly ok: false; readonly cancelled: boolean };

/**
 * Executes the pending tasks of one run against a store: claims tasks in batches (leased to this process,
 * each lease with its fencing token), runs each through its stages up to `untilStage`, and writes every
 * result as an event through a group-committing batcher. Failures of a task are recorded as events and never
 * stop the run; a store that refuses a write stops it at once, cleanly (see `fail`).
 */
export class RunEngine {
  private untilStage: Stage;
  private untilIndex: StageIndex;
  private readonly cancelController = new AbortController();
  private readonly caller: ModelCaller;
  private readonly batcher: WriteBatcher;
  private readonly lease: LeaseKeeper;
  private readonly journal: CallJournal;
  private readonly spend: SpendGuard;
  private readonly fleet: FleetLimits;
  private queue: QueuedTask[] = [];
  private queueIndex = 0;
  private refilling: Promise<void> | null = null;
  private exhausted = false;
  /** Tasks claimed by this process so far (a round of the workers that claims none found nothing to do). */
  private claimedTasks = 0;
  /** Processes working the run, this one included, as of the last fleet sync. */
  private liveProcesses = 1;
  private stopping = false;
  private stopReason: InterruptReason | null = null;
  /** The run's status before this session set it running (a replay that leaves upstream work undone restores it). */
  private statusBefore: { readonly status: RunStatus; readonly reason: InterruptReason | null } | null = null;
  /** The error that stopped the run (a store that refused a write, or a bug); null while all is well. */
  private fatal: unknown = null;
  private reuse: ReuseLookup | null = null;
  private reusedGenerations = 0;
  private rejected = 0;
  private modelDown: ModelDown | null = null;
  private readonly breaker: ModelBreaker;

  constructor(private readonly input: EngineInput) {
    // Every call waiting out a retry delay listens on this signal; thousands may wait at once.
    setMaxListeners(0, this.cancelController.signal);
    this.seeds = new TaskSeeds(input.seed, input.shape);
    this.modelSystems = input.snapshot.models.map((model) => (model.system !== undefined ? compileTemplate(model.system) : null));
    this.untilStage = input.untilStage;
    this.untilIndex = stageIndex(input.untilStage);
    const notice = input.notice ?? (() => undefined);
    this.lease = new LeaseKeeper({ store: input.store, runId: input.runId, leaseMs: input.runtime.leaseMs, notice });
    this.spend = new SpendGuard(input.budget ?? null, () => {
      const spend = this.spend;
      const cap = input.budget!.capUsd;
      // In a fleet the cap holds for the run's total: the notice gives that as the guard counts it (the store's
      // total at the last sync, the others assumed to have spent alike since), not this process's share alone.
      const spent =
        spend.sharedBy > 1
          ? `, which ${spend.sharedBy} processes share (the run has spent about $${spend.runSpentUsd.toFixed(4)} across them by this one's count, $${spend.ownSpentUsd.toFixed(4)} of it here)`
          : ` (spent so far $${spend.runSpentUsd.toFixed(4)})`;
      notice(`the next call would pass the run's spending cap of $${cap}${spent}: no new calls; raise the cap to go on`);
      this.beginStop('budget');
    });
    const breaker = (this.breaker = new ModelBreaker(input.runtime.stopAfterFailures ?? 0, (down) => {
      this.modelDown ??= down;
      notice(`model ${down.model}: ${down.failures} calls in a row failed (${down.category}) and none succeeded: no more calls; the run stops`);
      this.beginStop('model');
    }));
    const callable = new Map<string, CallableModel>(input.evaluators);
    for (const model of input.models) callable.set(model.model.id, model);
    this.fleet = new FleetLimits({
      store: input.store,
      runId: input.runId,
      models: callable,
      ...(input.fleetSyncMs !== undefined ? { syncMs: input.fleetSyncMs } : {}),
      onOwners: (live) => {
        this.liveProcesses = live;
        this.caller.shareConcurrency(live);
        void this.refreshFleetSpend(live);
      },
    });
    this.caller = new ModelCaller(
      callable,
      input.runtime.concurrency,
      input.runtime.timeoutMs,
      { maxAttempts: input.runtime.maxAttempts, baseDelayMs: input.runtime.retryBaseDelayMs, maxDelayMs: input.runtime.retryMaxDelayMs },
      this.cancelController.signal,
      input.tracker,
      { admit: (ord, modelId, request) => this.admit(ord, modelId, request) },
      breaker,
      this.fleet,
    );
    this.batcher = new WriteBatcher({
      store: input.store,
      runId: input.runId,
      writer: this.lease,
      maxEvents: 4096,
      onCommitted: (outcomes, rejectedOrds) => this.committed(outcomes, rejectedOrds),
      onFailure: (error) => this.fail(error),
    });
    this.journal = new CallJournal(input.store, input.runId, input.snapshot.evaluators, (event, onDurable) => void this.batcher.push([event], undefined, onDurable),
      // A replay recomputes its first stage afresh; later stages take replies to unchanged requests.
      (stage) => input.shareCalls !== false && stage !== input.fromStage,
    );
  }

  /** The spending cap holds for the fleet: what every process has committed, read from the store's usage totals. */
  private async refreshFleetSpend(live: number): Promise<void> {
    const budget = this.input.budget;
    if (!budget) return;
    try {
      const rows = await this.input.store.getUsageTotals(this.input.runId);
      this.spend.fleet(rows.reduce((sum, row) => sum + (budget.prices.cost(row.model, row) ?? 0), 0), live);
    } catch {
      // The store is busy or gone: the guard keeps its last figure, and the writes report the failure.
    }
  }

  /** The last check before a call goes out: the task's lease is surely held, and the cap leaves room. */
  private admit(ord: number, modelId: string, request: Parameters<SpendGuard['admit']>[1]): AdmissionTicket | null | Promise<AdmissionTicket | null> {
    if (this.fatal !== null) return null;
    const held = this.lease.mayCall(ord);
    if (held === true) return this.spend.admit(modelId, request);
    if (held === false) return null;
    return held.then((still) => (still && this.fatal === null ? this.spend.admit(modelId, request) : null));
  }

  async execute(): Promise<EngineResult> {
    const { store, runId } = this.input;
    this.input.tracker.watchLimits(() => this.caller.limits());
    const onStop = () => this.beginStop('user');
    const onCancel = () => this.cancelController.abort(new DOMException('cancelled', 'AbortError'));
    let interrupted = false;
    try {
      const others = await activeOwners(store, runId, { removeInactive: true });
      if (others.length > 0) this.input.notice?.(`another process is working on this run (${describeOwners(others)}); this one will share the remaining tasks`);
      await this.lease.register();
      this.lease.start((error) => this.fail(error));
      await this.fleet.start();
      this.input.stopSignal?.addEventListener('abort', onStop, { once: true });
      this.input.cancelSignal?.addEventListener('abort', onCancel, { once: true });
      // One turn of the event loop first: a Ctrl+C that came while the run was being created (reading a big
      // dataset holds the thread, and a store of this process answers without one) is only handled then, and
      // must stop the run before its first claim, not after a batch of calls.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.input.stopSignal?.aborted) this.beginStop('user');
      // A model that has answered for this run before is reachable: failures of a few items do not stop it.
      for (const row of await store.getUsageTotals(runId)) if (row.calls > 0) this.breaker.succeeded(row.model);
      await store.resetFailures(runId, this.input.untilStage);
      const before = await store.getRun(runId);
      this.statusBefore = before ? { status: before.status, reason: before.interruptReason } : null;
      await store.setRunStatus(runId, 'running', before?.completedThroughStage ?? null);
      await store.appendRunEvent(runId, 'run-started', { owner: this.lease.owner, untilStage: this.input.untilStage, pid: process.pid, host: hostname() });
      if (this.input.reuse) this.reuse = await ReuseLookup.open(store, this.input);
      // A judge comparing with another model's answer needs every task reduced first: score everything, then judge.
      const phases: Stage[] =
        this.input.untilStage === 'judge' && this.input.judges.some((judge) => judge.againstModel) ? ['score', 'judge'] : [this.input.untilStage];
      for (const phase of phases) {
        this.untilStage = phase;
        this.untilIndex = stageIndex(phase);
        this.exhausted = false;
        await this.drain();
        if (this.stopping) break;
        await this.batcher.flush();
      }
      interrupted = this.stopping;
      if (this.fatal === null) {
        await this.batcher.flush();
        await this.lease.release();
      }
    } catch (error) {
      this.fail(error);
    } finally {
      this.input.stopSignal?.removeEventListener('abort', onStop);
      this.input.cancelSignal?.removeEventListener('abort', onCancel);
      this.caller.dispose();
      this.fleet.dispose();
    }
    if (this.fatal !== null) return this.abandon();
    try {
      return await this.finish(interrupted);
    } catch (error) {
      this.fail(error);
      return this.abandon();
    }
  }

  /**
   * Runs workers until no claimable work is left, then waits for other processes still holding tasks. The
   * tasks of a process found gone (killed on this machine, or its lease lapsed) are claimable once it is
   * removed: the workers run again for them at once, without waiting.
   */
  private async drain(): Promise<void> {
    // Whether the last check found no other process on the run, so its round could claim every pending task.
    let aloneBefore = false;
    for (;;) {
      const claimedBefore = this.claimedTasks;
      const workers: Promise<void>[] = [];
      for (let index = 0; index < this.input.runtime.concurrency; index++) workers.push(this.worker());
      await Promise.all(workers);
      if (this.stopping) return;
      await this.batcher.flush();
      if ((await this.pendingCount()) === 0) return;
      // Pending tasks remain but none could be claimed. Other processes found gone are removed here, which frees
      // their leases: claim again. Live ones hold the rest: wait for them.
      const others = await activeOwners(this.input.store, this.input.runId, { except: this.lease.owner, removeInactive: true });
      if (others.length === 0) {
        // Nobody else was there for a whole round and it claimed nothing: what is left cannot be claimed (see finish).
        if (aloneBefore && this.claimedTasks === claimedBefore) return;
        aloneBefore = true;
      } else {
        aloneBefore = false;
        await sleep(500, undefined, { signal: this.input.stopSignal }).catch(() => undefined);
      }
      this.exhausted = false;
    }
  }

  private async pendingCount(): Promise<number> {
    const histogram = await this.input.store.getStageHistogram(this.input.runId);
    const from = this.input.fromStage ? stageIndex(this.input.fromStage) : 0;
    return histogram.reduce((sum, row) => (row.nextStage >= from && row.nextStage <= this.untilIndex && !row.failed ? sum + row.count : sum), 0);
  }

  /** One of `concurrency` loops taking tasks off the queue; an error it cannot record as data stops the run. */
  private async worker(): Promise<void> {
    try {
      for (;;) {
        const task = await this.nextTask();
        if (!task) return;
        await this.processTask(task);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private nextTask(): QueuedTask | undefined | Promise<QueuedTask | undefined> {
    if (this.stopping) return undefined;
    if (this.queueIndex < this.queue.length) return this.queue[this.queueIndex++];
    if (this.exhausted) return undefined;
    return this.refill().then(() => this.nextTask());
  }

  private refill(): Promise<void> {
    this.refilling ??= (async () => {
      // Yield to the event loop once per batch, so timers (heartbeat, progress, flushes) run under load.
      await new Promise((resolve) => setImmediate(resolve));
      if (this.stopping) return;
      const limit = await this.claimLimit();
      const claim = () =>
        this.input.store.claimTasks({
          runId: this.input.runId,
          owner: this.lease.owner,
          untilStage: this.untilStage,
          ...(this.input.fromStage ? { fromStage: this.input.fromStage } : {}),
          limit,
        });
      let claimed: ClaimedTask[];
      try {
        claimed = await claim();
      } catch (error) {
        // Evicted since the last heartbeat: register again, then claim as the new owner.
        await this.lease.recover(error);
        claimed = await claim();
      }
      this.lease.claimed(claimed);
      this.claimedTasks += claimed.length;
      const items = await this.itemsOf(claimed);
      const reusable = this.reuse && !this.reuse.empty ? await this.reuse.find(claimed) : null;
      this.queue = claimed.map((task) => {
        const found = reusable?.get(task.ord);
        return found ? { claimed: task, item: items(task.ord), reusable: found } : { claimed: task, item: items(task.ord) };
      });
      this.queueIndex = 0;
      if (claimed.length === 0) this.exhausted = true;
    })().finally(() => {
      this.refilling = null;
    });
    return this.refilling;
  }

  private async claimLimit(): Promise<number> {
    const { concurrency } = this.input.runtime;
    if (this.liveProcesses <= 1) return claimSize(concurrency, 1, Number.POSITIVE_INFINITY);
    return claimSize(concurrency, this.liveProcesses, await this.pendingCount());
  }

  /**
   * Reads the items of a claimed batch from the store in one indexed query. Items are never all held in
   * memory: a run of a million rows holds the rows of the batches in flight.
   */
  private async itemsOf(claimed: readonly ClaimedTask[]): Promise<(ord: number) => EngineItem> {
    const { perItem } = this.input.shape;
    const itemOrds: number[] = [];
    let last = -1;
    for (const task of claimed) {
      const itemOrd = Math.floor(task.ord / perItem);
      if (itemOrd !== last) itemOrds.push(itemOrd);
      last = itemOrd;
    }
    const items = await this.input.store.loadItemsAt(this.input.runId, itemOrds);
    return (ord) => {
      const item = items.get(Math.floor(ord / perItem));
      if (!item) throw new Error(`item of task ${ord} is missing from the store`);
      return item;
    };
  }

  private async processTask(queued: QueuedTask): Promise<void> {
    const { claimed } = queued;
    const { pipeline } = this.input;
    // Taken over by another process while it waited in the queue: nothing to do here.
    if (!this.lease.holds(claimed.ord)) return;
    // Coordinates are enough on the hot path; the key string is built only where a message needs it.
    const task = taskCoordinates(this.input.shape, claimed.ord);
    const { item } = queued;
    let stage = claimed.nextStage;
    let candidates: CandidateView[] = [];
    let reduced: ReducedCandidate | null = null;
    let parsed: ParseOutcome | null = null;

    if (stage > 0) {
      // Continuing downstream of earlier work: read the stored upstream artifacts, never call upstream models.
      const artifacts = (await this.input.store.loadArtifacts(this.input.runId, [task.ord])).get(task.ord);
      candidates = artifacts?.candidates.flatMap((candidate, sample) => (candidate ? [{ sample, text: candidate.text }] : [])) ?? [];
      reduced = artifacts?.reduced ?? null;
      parsed = artifacts?.parsed ?? null;
    } else {
      const existing = claimed.candidateSeqs.some((seq) => seq !== null)
        ? ((await this.input.store.loadArtifacts(this.input.runId, [task.ord])).get(task.ord)?.candidates ?? [])
        : [];
      const pending: Promise<SampleResult>[] = [];
      for (let sample = 0; sample < pipeline.samples; sample++) {
        if (claimed.candidateSeqs[sample] == null) pending.push(this.generateSample(task, item, sample, queued.reusable?.get(sample)));
      }
      const results = pending.length === 1 ? [await pending[0]!] : await Promise.all(pending);
      if (results.some((result) => !result.ok && result.cancelled)) return this.finishTask(task, [], 'cancelled');
      if (results.some((result) => !result.ok)) return this.finishTask(task, [], 'failed');
      let fresh = 0;
      for (let sample = 0; sample < pipeline.samples; sample++) {
        const candidate = existing[sample] ?? (results[fresh++] as { candidate: StoredCandidate }).candidate;
        candidates.push({ sample, text: candidate.text });
      }
      stage = REDUCE;
    }

    const events: TaskEvent[] = [];
    const context = new TaskContext(this.caller, this.journal, task.ord, item.input, item.fields);
    try {
      while (stage <= this.untilIndex && stage < DONE_INDEX) {
        let event: TaskEvent;
        context.stage = (STAGES as readonly Stage[])[stage]!;
        // Stage results come back at once from deterministic plugins; only model-backed ones are awaited.
        if (stage === REDUCE) {
          const pending = runReduce(task.ord, this.input.reducer, { signal: context.signal, callModel: context.callModel.bind(context), input: item.input, parser: this.input.parser }, candidates);
          const result = pending instanceof Promise ? await pending : pending;
          event = result.event;
          reduced = result.reduced;
        } else if (stage === PARSE) {
          const pending = runParse(task.ord, this.input.parser, reduced?.text ?? '', context);
          event = pending instanceof Promise ? await pending : pending;
          if (event.type === 'parse-completed') parsed = event.payload.outcome;
        } else if (stage === SCORE) {
          const pending = runScore(
            task.ord,
            this.scorePlugins(item.datasetId),
            { parsed: parsed ?? { ok: false, reason: 'not parsed' }, text: reduced?.text ?? '', target: item.target, fields: item.fields, candidates: candidates.map((candidate) => candidate.text) },
            context,
          );
          event = pending instanceof Promise ? await pending : pending;
        } else {
          const others = await this.otherAnswers(task);
          event = await runJudges(task.ord, this.input.judges, (judge) => this.judgeInput(judge, item, reduced, parsed, others), context);
        }
        const calls = context.takeCalls();
        if (calls.length > 0) event = { ...event, payload: { ...event.payload, calls } } as TaskEvent;
        events.push(event);
        if (event.type.endsWith('-failed')) {
          this.input.tracker.recordFailure((event.payload as { failure: FailureRecord }).failure.category, this.input.shape.modelIds[task.modelIndex]);
          // Calls of the stage still in flight (the rest of a judge panel) are journaled before the task is let go.
          await context.settle();
          return this.finishTask(task, events, 'failed');
        }
        stage = stageAfter(stage, pipeline);
      }
    } catch (error) {
      // Cancelled mid-stage: keep the stages already done, give the task back.
      if (error instanceof CallCancelled) {
        await context.settle();
        return this.finishTask(task, events, 'cancelled');
      }
      throw error;
    }
    return this.finishTask(task, events, 'completed');
  }

  private readonly scorePluginsByDataset = new Map<string, ScorePlugins>();
  private readonly seeds: TaskSeeds;
  /** Per answering model, the system prompt that replaces the prompts' own, if it has one. */
  private readonly modelSystems: readonly (PromptTemplate | null)[];

  private scorePlugins(datasetId: string): ScorePlugins {
    let plugins = this.scorePluginsByDataset.get(datasetId);
    if (!plugins) {
      plugins = { metrics: this.input.metrics, parser: this.input.parser, targetParser: this.input.targetParsers.get(datasetId) ?? null };
      this.scorePluginsByDataset.set(datasetId, plugins);
    }
    return plugins;
  }

  /** For judges comparing with another model: that model's reduced answers for the same item, prompt and replicate. */
  private async otherAnswers(task: TaskCoordinates): Promise<Map<string, TaskArtifacts | undefined>> {
    const answers = new Map<string, TaskArtifacts | undefined>();
    for (const judge of this.input.judges) {
      if (!judge.againstModel || answers.has(judge.againstModel)) continue;
      const modelIndex = this.input.shape.modelIds.indexOf(judge.againstModel);
      const ord = taskOrd(this.input.shape, task.itemOrd, modelIndex, task.promptIndex, task.replicate);
      answers.set(judge.againstModel, (await this.input.store.loadArtifacts(this.input.runId, [ord])).get(ord));
    }
    return answers;
  }

  private judgeInput(judge: Judge, item: EngineItem, reduced: ReducedCandidate | null, parsed: ParseOutcome | null, others: Map<string, TaskArtifacts | undefined>) {
    const base = { item: { id: item.itemId, input: item.input, target: item.target, fields: item.fields }, answer: reduced?.text ?? '', parsed };
    if (!judge.againstModel) return base;
    const other = others.get(judge.againstModel)?.reduced;
    if (!other) return `model '${judge.againstModel}' has no answer for this item yet (its task failed or has not reached reduce)`;
    return { ...base, other: { modelId: judge.againstModel, answer: other.text } };
  }

  /** Hands a task's last events to the batcher with its lease release. A cancelled task stays pending. */
  private finishTask(task: TaskCoordinates, events: readonly TaskEvent[], outcome: TaskOutcome['outcome']): Promise<void> | undefined {
    return this.batcher.push(events, { ord: task.ord, modelIndex: task.modelIndex, outcome });
  }

  private async generateSample(task: TaskCoordinates, item: EngineItem, sample: number, reusable?: ReusableAnswer): Promise<SampleResult> {
    const model = this.input.models[task.modelIndex]!;
    if (reusable) {
      // The source run's retry history stays with the source run: this run made no call.
      const { failedAttempts: _history, ...answer } = reusable.candidate;
      const candidate: StoredCandidate = { ...answer, reusedFrom: reusable.runId };
      this.reusedGenerations++;
      this.batcher.push([{ taskOrd: task.ord, type: 'generate-completed', payload: { sample, candidate } }]);
      return { ok: true, candidate };
    }
    const request = buildGenerateRequest(this.input.prompts[task.promptIndex]!, item, model.params, this.seeds.seed(task, item, sample), this.modelSystems[task.modelIndex]);
    const outcome = await this.caller.call(model.model.id, request, { ord: task.ord });
    if (outcome.ok) {
      // The call keeps its slot until its answer is committed: calls in flight plus answers not yet durable
      // never exceed the concurrency, which bounds what a kill -9 can make us pay for twice.
      const candidate: StoredCandidate = outcome.failedAttempts.length > 0 ? { ...outcome.result, failedAttempts: outcome.failedAttempts } : outcome.result;
      this.batcher.push([{ taskOrd: task.ord, type: 'generate-completed', payload: { sample, candidate } }], undefined, outcome.release);
      return { ok: true, candidate };
    }
    if (outcome.cancelled) return { ok: false, cancelled: true };
    this.batcher.push([{ taskOrd: task.ord, type: 'generate-failed', payload: { sample, failure: outcome.failure } }]);
    return { ok: false, cancelled: false };
  }

  private committed(outcomes: readonly TaskOutcome[], rejectedOrds: readonly number[]): void {
    const rejected = rejectedOrds.length > 0 ? new Set(rejectedOrds) : null;
    let refused = 0;
    for (const outcome of outcomes) {
      // Its release is committed (or refused): the task is no longer this process's.
      this.lease.dropped(outcome.ord);
      if (rejected?.has(outcome.ord)) {
        if (outcome.outcome !== 'cancelled') refused++;
        continue;
      }
      if (outcome.outcome === 'cancelled') continue;
      this.input.tracker.recordFinished(outcome.modelIndex, outcome.outcome);
    }
    if (rejected) {
      for (const ord of rejected) this.lease.dropped(ord);
      this.rejected += rejected.size;
      if (refused > 0) this.input.notice?.(`${refused} task result(s) were refused: another process took over their lease`);
    }
  }

  private beginStop(reason: InterruptReason): void {
    if (this.stopping) return;
    this.stopping = true;
    this.stopReason = reason;
    this.input.tracker.stopping = true;
    const timer = setTimeout(() => this.cancelController.abort(new DOMException('grace period over', 'AbortError')), this.input.runtime.gracePeriodMs);
    timer.unref();
  }

  /**
   * The store refused a write (or a bug surfaced): stop claiming at once and cancel the calls in flight (their
   * answers could not be saved). The batcher has already given back every slot waiting on a commit, so every
   * worker returns promptly and `execute` ends with the error instead of hanging.
   */
  private fail(error: unknown): void {
    if (this.fatal !== null) return;
    this.fatal = error;
    this.stopping = true;
    this.stopReason = StoreUnavailableError.isInstance(error) ? 'store' : 'error';
    this.input.tracker.stopping = true;
    this.cancelController.abort(new DOMException('the store refused a write', 'AbortError'));
  }

  /** After a fatal error: save what can still be saved, mark the run interrupted where the store allows, and throw. */
  private async abandon(): Promise<never> {
    const { store, runId, tracker } = this.input;
    const error = this.fatal;
    await this.batcher.flush().catch(() => undefined);
    let saved: string | undefined;
    try {
      const histogram = await store.getStageHistogram(runId);
      const until = stageIndex(this.input.untilStage);
      const done = histogram.reduce((sum, row) => (row.nextStage > until || row.nextStage === DONE_INDEX ? sum + row.count : sum), 0);
      const total = histogram.reduce((sum, row) => sum + row.count, 0);
      saved = `${done} of ${total} tasks are done and saved, with every answer committed before the failure`;
      await store.setRunStatus(runId, 'interrupted', completedThroughStage(histogram), this.stopReason ?? 'error');
      await store.appendRunEvent(runId, 'run-interrupted', { owner: this.lease.owner, reason: error instanceof Error ? error.message : String(error) });
    } catch {
      // The store accepts nothing more; the run keeps its last status, and the next run resumes it all the same.
      saved ??= `${tracker.snapshot().completed} tasks are done and saved`;
    }
    await this.lease.release().catch(() => undefined);
    if (StoreUnavailableError.isInstance(error)) throw error.withSaved(saved);
    throw error;
  }

  private async finish(interrupted: boolean): Promise<EngineResult> {
    const { store, runId } = this.input;
    const until = stageIndex(this.input.untilStage);
    const from = this.input.fromStage ? stageIndex(this.input.fromStage) : 0;
    const histogram = await store.getStageHistogram(runId);
    const reached = completedThroughStage(histogram);
    const failed = histogram.reduce((sum, row) => (row.failed ? sum + row.count : sum), 0);
    // Unfinished tasks this session was to work, and those short of its first stage (a replay's upstream).
    const pending = histogram.reduce((sum, row) => (row.nextStage >= from && row.nextStage <= until && !row.failed ? sum + row.count : sum), 0);
    const upstream = histogram.reduce((sum, row) => (row.nextStage < from && !row.failed ? sum + row.count : sum), 0);
    const othersActive = (await activeOwners(store, runId)).length > 0;
    let status: RunStatus;
    let reason: InterruptReason | null = null;
    // Stopped here: by a signal (the user), the spending cap, or a model that could not be reached.
    const stopReason = interrupted ? (this.stopReason ?? 'error') : null;
    let why: string | null = stopReason === null ? null : stopReason === 'budget' ? 'budget' : stopReason === 'model' ? `model ${this.modelDown?.model} unreachable: ${this.modelDown?.message}` : stopReason === 'user' ? 'stopped by the user' : stopReason;
    if (othersActive) status = 'running';
    else if (stopReason !== null) {
      status = 'interrupted';
      reason = stopReason;
    } else if (pending > 0) {
      // Not stopped, yet tasks are left that this process could not claim while no other process held them
      // (drain claims until none is left): not a user's doing, and the run says so.
      status = 'interrupted';
      reason = 'error';
      why = `${pending} unfinished task(s) could not be claimed, and no other process holds them`;
      this.input.notice?.(`${why}: the run is marked interrupted (error); run it again to finish them (and please report this)`);
    } else if (upstream > 0) {
      // A replay of a run not done upstream: the run stays as it was before, for whatever stopped it then.
      status = this.statusBefore?.status ?? 'interrupted';
      if (status === 'interrupted') reason = this.statusBefore?.reason ?? 'error';
    } else if (failed > 0) status = 'partial';
    else status = 'completed';
    await store.setRunStatus(runId, status, reached, reason ?? undefined);
    if (why !== null) await store.appendRunEvent(runId, 'run-interrupted', { owner: this.lease.owner, reason: why });
    else await store.appendRunEvent(runId, 'run-finished', { status, completedThroughStage: reached });
    return {
      status,
      completedThroughStage: reached,
      interrupted,
      interruptReason: reason,
      stoppedFor: stopReason,
      modelCalls: this.caller.calls,
      reusedGenerations: this.reusedGenerations,
      rejected: this.rejected,
      modelDown: this.modelDown,
    };
  }
}
