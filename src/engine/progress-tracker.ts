import type { PriceBook, Usage } from '../core/cost.js';
import type { FailureCategory } from '../spec/failure.js';

type Failures = Partial<Record<FailureCategory, number>>;

export interface ModelProgress {
  readonly modelId: string;
  /** Tasks of this model (0 for evaluator models, which have none). */
  readonly total: number;
  readonly completed: number;
  readonly failed: number;
  readonly ratePerSecond: number;
  readonly etaSeconds: number | null;
  readonly calls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** USD spent in this session, or null when the model's price is unknown. */
  readonly cost: number | null;
  readonly failuresByCategory: Failures;
  /** The current (adaptive) concurrency limit, when known. */
  readonly concurrency: number | null;
}

/** What a progress display needs, at one instant. Counts include work done before this session. */
export interface ProgressSnapshot {
  readonly runId: string;
  readonly total: number;
  readonly completed: number;
  readonly failed: number;
  /** Finished in this session (completed + failed). */
  readonly sessionFinished: number;
  /** Tasks finished per second over the last few seconds of this session. */
  readonly ratePerSecond: number;
  /** Seconds until the remaining tasks finish at the current rate, or null before a rate is known. */
  readonly etaSeconds: number | null;
  readonly elapsedSeconds: number;
  readonly retries: number;
  readonly failuresByCategory: Failures;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** USD spent in this session; null when some model's price is unknown and it was called. */
  readonly cost: number | null;
  readonly models: readonly ModelProgress[];
  readonly stopping: boolean;
}

const RATE_WINDOW_MS = 10_000;

class RateWindow {
  private readonly samples: { at: number; count: number }[] = [];

  rate(now: number, count: number, startedAt: number): number {
    this.samples.push({ at: now, count });
    while (this.samples.length > 2 && now - this.samples[0]!.at > RATE_WINDOW_MS) this.samples.shift();
    const oldest = this.samples[0]!;
    const windowSeconds = (now - oldest.at) / 1000;
    if (windowSeconds >= 1) return (count - oldest.count) / windowSeconds;
    const elapsed = (now - startedAt) / 1000;
    return elapsed > 0 ? count / elapsed : 0;
  }
}

interface ModelCounters {
  total: number;
  completed: number;
  failed: number;
  finished: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cost: number | null;
  failures: Failures;
  readonly window: RateWindow;
}

/** Counts committed task outcomes, calls, tokens and cost, overall and per model; derives rates and ETAs. */
export class ProgressTracker {
  private completed: number;
  private failed = 0;
  private sessionFinished = 0;
  private retries = 0;
  private readonly startedAt = Date.now();
  private readonly window = new RateWindow();
  private readonly models = new Map<string, ModelCounters>();
  private readonly answering: string[];
  private readonly failures: Failures = {};
  private limits: () => Record<string, number> = () => ({});
  stopping = false;

  constructor(
    private readonly runId: string,
    private readonly total: number,
    alreadyDone: number,
    answeringModels: readonly { modelId: string; total: number; completed: number }[],
    private readonly prices: PriceBook,
  ) {
    this.completed = alreadyDone;
    this.answering = answeringModels.map((model) => model.modelId);
    for (const model of answeringModels) this.counters(model.modelId).total = model.total;
    for (const model of answeringModels) this.counters(model.modelId).completed = model.completed;
  }

  private counters(modelId: string): ModelCounters {
    let counters = this.models.get(modelId);
    if (!counters) {
      counters = { total: 0, completed: 0, failed: 0, finished: 0, calls: 0, inputTokens: 0, outputTokens: 0, cost: 0, failures: {}, window: new RateWindow() };
      this.models.set(modelId, counters);
    }
    return counters;
  }

  /** Lets the display show each model's current (adaptive) concurrency. */
  watchLimits(limits: () => Record<string, number>): void {
    this.limits = limits;
  }

  recordFinished(modelIndex: number, outcome: 'completed' | 'failed'): void {
    const model = this.counters(this.answering[modelIndex] ?? `#${modelIndex}`);
    if (outcome === 'completed') {
      this.completed++;
      model.completed++;
    } else {
      this.failed++;
      model.failed++;
    }
    model.finished++;
    this.sessionFinished++;
  }

  recordUsage(modelId: string, usage: Usage): void {
    const model = this.counters(modelId);
    model.calls++;
    model.inputTokens += usage.inputTokens ?? 0;
    model.outputTokens += usage.outputTokens ?? 0;
    const cost = this.prices.cost(modelId, usage);
    model.cost = model.cost === null || cost === null ? null : model.cost + cost;
  }

  recordFailure(category: FailureCategory, modelId?: string): void {
    this.failures[category] = (this.failures[category] ?? 0) + 1;
    if (modelId !== undefined) {
      const failures = this.counters(modelId).failures;
      failures[category] = (failures[category] ?? 0) + 1;
    }
  }

  recordRetry(): void {
    this.retries++;
  }

  /**
   * Adds what another process reported doing since its last report (`assay run --workers`: the workers'
   * progress in one display). Counts are differences, per model id.
   */
  merge(modelId: string, delta: { completed: number; failed: number; calls: number; inputTokens: number; outputTokens: number; failures: Failures }): void {
    const model = this.counters(modelId);
    this.completed += delta.completed;
    this.failed += delta.failed;
    model.completed += delta.completed;
    model.failed += delta.failed;
    model.finished += delta.completed + delta.failed;
    this.sessionFinished += delta.completed + delta.failed;
    if (delta.calls > 0) {
      model.calls += delta.calls;
      model.inputTokens += delta.inputTokens;
      model.outputTokens += delta.outputTokens;
      const cost = this.prices.cost(modelId, { inputTokens: delta.inputTokens, outputTokens: delta.outputTokens });
      model.cost = model.cost === null || cost === null ? null : model.cost + cost;
    }
    for (const [category, count] of Object.entries(delta.failures) as [FailureCategory, number][]) {
      if (count <= 0) continue;
      this.failures[category] = (this.failures[category] ?? 0) + count;
      model.failures[category] = (model.failures[category] ?? 0) + count;
    }
  }

  mergeRetries(count: number): void {
    this.retries += count;
  }

  snapshot(now = Date.now()): ProgressSnapshot {
    const rate = this.window.rate(now, this.sessionFinished, this.startedAt);
    const remaining = Math.max(0, this.total - this.completed - this.failed);
    const limits = this.limits();
    const models: ModelProgress[] = [...this.models].map(([modelId, model]) => {
      const modelRate = model.window.rate(now, model.finished, this.startedAt);
      const modelRemaining = Math.max(0, model.total - model.completed - model.failed);
      return {
        modelId,
        total: model.total,
        completed: model.completed,
        failed: model.failed,
        ratePerSecond: modelRate,
        etaSeconds: modelRate > 0 ? modelRemaining / modelRate : modelRemaining === 0 ? 0 : null,
        calls: model.calls,
        inputTokens: model.inputTokens,
        outputTokens: model.outputTokens,
        cost: model.calls === 0 ? 0 : model.cost,
        failuresByCategory: { ...model.failures },
        concurrency: limits[modelId] ?? null,
      };
    });
    return {
      runId: this.runId,
      total: this.total,
      completed: this.completed,
      failed: this.failed,
      sessionFinished: this.sessionFinished,
      ratePerSecond: rate,
      etaSeconds: rate > 0 ? remaining / rate : remaining === 0 ? 0 : null,
      elapsedSeconds: (now - this.startedAt) / 1000,
      retries: this.retries,
      failuresByCategory: { ...this.failures },
      inputTokens: models.reduce((sum, model) => sum + model.inputTokens, 0),
      outputTokens: models.reduce((sum, model) => sum + model.outputTokens, 0),
      cost: models.some((model) => model.cost === null) ? null : models.reduce((sum, model) => sum + (model.cost ?? 0), 0),
      models,
      stopping: this.stopping,
    };
  }
}
