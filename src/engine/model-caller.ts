import { promptLength } from '../core/prompt-render.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { classifyProviderError, ProviderCallError } from '../providers/call-error.js';
import type { CallRecord } from '../spec/event.js';
import type { Stage } from '../spec/stage.js';
import type { TokenUsage } from '../spec/model.js';
import type { AttemptRecord, FailureRecord } from '../spec/failure.js';
import type { GenerateRequest, GenerateResult, LanguageModel } from '../spec/model.js';
import { CallCancelled, ModelCallFailed, type EvaluatorCall, type PluginContext } from '../spec/plugin-context.js';
import { DeadlineSignals } from './deadline-signals.js';
import type { ProgressTracker } from './progress-tracker.js';
import { retryDelayMs, shouldRetry, type RetryPolicy } from './retry-policy.js';
import { ModelGate } from './model-gate.js';
import type { FleetLimits } from './fleet-limits.js';
import type { ModelBreaker } from './model-breaker.js';
import { Semaphore } from './semaphore.js';

export interface CallableModel {
  readonly model: LanguageModel;
  readonly params: GenerateRequest['params'];
  /** Per-model cap on calls in flight, on top of the global one. */
  readonly concurrency: number | undefined;
  /** Halve the model's concurrency on a 429 and grow it back (default true). */
  readonly adaptiveConcurrency?: boolean;
  readonly rateLimit?: { readonly requestsPerMinute?: number | undefined; readonly tokensPerMinute?: number | undefined; readonly windowSeconds: number } | undefined;
}

/** What a call is expected to use, for the tokens-per-minute limit: prompt characters / 4, plus the output cap. */
export function estimateTokens(request: Pick<GenerateRequest, 'system' | 'prompt' | 'params'>): number {
  return Math.ceil(promptLength(request) / 4) + (request.params.maxTokens ?? 256);
}

/** Leave to spend on one call: settled with what the call used (null when it failed and used nothing). */
export interface AdmissionTicket {
  settle(usage: TokenUsage | null): void;
}

/**
 * The last check before a call goes out, once its slots are held: may this task still call a model (its lease
 * is held and recent), and does the spending cap leave room for it? A refusal gives the task back.
 */
export interface CallAdmission {
  admit(ord: number, modelId: string, request: Pick<GenerateRequest, 'system' | 'prompt' | 'params'>): AdmissionTicket | null | Promise<AdmissionTicket | null>;
}

const FREE_TICKET: AdmissionTicket = { settle: () => undefined };

/** Admits every call (no leases to keep, no cap): for callers outside a run, and tests. */
export const OPEN_ADMISSION: CallAdmission = { admit: () => FREE_TICKET };

/** One reply of a model: what was recorded, what came back, and whether the caller accepted it. */
export interface ModelReply {
  readonly record: CallRecord;
  readonly result: GenerateResult;
  readonly accepted: boolean;
}

export interface CallOptions {
  /** The task the call is for (its lease is checked before every attempt). */
  readonly ord: number;
  readonly accept?: (result: GenerateResult) => string | null;
  /** Every reply, accepted or not (each was paid for). */
  readonly onReply?: (reply: ModelReply) => void;
}

export type CallOutcome =
  | { readonly ok: true; readonly result: GenerateResult; readonly release: () => void; readonly failedAttempts: readonly AttemptRecord[] }
  | { readonly ok: false; readonly cancelled: true }
  | { readonly ok: false; readonly cancelled: false; readonly failure: FailureRecord };

/**
 * Every model call of a run goes through here: a global concurrency limit and one per model, a timeout per
 * call, retries with backoff that honour Retry-After, and a record of every attempt. A failure that is not
 * worth retrying, or the last one, comes back as data.
 */
export class ModelCaller {
  private readonly global: Semaphore;
  private readonly gates = new Map<string, ModelGate>();
  private readonly deadlines: DeadlineSignals;
  calls = 0;

  constructor(
    private readonly models: ReadonlyMap<string, CallableModel>,
    concurrency: number,
    timeoutMs: number,
    private readonly retryPolicy: RetryPolicy,
    private readonly cancel: AbortSignal,
    private readonly tracker: ProgressTracker,
    private readonly admission: CallAdmission = OPEN_ADMISSION,
    private readonly breaker: ModelBreaker | null = null,
    private readonly fleet: FleetLimits | null = null,
  ) {
    this.global = new Semaphore(concurrency);
    this.deadlines = new DeadlineSignals(cancel, timeoutMs);
    for (const [id, model] of models) {
      this.gates.set(
        id,
        new ModelGate({
          maxConcurrency: model.concurrency ?? concurrency,
          adaptive: model.adaptiveConcurrency ?? true,
          requestsPerWindow: model.rateLimit?.requestsPerMinute,
          tokensPerWindow: model.rateLimit?.tokensPerMinute,
          windowMs: (model.rateLimit?.windowSeconds ?? 60) * 1000,
        }),
      );
    }
  }

  /**
   * Calls a model until it answers acceptably or the attempts run out. On success the call's slot is still
   * held: `release` gives it back (the engine does so once the answer is durable).
   */
  async call(modelId: string, request: Omit<GenerateRequest, 'signal'>, options: CallOptions): Promise<CallOutcome> {
    const { accept, onReply } = options;
    const entry = this.models.get(modelId);
    if (!entry) throw new Error(`no model '${modelId}' in this run`);
    const gate = this.gates.get(modelId)!;
    const attempts: AttemptRecord[] = [];
    const estimate = estimateTokens(request);
    if (entry.model.prepare) await this.prepared(modelId, entry.model);
    for (let attempt = 1; ; attempt++) {
      const signal = this.deadlines.signal();
      const pendingPermit = gate.acquire(estimate);
      const permit = pendingPermit instanceof Promise ? await pendingPermit : pendingPermit;
      const waitGlobal = this.global.acquire();
      if (waitGlobal) await waitGlobal;
      let used: number | undefined;
      const release = () => {
        this.global.release();
        permit.release(used);
      };
      if (this.cancel.aborted || this.breaker?.isDown(modelId)) {
        release();
        return { ok: false, cancelled: true };
      }
      const pendingTicket = this.admission.admit(options.ord, modelId, request);
      const ticket = pendingTicket instanceof Promise ? await pendingTicket : pendingTicket;
      if (ticket === null || this.cancel.aborted) {
        ticket?.settle(null);
        release();
        return { ok: false, cancelled: true };
      }
      if (this.fleet) {
        // Last, right before the call: a fleet permit is valid only briefly (see FleetLimits).
        const pendingFleet = this.fleet.acquire(modelId, estimate, this.cancel);
        const admitted = pendingFleet instanceof Promise ? await pendingFleet : pendingFleet;
        if (!admitted || this.cancel.aborted) {
          ticket.settle(null);
          release();
          return { ok: false, cancelled: true };
        }
      }
      let error: ProviderCallError | undefined;
      let result: GenerateResult | undefined;
      try {
        this.calls++;
        result = await entry.model.doGenerate({ ...request, signal });
      } catch (thrown) {
        error = classifyProviderError(thrown, (text) => text, signal);
      }
      ticket.settle(result?.usage ?? null);
      if (result) {
        const { inputTokens, outputTokens } = result.usage;
        if (inputTokens !== null || outputTokens !== null) used = (inputTokens ?? 0) + (outputTokens ?? 0);
        this.tracker.recordUsage(modelId, result.usage);
        const refusal = accept?.(result) ?? null;
        // Every reply is recorded (its tokens were paid for); the accepted one carries the attempts before it.
        const record: CallRecord = { model: modelId, usage: result.usage, latencyMs: result.latencyMs, ...(refusal === null && attempts.length > 0 ? { failedAttempts: [...attempts] } : {}) };
        onReply?.({ record, result, accepted: refusal === null });
        if (refusal === null) {
          gate.succeeded();
          this.breaker?.succeeded(modelId);
          return { ok: true, result, release, failedAttempts: attempts };
        }
        error = new ProviderCallError({ category: 'invalid_response', message: refusal, retryable: true });
      }
      release();
      if (this.cancel.aborted) return { ok: false, cancelled: true };
      const failure = error!;
      const retry = shouldRetry(this.retryPolicy, attempt, failure);
      const delayMs = retry ? retryDelayMs(this.retryPolicy, attempt, failure) : undefined;
      // A rate limit holds back every call to this model, not just this one, and lowers its concurrency.
      if (failure.category === 'rate_limit') {
        const pauseMs = delayMs ?? failure.retryAfterMs ?? this.retryPolicy.baseDelayMs;
        gate.rateLimited(pauseMs, permit.startedAt);
        // ... and, through the store, every other process's calls to it.
        this.fleet?.rateLimited(modelId, pauseMs);
      }
      attempts.push({
        attempt,
        category: failure.category,
        message: failure.message,
        ...(failure.status !== undefined ? { status: failure.status } : {}),
        ...(delayMs !== undefined ? { delayMs } : {}),
        at: new Date().toISOString(),
      });
      if (!retry) {
        this.tracker.recordFailure(failure.category, modelId);
        this.breaker?.failed(modelId, failure);
        return { ok: false, cancelled: false, failure: { category: failure.category, message: failure.message, attempts } };
      }
      this.tracker.recordRetry();
      try {
        await sleep(delayMs, undefined, { signal: this.cancel });
      } catch {
        return { ok: false, cancelled: true };
      }
    }
  }

  private readonly preparing = new Map<string, Promise<void>>();

  /** A model's one-time preparation, shared by all its calls. */
  private prepared(modelId: string, model: LanguageModel): Promise<void> {
    let pending = this.preparing.get(modelId);
    if (!pending) {
      pending = model.prepare!().catch(() => undefined); // a failure to load shows up, categorized, on the call itself
      this.preparing.set(modelId, pending);
    }
    return pending;
  }

  /**
   * One evaluator call with the engine's retries, for a task. On success the call's slot is still held:
   * `release` gives it back (the task context does so once the reply is durable).
   */
  async callEvaluator(modelId: string, request: Omit<GenerateRequest, 'signal'>, options: CallOptions): Promise<{ result: GenerateResult; failedAttempts: readonly AttemptRecord[]; release: () => void }> {
    const outcome = await this.call(modelId, request, options);
    if (outcome.ok) return outcome;
    if (outcome.cancelled) throw new CallCancelled();
    throw new ModelCallFailed(outcome.failure);
  }

  /** The generation parameters of a model, which an evaluator call's own parameters extend. */
  paramsOf(modelId: string): GenerateRequest['params'] | undefined {
    return this.models.get(modelId)?.params;
  }

  get cancelSignal(): AbortSignal {
    return this.cancel;
  }

  /** Splits each model's own concurrency limit among the live processes of the run (each keeps at least 1). */
  shareConcurrency(liveProcesses: number): void {
    for (const [id, model] of this.models) {
      if (model.concurrency !== undefined) this.gates.get(id)!.share(model.concurrency / Math.max(1, liveProcesses));
    }
  }

  /** The current (adaptive) concurrency limit of each model. */
  limits(): Record<string, number> {
    return Object.fromEntries([...this.gates].map(([id, gate]) => [id, gate.limit]));
  }

  dispose(): void {
    this.deadlines.dispose();
    for (const gate of this.gates.values()) gate.dispose();
  }
}

