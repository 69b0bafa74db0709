import type { FailureCategory } from '../spec/failure.js';

export interface ModelProgress {
  readonly modelId: string;
  readonly total: number;
  readonly completed: number;
  readonly failed: number;
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
  readonly failuresByCategory: Readonly<Partial<Record<FailureCategory, number>>>;
  readonly models: readonly ModelProgress[];
  readonly stopping: boolean;
}

const RATE_WINDOW_MS = 10_000;

/** Counts committed task outcomes and derives rate and ETA from a sliding window. */
export class ProgressTracker {
  private completed: number;
  private failed = 0;
  private sessionFinished = 0;
  private retries = 0;
  private readonly startedAt = Date.now();
  private readonly samples: { at: number; finished: number }[] = [];
  private readonly perModel: { completed: number; failed: number }[];
  private readonly failures: Partial<Record<FailureCategory, number>> = {};
  stopping = false;

  constructor(
    private readonly runId: string,
    private readonly total: number,
    alreadyDone: number,
    private readonly modelTotals: readonly { modelId: string; total: number; completed: number }[],
  ) {
    this.completed = alreadyDone;
    this.perModel = modelTotals.map((model) => ({ completed: model.completed, failed: 0 }));
  }

  recordFinished(modelIndex: number, outcome: 'completed' | 'failed'): void {
    const model = this.perModel[modelIndex];
    if (outcome === 'completed') {
      this.completed++;
      if (model) model.completed++;
    } else {
      this.failed++;
      if (model) model.failed++;
    }
    this.sessionFinished++;
  }

  recordFailure(category: FailureCategory): void {
    this.failures[category] = (this.failures[category] ?? 0) + 1;
  }

  recordRetry(): void {
    this.retries++;
  }

  snapshot(now = Date.now()): ProgressSnapshot {
    this.samples.push({ at: now, finished: this.sessionFinished });
    while (this.samples.length > 2 && now - this.samples[0]!.at > RATE_WINDOW_MS) this.samples.shift();
    const oldest = this.samples[0]!;
    const windowSeconds = (now - oldest.at) / 1000;
    const elapsedSeconds = (now - this.startedAt) / 1000;
    const rate =
      windowSeconds >= 1 ? (this.sessionFinished - oldest.finished) / windowSeconds : elapsedSeconds > 0 ? this.sessionFinished / elapsedSeconds : 0;
    const remaining = Math.max(0, this.total - this.completed - this.failed);
    return {
      runId: this.runId,
      total: this.total,
      completed: this.completed,
      failed: this.failed,
      sessionFinished: this.sessionFinished,
      ratePerSecond: rate,
      etaSeconds: rate > 0 ? remaining / rate : remaining === 0 ? 0 : null,
      elapsedSeconds,
      retries: this.retries,
      failuresByCategory: { ...this.failures },
      models: this.modelTotals.map((model, index) => ({
        modelId: model.modelId,
        total: model.total,
        completed: this.perModel[index]!.completed,
        failed: this.perModel[index]!.failed,
      })),
      stopping: this.stopping,
    };
  }
}
