import { setTimeout as sleep } from 'node:timers/promises';
import { classifyProviderError, ProviderCallError } from '../providers/call-error.js';
import type { AttemptRecord, FailureRecord } from '../spec/failure.js';
import type { GenerateRequest, GenerateResult, LanguageModel } from '../spec/model.js';
import { CallCancelled, ModelCallFailed, type EvaluatorCall, type PluginContext } from '../spec/plugin-context.js';
import { DeadlineSignals } from './deadline-signals.js';
import type { ProgressTracker } from './progress-tracker.js';
import { retryDelayMs, shouldRetry, type RetryPolicy } from './retry-policy.js';
import { Semaphore } from './semaphore.js';

export interface CallableModel {
  readonly model: LanguageModel;
  readonly params: GenerateRequest['params'];
  /** Per-model cap on calls in flight, on top of the global one. */
  readonly concurrency: number | undefined;
}

export type CallOutcome =
  | { readonly ok: true; readonly result: GenerateResult; readonly release: () => void }
  | { readonly ok: false; readonly cancelled: true }
  | { readonly ok: false; readonly cancelled: false; readonly failure: FailureRecord };

/**
 * Every model call of a run goes through here: a global concurrency limit and one per model, a timeout per
 * call, retries with backoff that honour Retry-After, and a record of every attempt. A failure that is not
 * worth retrying, or the last one, comes back as data.
 */
export class ModelCaller {
  private readonly global: Semaphore;
  private readonly gates = new Map<string, Semaphore | null>();
  private readonly deadlines: DeadlineSignals;
  calls = 0;

  constructor(
    private readonly models: ReadonlyMap<string, CallableModel>,
    concurrency: number,
    timeoutMs: number,
    private readonly retryPolicy: RetryPolicy,
    private readonly cancel: AbortSignal,
    private readonly tracker: ProgressTracker,
  ) {
    this.global = new Semaphore(concurrency);
    this.deadlines = new DeadlineSignals(cancel, timeoutMs);
    for (const [id, model] of models) this.gates.set(id, model.concurrency ? new Semaphore(model.concurrency) : null);
  }

  /**
   * Calls a model until it answers acceptably or the attempts run out. On success the call's slot is still
   * held: `release` gives it back (the engine does so once the answer is durable).
   */
  async call(modelId: string, request: Omit<GenerateRequest, 'signal'>, accept?: (result: GenerateResult) => string | null): Promise<CallOutcome> {
    const entry = this.models.get(modelId);
    if (!entry) throw new Error(`no model '${modelId}' in this run`);
    const gate = this.gates.get(modelId) ?? null;
    const attempts: AttemptRecord[] = [];
    for (let attempt = 1; ; attempt++) {
      const signal = this.deadlines.signal();
      const waitModel = gate?.acquire();
      if (waitModel) await waitModel;
      const waitGlobal = this.global.acquire();
      if (waitGlobal) await waitGlobal;
      const release = () => {
        this.global.release();
        gate?.release();
      };
      if (this.cancel.aborted) {
        release();
        return { ok: false, cancelled: true };
      }
      let error: ProviderCallError | undefined;
      let result: GenerateResult | undefined;
      try {
        this.calls++;
        result = await entry.model.doGenerate({ ...request, signal });
      } catch (thrown) {
        error = classifyProviderError(thrown, (text) => text, signal);
      }
      if (result) {
        const refusal = accept?.(result) ?? null;
        if (refusal === null) return { ok: true, result, release };
        error = new ProviderCallError({ category: 'invalid_response', message: refusal, retryable: true });
      }
      release();
      if (this.cancel.aborted) return { ok: false, cancelled: true };
      const failure = error!;
      const retry = shouldRetry(this.retryPolicy, attempt, failure);
      const delayMs = retry ? retryDelayMs(this.retryPolicy, attempt, failure) : undefined;
      attempts.push({
        attempt,
        category: failure.category,
        message: failure.message,
        ...(failure.status !== undefined ? { status: failure.status } : {}),
        ...(delayMs !== undefined ? { delayMs } : {}),
        at: new Date().toISOString(),
      });
      if (!retry) {
        this.tracker.recordFailure(failure.category);
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

  /** The context a plugin gets: evaluator calls that throw `ModelCallFailed` or `CallCancelled`. */
  context(input: string | undefined): PluginContext {
    return {
      signal: this.cancel,
      ...(input !== undefined ? { input } : {}),
      callModel: async (modelId: string, call: EvaluatorCall) => {
        const entry = this.models.get(modelId);
        const outcome = await this.call(
          modelId,
          {
            ...(call.system !== undefined ? { system: call.system } : {}),
            prompt: call.prompt,
            params: { ...entry?.params, ...call.params },
            seed: 0,
            ...(call.responseFormat ? { responseFormat: call.responseFormat } : {}),
          },
          call.accept,
        );
        if (outcome.ok) {
          outcome.release();
          return outcome.result;
        }
        if (outcome.cancelled) throw new CallCancelled();
        throw new ModelCallFailed(outcome.failure);
      },
    };
  }

  dispose(): void {
    this.deadlines.dispose();
  }
}
