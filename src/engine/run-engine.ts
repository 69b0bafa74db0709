import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { completedThroughStage } from '../core/execution-state.js';
import { sameCallsMapper } from '../core/generation-groups.js';
import { manifestShape, taskCoordinates, taskOrd, type ManifestShape } from '../core/manifest.js';
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
import { DONE_INDEX, stageIndex, type Stage, type StageIndex } from '../spec/stage.js';
import type { ClaimedTask, PipelineShape, RunStatus, Store, TaskArtifacts, TaskDescriptor } from '../spec/store.js';
import { ModelCaller, type CallableModel } from './model-caller.js';
import type { ProgressTracker } from './progress-tracker.js';
import { WriteBatcher, type TaskOutcome } from './write-batcher.js';
import { processAlive } from '../core/process-alive.js';

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
  readonly tracker: ProgressTracker;
  /** Aborted: stop claiming work, let calls in flight finish for up to `gracePeriodMs`, then cancel them. */
  readonly stopSignal?: AbortSignal;
  /** Aborted: cancel calls in flight at once. */
  readonly cancelSignal?: AbortSignal;
  /** Notices for the user (another process on the run, a lost lease). */
  readonly notice?: (message: string) => void;
}

export interface EngineResult {
  readonly status: RunStatus;
  readonly completedThroughStage: Stage | null;
  readonly interrupted: boolean;
  readonly modelCalls: number;
  readonly reusedGenerations: number;
  /** Tasks whose results another process wrote first (our copy was refused). */
  readonly rejected: number;
}

const REDUCE = stageIndex('reduce');
const PARSE = stageIndex('parse');
const SCORE = stageIndex('score');

interface QueuedTask {
  readonly claimed: ClaimedTask;
  /** The task's item, read from the store with the rest of its claimed batch. */
  readonly item: EngineItem;
  /** Stored generations from other runs for this task's missing samples, by sample. */
  readonly reusable?: ReadonlyMap<number, { runId: string; candidate: StoredCandidate }>;
}

type TaskCoordinates = Omit<TaskDescriptor, 'key'>;

type SampleResult = { readonly ok: true; readonly candidate: StoredCandidate } | { readonly ok: false; readonly cancelled: boolean };

/**
 * Executes the pending tasks of one run against a store: claims tasks in batches (leased to this process),
 * runs each through its stages up to `untilStage`, and writes every result as an event through a
 * group-committing batcher. Failures are recorded as events and never stop the run.
 */
export class RunEngine {
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private untilStage: Stage;
  private untilIndex: StageIndex;
  private readonly cancelController = new AbortController();
  private readonly caller: ModelCaller;
  private readonly batcher: WriteBatcher;
  private queue: QueuedTask[] = [];
  private queueIndex = 0;
  private refilling: Promise<void> | null = null;
  private exhausted = false;
  private stopping = false;
  /** Stored runs that made the same calls for some of this run's tasks, newest first, with the task mapping. */
  private reuseSources: { runId: string; sourceOrd: (ord: number) => number | undefined }[] = [];
  private reusedGenerations = 0;
  private rejected = 0;

  constructor(private readonly input: EngineInput) {
    // Every call waiting out a retry delay listens on this signal; thousands may wait at once.
    setMaxListeners(0, this.cancelController.signal);
    this.seeds = new TaskSeeds(input.seed, input.shape);
    this.untilStage = input.untilStage;
    this.untilIndex = stageIndex(input.untilStage);
    const callable = new Map<string, CallableModel>(input.evaluators);
    for (const model of input.models) callable.set(model.model.id, model);
    this.caller = new ModelCaller(
      callable,
      input.runtime.concurrency,
      input.runtime.timeoutMs,
      { maxAttempts: input.runtime.maxAttempts, baseDelayMs: input.runtime.retryBaseDelayMs, maxDelayMs: input.runtime.retryMaxDelayMs },
      this.cancelController.signal,
      input.tracker,
    );
    this.batcher = new WriteBatcher({
      store: input.store,
      runId: input.runId,
      owner: this.owner,
      maxEvents: 4096,
      onCommitted: (outcomes, rejectedOrds) => this.committed(outcomes, rejectedOrds),
    });
  }

  async execute(): Promise<EngineResult> {
    const { store, runId, runtime } = this.input;
    this.input.tracker.watchLimits(() => this.caller.limits());
    await this.releaseDeadOwners();
    const others = await store.listOwners(runId);
    if (others.length > 0) {
      this.input.notice?.(
        `another process is working on this run (${others.map((other) => `pid ${other.pid} on ${other.host}`).join(', ')}); this one will share the remaining tasks`,
      );
    }
    const now = new Date().toISOString();
    await store.registerOwner({ owner: this.owner, runId, host: hostname(), pid: process.pid, startedAt: now, heartbeatAt: now });
    const heartbeat = setInterval(() => void store.heartbeat(this.owner, runtime.leaseMs).catch(() => undefined), Math.max(500, runtime.leaseMs / 4));
    heartbeat.unref();
    const onStop = () => this.beginStop();
    const onCancel = () => this.cancelController.abort(new DOMException('cancelled', 'AbortError'));
    this.input.stopSignal?.addEventListener('abort', onStop, { once: true });
    this.input.cancelSignal?.addEventListener('abort', onCancel, { once: true });
    if (this.input.stopSignal?.aborted) this.beginStop();

    let interrupted = false;
    try {
      await store.resetFailures(runId, this.input.untilStage);
      await store.setRunStatus(runId, 'running', (await store.getRun(runId))?.completedThroughStage ?? null);
      await store.appendRunEvent(runId, 'run-started', { owner: this.owner, untilStage: this.input.untilStage, pid: process.pid, host: hostname() });
      if (this.input.reuse) await this.findReuseSources();
      // A judge comparing with another model's answer needs every task reduced first: score everything, then judge.
      const phases: Stage[] =
        this.input.untilStage === 'judge' && this.input.judges.some((judge) => judge.againstModel) ? ['score', 'judge'] : [this.input.untilStage];
      for (const phase of phases) {
        this.untilStage = phase;
        this.untilIndex = stageIndex(phase);
        this.exhausted = false;
        await this.drain();
        await this.batcher.flush();
        if (this.stopping) break;
      }
      interrupted = this.stopping;
    } finally {
      clearInterval(heartbeat);
      this.input.stopSignal?.removeEventListener('abort', onStop);
      this.input.cancelSignal?.removeEventListener('abort', onCancel);
      this.caller.dispose();
      await this.batcher.flush().catch(() => undefined);
      await store.releaseOwner(this.owner);
    }
    return this.finish(interrupted);
  }

  /** Runs workers until no claimable work is left, then waits for other processes still holding tasks. */
  private async drain(): Promise<void> {
    for (;;) {
      const workers: Promise<void>[] = [];
      for (let index = 0; index < this.input.runtime.concurrency; index++) workers.push(this.worker());
      await Promise.all(workers);
      if (this.stopping) return;
      await this.batcher.flush();
      if ((await this.pendingCount()) === 0) return;
      // Pending tasks remain but none can be claimed: another live process holds them. Wait for it.
      const others = await this.input.store.listOwners(this.input.runId);
      if (others.every((other) => other.owner === this.owner)) return;
      await sleep(500, undefined, { signal: this.input.stopSignal }).catch(() => undefined);
      await this.releaseDeadOwners();
      this.exhausted = false;
    }
  }

  private async pendingCount(): Promise<number> {
    const histogram = await this.input.store.getStageHistogram(this.input.runId);
    const from = this.input.fromStage ? stageIndex(this.input.fromStage) : 0;
    return histogram.reduce((sum, row) => (row.nextStage >= from && row.nextStage <= this.untilIndex && !row.failed ? sum + row.count : sum), 0);
  }

  private async worker(): Promise<void> {
    for (;;) {
      const task = await this.nextTask();
      if (!task) return;
      await this.processTask(task);
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
      const claimed = await this.input.store.claimTasks({
        runId: this.input.runId,
        owner: this.owner,
        untilStage: this.untilStage,
        ...(this.input.fromStage ? { fromStage: this.input.fromStage } : {}),
        limit: Math.min(4096, Math.max(64, this.input.runtime.concurrency * 4)),
        leaseMs: this.input.runtime.leaseMs,
      });
      const items = await this.itemsOf(claimed);
      this.queue = this.reuseSources.length > 0 ? await this.withReusable(claimed, items) : claimed.map((task) => ({ claimed: task, item: items(task.ord) }));
      this.queueIndex = 0;
      if (claimed.length === 0) this.exhausted = true;
    })().finally(() => {
      this.refilling = null;
    });
    return this.refilling;
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

  private async findReuseSources(): Promise<void> {
    const { store, runId, snapshot, shape } = this.input;
    for (const sourceId of await store.findRunsSharingGenerations(runId)) {
      const source = await store.getRun(sourceId);
      if (!source) continue;
      const sourceOrd = sameCallsMapper({ snapshot, shape }, { snapshot: source.snapshot, shape: manifestShape(source.snapshot) });
      this.reuseSources.push({ runId: sourceId, sourceOrd });
    }
  }

  /** Finds, with one batched read per source run, stored answers that this batch's tasks can reuse. */
  private async withReusable(claimed: readonly ClaimedTask[], items: (ord: number) => EngineItem): Promise<QueuedTask[]> {
    const reusable = new Map<number, Map<number, { runId: string; candidate: StoredCandidate }>>();
    for (const source of this.reuseSources) {
      const wanted = new Map<number, ClaimedTask>();
      for (const task of claimed) {
        if (task.nextStage !== 0) continue;
        const sourceOrd = source.sourceOrd(task.ord);
        if (sourceOrd !== undefined) wanted.set(sourceOrd, task);
      }
      if (wanted.size === 0) continue;
      const artifacts = await this.input.store.loadArtifacts(source.runId, [...wanted.keys()]);
      for (const [sourceOrd, task] of wanted) {
        const candidates = artifacts.get(sourceOrd)?.candidates ?? [];
        for (let sample = 0; sample < this.input.pipeline.samples; sample++) {
          const candidate = candidates[sample];
          if (task.candidateSeqs[sample] != null || !candidate) continue;
          let samples = reusable.get(task.ord);
          if (!samples) reusable.set(task.ord, (samples = new Map()));
          if (!samples.has(sample)) samples.set(sample, { runId: candidate.reusedFrom ?? source.runId, candidate });
        }
      }
    }
    return claimed.map((task) => {
      const found = reusable.get(task.ord);
      return found ? { claimed: task, item: items(task.ord), reusable: found } : { claimed: task, item: items(task.ord) };
    });
  }

  private async processTask(queued: QueuedTask): Promise<void> {
    const { claimed } = queued;
    const { pipeline } = this.input;
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
    const context = this.caller.context(item.input);
    try {
      while (stage <= this.untilIndex && stage < DONE_INDEX) {
        let event: TaskEvent;
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
            { parsed: parsed ?? { ok: false, reason: 'not parsed' }, text: reduced?.text ?? '', target: item.target, candidates: candidates.map((candidate) => candidate.text) },
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
          return this.finishTask(task, events, 'failed');
        }
        stage = stageAfter(stage, pipeline);
      }
    } catch (error) {
      // Cancelled mid-stage: keep the stages already done, give the task back.
      if (error instanceof CallCancelled) return this.finishTask(task, events, 'cancelled');
      throw error;
    }
    return this.finishTask(task, events, 'completed');
  }

  private readonly scorePluginsByDataset = new Map<string, ScorePlugins>();
  private readonly seeds: TaskSeeds;

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

  private async generateSample(task: TaskCoordinates, item: EngineItem, sample: number, reusable?: { runId: string; candidate: StoredCandidate }): Promise<SampleResult> {
    const model = this.input.models[task.modelIndex]!;
    if (reusable) {
      // The source run's retry history stays with the source run: this run made no call.
      const { failedAttempts: _history, ...answer } = reusable.candidate;
      const candidate: StoredCandidate = { ...answer, reusedFrom: reusable.runId };
      this.reusedGenerations++;
      this.batcher.push([{ taskOrd: task.ord, type: 'generate-completed', payload: { sample, candidate } }]);
      return { ok: true, candidate };
    }
    const request = buildGenerateRequest(this.input.prompts[task.promptIndex]!, item, model.params, this.seeds.seed(task, item, sample));
    const outcome = await this.caller.call(model.model.id, request);
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
    for (const outcome of outcomes) {
      if (outcome.outcome === 'cancelled' || rejected?.has(outcome.ord)) continue;
      this.input.tracker.recordFinished(outcome.modelIndex, outcome.outcome);
    }
    if (rejected) {
      this.rejected += rejected.size;
      this.input.notice?.(`${rejected.size} task result(s) were refused: another process holds their lease`);
    }
  }

  private beginStop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.input.tracker.stopping = true;
    const timer = setTimeout(() => this.cancelController.abort(new DOMException('grace period over', 'AbortError')), this.input.runtime.gracePeriodMs);
    timer.unref();
  }

  /** Same host, dead pid: that process was killed; its leases are void at once instead of after expiry. */
  private async releaseDeadOwners(): Promise<void> {
    const { store, runId, runtime } = this.input;
    const host = hostname();
    for (const other of await store.listOwners(runId)) {
      const stale = Date.now() - Date.parse(other.heartbeatAt) > runtime.leaseMs;
      if (stale || (other.host === host && other.pid !== process.pid && !processAlive(other.pid))) await store.releaseOwner(other.owner);
    }
  }

  private async finish(interrupted: boolean): Promise<EngineResult> {
    const { store, runId } = this.input;
    const until = stageIndex(this.input.untilStage);
    const histogram = await store.getStageHistogram(runId);
    const reached = completedThroughStage(histogram);
    const failed = histogram.reduce((sum, row) => (row.failed ? sum + row.count : sum), 0);
    const pending = histogram.reduce((sum, row) => (row.nextStage <= until && !row.failed ? sum + row.count : sum), 0);
    const othersActive = (await store.listOwners(runId)).length > 0;
    let status: RunStatus;
    if (othersActive) status = 'running';
    else if (interrupted || pending > 0) status = 'interrupted';
    else if (failed > 0) status = 'partial';
    else status = 'completed';
    await store.setRunStatus(runId, status, reached);
    if (interrupted) await store.appendRunEvent(runId, 'run-interrupted', { owner: this.owner, reason: 'stopped by the user' });
    else await store.appendRunEvent(runId, 'run-finished', { status, completedThroughStage: reached });
    return { status, completedThroughStage: reached, interrupted, modelCalls: this.caller.calls, reusedGenerations: this.reusedGenerations, rejected: this.rejected };
  }
}
