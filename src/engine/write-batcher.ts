import type { TaskEvent } from '../spec/event.js';
import type { Store } from '../spec/store.js';

export interface TaskOutcome {
  readonly ord: number;
  readonly modelIndex: number;
  /** `cancelled`: the task was given back unfinished (its lease is released, nothing counted). */
  readonly outcome: 'completed' | 'failed' | 'cancelled';
}

export interface WriteBatcherOptions {
  readonly store: Store;
  readonly runId: string;
  readonly owner: string;
  /** Flush at once when this many events are waiting. */
  readonly maxEvents: number;
  /** Called after a batch committed: only then do its results count. */
  readonly onCommitted: (outcomes: readonly TaskOutcome[], rejectedOrds: readonly number[]) => void;
}

/**
 * Group commit. Results are queued and written in one transaction per event-loop turn (or sooner when the
 * queue is full), so the store sees a few large transactions instead of one per event. A result is done only
 * once its batch committed; what a crash can lose is at most the last turn's results, the calls still in flight.
 */
export class WriteBatcher {
  private events: TaskEvent[] = [];
  private releases: number[] = [];
  private outcomes: TaskOutcome[] = [];
  private onDurable: (() => void)[] = [];
  private scheduled = false;
  private inFlight: Promise<void> | null = null;
  private failure: unknown = null;

  constructor(private readonly options: WriteBatcherOptions) {}

  /**
   * Queues events; `finished` marks the task's last events (its lease is released with them), `onDurable`
   * runs once they are committed. Returns a promise only when the caller should wait (queue full).
   */
  push(events: readonly TaskEvent[], finished?: TaskOutcome, onDurable?: () => void): Promise<void> | undefined {
    if (this.failure !== null) throw this.failure;
    for (const event of events) this.events.push(event);
    if (finished) {
      this.releases.push(finished.ord);
      this.outcomes.push(finished);
    }
    if (onDurable) this.onDurable.push(onDurable);
    if (this.events.length >= this.options.maxEvents) return this.flush();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush().catch(() => undefined);
      });
    }
    return undefined;
  }

  /** Writes everything queued so far; rejects if the store refused a batch. */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    if (this.failure !== null) throw this.failure;
    if (this.events.length === 0 && this.releases.length === 0 && this.onDurable.length === 0) return;
    const events = this.events;
    const releases = this.releases;
    const outcomes = this.outcomes;
    const onDurable = this.onDurable;
    this.events = [];
    this.releases = [];
    this.outcomes = [];
    this.onDurable = [];
    this.inFlight = (async () => {
      try {
        const result = await this.options.store.appendEvents({ runId: this.options.runId, owner: this.options.owner, events, release: releases });
        this.options.onCommitted(outcomes, result.rejectedOrds);
        for (const callback of onDurable) callback();
      } catch (error) {
        this.failure = error;
        throw error;
      } finally {
        this.inFlight = null;
      }
    })();
    await this.inFlight;
  }

  get pending(): number {
    return this.events.length;
  }
}
