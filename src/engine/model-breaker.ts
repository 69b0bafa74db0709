import type { FailureCategory } from '../spec/failure.js';

/** Why a model stopped being called: the failures that tripped its breaker and the first one's message. */
export interface ModelDown {
  readonly model: string;
  readonly category: FailureCategory;
  /** HTTP status of the first failure, when there was one. */
  readonly status?: number;
  readonly message: string;
  /** Calls that failed this way in a row (with no success from this model in this session). */
  readonly failures: number;
}

/**
 * A call failure that no retry or later task will fix while nothing changes: the server cannot be reached, the
 * key is refused, or the model or URL does not exist.
 */
export function isUnreachable(category: FailureCategory, status: number | undefined): boolean {
  if (category === 'connection') return true;
  return category === 'client_error' && (status === 401 || status === 403 || status === 404);
}

/**
 * Trips when a model's last `threshold` calls (each after its own retries) all failed unreachable while none
 * of its calls in this session has succeeded: then every remaining task would fail the same way, so the run
 * should stop and say why. A success disarms it for the session. A threshold of 0 never trips.
 */
export class ModelBreaker {
  private readonly state = new Map<string, { succeeded: boolean; streak: number; first: Omit<ModelDown, 'failures' | 'model'> | null; tripped: boolean }>();

  constructor(
    private readonly threshold: number,
    private readonly onTrip: (down: ModelDown) => void,
  ) {}

  private of(model: string) {
    let entry = this.state.get(model);
    if (!entry) this.state.set(model, (entry = { succeeded: false, streak: 0, first: null, tripped: false }));
    return entry;
  }

  succeeded(model: string): void {
    const entry = this.of(model);
    entry.succeeded = true;
    entry.streak = 0;
    entry.first = null;
  }

  /** A call that failed for good (its retries spent, or not worth retrying). */
  failed(model: string, failure: { category: FailureCategory; status?: number; message: string }): void {
    const entry = this.of(model);
    if (entry.succeeded || this.threshold === 0) return;
    if (!isUnreachable(failure.category, failure.status)) {
      entry.streak = 0;
      entry.first = null;
      return;
    }
    entry.streak++;
    entry.first ??= { category: failure.category, message: failure.message, ...(failure.status !== undefined ? { status: failure.status } : {}) };
    if (entry.streak >= this.threshold && !entry.tripped) {
      entry.tripped = true;
      this.onTrip({ model, failures: entry.streak, ...entry.first });
    }
  }

  /** Whether the model's breaker has tripped: its calls are not made. */
  isDown(model: string): boolean {
    return this.state.get(model)?.tripped ?? false;
  }
}
