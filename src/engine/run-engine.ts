import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { completedThroughStage } from '../core/execution-state.js';
import { stageAfter } from '../core/task-progress.js';
import { classifyProviderError, type ProviderCallError } from '../providers/call-error.js';
import { buildGenerateRequest, callSeed, type GenerateItem, type PromptParts } from '../stages/generate.js';
import { runJudge } from '../stages/judge.js';
import { runParse } from '../stages/parse.js';
import { runReduce } from '../stages/reduce.js';
import { runScore } from '../stages/score.js';
import type { StoredCandidate, TaskEvent } from '../spec/event.js';
import type { AttemptRecord, FailureRecord } from '../spec/failure.js';
import type { Metric } from '../spec/metric.js';
import type { GenerateResult, GenerationParams, LanguageModel } from '../spec/model.js';
import type { ParseOutcome, Parser } from '../spec/parser.js';
import type { CandidateView, ReducedCandidate, Reducer } from '../spec/reducer.js';
import { DONE_INDEX, stageIndex, type Stage, type StageIndex } from '../spec/stage.js';
import type { ClaimedTask, PipelineShape, RunStatus, Store, TaskDescriptor } from '../spec/store.js';
import { DeadlineSignals } from './deadline-signals.js';
import type { ProgressTracker } from './progress-tracker.js';
import { retryDelayMs, shouldRetry, type RetryPolicy } from './retry-policy.js';
import { Semaphore } from './semaphore.js';
import { WriteBatcher, type TaskOutcome } from './write-batcher.js';

export interface EngineItem extends GenerateItem {
  readonly target: unknown;
}

export interface EngineModel {
  readonly model: LanguageModel;
  readonly params: GenerationParams;
  /** Per-model cap on calls in flight, on top of the global one. */
  readonly concurrency: number | undefined;
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
  /** Manifest position -> task (key, item, model, prompt, replicate). */
  readonly task: (ord: number) => TaskDescriptor;
  readonly seed: number;
  readonly pipeline: PipelineShape;
  readonly items: readonly EngineItem[];
  readonly models: readonly EngineModel[];
  readonly prompts: readonly PromptParts[];
  readonly reducer: Reducer;
  readonly parser: Parser;
  readonly metrics: readonly Metric[];
  readonly runtime: EngineRuntime;
  readonly untilStage: Stage;
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
  /** Tasks whose results another process wrote first (our copy was refused). */
  readonly rejected: number;
}

const REDUCE = stageIndex('reduce');
const PARSE = stageIndex('parse');
const SCORE = stageIndex('score');

type SampleResult = { readonly ok: true; readonly candidate: StoredCandidate } | { readonly ok: false; readonly cancelled: boolean };

/** Is a process with this pid alive on this host? */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Executes the pending tasks of one run against a store: claims tasks in batches (leased to this process),
 * runs each through its stages up to `untilStage`, and writes every result as an event through a
 * group-committing batcher. Failures are recorded as events and never stop the run.
 */
export class RunEngine {
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly untilIndex: StageIndex;
  private readonly cancelController = new AbortController();
  private readonly deadlines: DeadlineSignals;
  private readonly global: Semaphore;
  private readonly perModel: (Semaphore | null)[];
  private readonly retryPolicy: RetryPolicy;
  private readonly batcher: WriteBatcher;
  private queue: ClaimedTask[] = [];
  private queueIndex = 0;
  private refilling: Promise<void> | null = null;
  private exhausted = false;
  private stopping = false;
  private modelCalls = 0;
  private rejected = 0;

  constructor(private readonly input: EngineInput) {
    this.untilIndex = stageIndex(input.untilStage);
    this.deadlines = new DeadlineSignals(this.cancelController.signal, input.runtime.timeoutMs);
    this.global = new Semaphore(input.runtime.concurrency);
    this.perModel = input.models.map((model) => (model.concurrency ? new Semaphore(model.concurrency) : null));
    this.retryPolicy = { maxAttempts: input.runtime.maxAttempts, baseDelayMs: input.runtime.retryBaseDelayMs, maxDelayMs: input.runtime.retryMaxDelayMs };
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
      await this.drain();
      await this.batcher.flush();
      interrupted = this.stopping;
    } finally {
      clearInterval(heartbeat);
      this.input.stopSignal?.removeEventListener('abort', onStop);
      this.input.cancelSignal?.removeEventListener('abort', onCancel);
      this.deadlines.dispose();
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
    return histogram.reduce((sum, row) => (row.nextStage <= this.untilIndex && !row.failed ? sum + row.count : sum), 0);
  }

  private async worker(): Promise<void> {
    for (;;) {
      const task = await this.nextTask();
      if (!task) return;
      await this.processTask(task);
    }
  }

  private nextTask(): ClaimedTask | undefined | Promise<ClaimedTask | undefined> {
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
        untilStage: this.input.untilStage,
        limit: Math.min(4096, Math.max(64, this.input.runtime.concurrency * 4)),
        leaseMs: this.input.runtime.leaseMs,
      });
      this.queue = claimed;
      this.queueIndex = 0;
      if (claimed.length === 0) this.exhausted = true;
    })().finally(() => {
      this.refilling = null;
    });
    return this.refilling;
  }

  private async processTask(claimed: ClaimedTask): Promise<void> {
    const { pipeline } = this.input;
    const task = this.input.task(claimed.ord);
    let stage = claimed.nextStage;
    let candidates: CandidateView[] | null = null;
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
        if (claimed.candidateSeqs[sample] == null) pending.push(this.generateSample(task, sample));
      }
      const results = pending.length === 1 ? [await pending[0]!] : await Promise.all(pending);
      let failed = false;
      for (const result of results) {
        if (!result.ok) {
          if (result.cancelled) return this.finishTask(task, [], 'cancelled');
          failed = true;
        }
      }
      if (failed) return this.finishTask(task, [], 'failed');
      candidates = [];
      let fresh = 0;
      for (let sample = 0; sample < pipeline.samples; sample++) {
        const candidate = existing[sample] ?? (results[fresh++] as { candidate: StoredCandidate }).candidate;
        candidates.push({ sample, text: candidate.text });
      }
      stage = REDUCE;
    }

    const events: TaskEvent[] = [];
    const ord = task.ord;
    while (stage <= this.untilIndex && stage < DONE_INDEX) {
      let event: TaskEvent;
      switch (stage) {
        case REDUCE: {
          const result = runReduce(ord, this.input.reducer, this.input.parser, candidates ?? []);
          event = result.event;
          reduced = result.reduced;
          break;
        }
        case PARSE:
          event = runParse(ord, this.input.parser, reduced?.text ?? '');
          if (event.type === 'parse-completed') parsed = event.payload.outcome;
          break;
        case SCORE: {
          const item = this.input.items[task.itemOrd]!;
          event = runScore(ord, this.input.metrics, parsed ?? { ok: false, reason: 'not parsed' }, item.target, reduced?.text ?? '');
          break;
        }
        default:
          event = runJudge(ord);
      }
      events.push(event);
      if (event.type.endsWith('-failed')) {
        this.input.tracker.recordFailure((event.payload as { failure: FailureRecord }).failure.category);
        return this.finishTask(task, events, 'failed');
      }
      stage = stageAfter(stage, pipeline);
    }
    return this.finishTask(task, events, 'completed');
  }

  /** Hands a task's last events to the batcher with its lease release. A cancelled task stays pending. */
  private finishTask(task: TaskDescriptor, events: readonly TaskEvent[], outcome: TaskOutcome['outcome']): Promise<void> | undefined {
    return this.batcher.push(events, { ord: task.ord, modelIndex: task.modelIndex, outcome });
  }

  private async generateSample(task: TaskDescriptor, sample: number): Promise<SampleResult> {
    const { model, params } = this.input.models[task.modelIndex]!;
    const item = this.input.items[task.itemOrd]!;
    const prompt = this.input.prompts[task.promptIndex]!;
    const seed = callSeed(this.input.seed, task.key, sample);
    const gate = this.perModel[task.modelIndex] ?? null;
    const attempts: AttemptRecord[] = [];
    for (let attempt = 1; ; attempt++) {
      const signal = this.deadlines.signal();
      const waitModel = gate?.acquire();
      if (waitModel) await waitModel;
      const waitGlobal = this.global.acquire();
      if (waitGlobal) await waitGlobal;
      if (signal.aborted && this.cancelController.signal.aborted) {
        this.releaseSlot(gate);
        return { ok: false, cancelled: true };
      }
      let result: GenerateResult | undefined;
      let error: ProviderCallError | undefined;
      try {
        this.modelCalls++;
        result = await model.doGenerate(buildGenerateRequest(prompt, item, params, seed, signal));
      } catch (thrown) {
        error = classifyProviderError(thrown, (text) => text, signal);
      }
      if (result) {
        // The call keeps its slot until its answer is committed: calls in flight plus answers not yet durable
        // never exceed the concurrency, which bounds what a kill -9 can make us pay for twice.
        this.batcher.push([{ taskOrd: task.ord, type: 'generate-completed', payload: { sample, candidate: result } }], undefined, () =>
          this.releaseSlot(gate),
        );
        return { ok: true, candidate: result };
      }
      this.releaseSlot(gate);
      error ??= classifyProviderError(new Error('the model returned nothing'), (text) => text, signal);
      if (this.cancelController.signal.aborted) return { ok: false, cancelled: true };
      const retry = shouldRetry(this.retryPolicy, attempt, error);
      const delayMs = retry ? retryDelayMs(this.retryPolicy, attempt, error) : undefined;
      attempts.push({
        attempt,
        category: error.category,
        message: error.message,
        ...(error.status !== undefined ? { status: error.status } : {}),
        ...(delayMs !== undefined ? { delayMs } : {}),
        at: new Date().toISOString(),
      });
      if (!retry) {
        const failure: FailureRecord = { category: error.category, message: error.message, attempts };
        this.input.tracker.recordFailure(error.category);
        this.batcher.push([{ taskOrd: task.ord, type: 'generate-failed', payload: { sample, failure } }]);
        return { ok: false, cancelled: false };
      }
      this.input.tracker.recordRetry();
      try {
        await sleep(delayMs, undefined, { signal: this.cancelController.signal });
      } catch {
        return { ok: false, cancelled: true };
      }
    }
  }

  private releaseSlot(gate: Semaphore | null): void {
    this.global.release();
    gate?.release();
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
    const histogram = await store.getStageHistogram(runId);
    const reached = completedThroughStage(histogram);
    const failed = histogram.reduce((sum, row) => (row.failed ? sum + row.count : sum), 0);
    const pending = histogram.reduce((sum, row) => (row.nextStage <= this.untilIndex && !row.failed ? sum + row.count : sum), 0);
    const othersActive = (await store.listOwners(runId)).length > 0;
    let status: RunStatus;
    if (othersActive) status = 'running';
    else if (interrupted || pending > 0) status = 'interrupted';
    else if (failed > 0) status = 'partial';
    else status = 'completed';
    await store.setRunStatus(runId, status, reached);
    if (interrupted) await store.appendRunEvent(runId, 'run-interrupted', { owner: this.owner, reason: 'stopped by the user' });
    else await store.appendRunEvent(runId, 'run-finished', { status, completedThroughStage: reached });
    return { status, completedThroughStage: reached, interrupted, modelCalls: this.modelCalls, rejected: this.rejected };
  }
}
