import type { TaskEvent } from '../spec/event.js';
import type { Store } from '../spec/store.js';

export interface TaskOutcome {
  readonly ord: number;
  readonly modelIndex: number;
  /** `cancelled`: the task was given back unfinished (its lease is released, nothing counted). */
  readonly outcome: 'completed' | 'failed' | 'cancelled';
}

/** Who writes, as of each flush: the owner id can change when the process registers again after an eviction. */
export interface BatchWriter {
  readonly owner: string;
  /** The fencing token of every lease the writer holds. */
  readonly tokens: ReadonlyMap<number, number>;
  /** Called when the store no longer knows the owner; the batch is retried once afterwards. */
  recover(error: unknown): Promise<void>;
}

export interface WriteBatcherOptions {
  readonly store: Store;
  readonly runId: string;
  readonly writer: BatchWriter;
  /** Flush at once when this many events are waiting. */
  readonly maxEvents: number;
  /** Called after a batch committed: only then do its results count. */
  readonly onCommitted: (outcomes: readonly TaskOutcome[], rejectedOrds: readonly number[]) => void;
  /** Called once, with the error, when the store refuses a batch: nothing more will be written. */
  readonly onFailure: (error: unknown) => void;
}

/**
 * Group commit. Results are queued and written in one transaction per event-loop turn (or sooner when the
 * queue is full), so the store sees a few large transactions instead of one per event. A result is done only
 * once its batch committed; what a crash can lose is at most the last turn's results, the calls still in flight.
 *
 * When the store refuses a batch (a full disk, a lost connection), the batcher stops: it reports the failure
 * once, gives back every slot waiting on durability (so nothing waits for a commit that will never come), and
 * drops whatever is pushed afterwards.
 */
export class WriteBatcher {
  private events: TaskEvent[] = [];
  private releases: number[] = [];
  private outcomes: TaskOutcome[] = [];
  private onDurable: (() => void)[] = [];
  private scheduled = false;
  private inFlight: Promise<void> | null = null;
  private failure: unknown = null;
  private failed = false;
  /** Events committed by this batcher. */
  committedEvents = 0;

  constructor(private readonly options: WriteBatcherOptions) {}

  /**
   * Queues events; `finished` marks the task's last events (its lease is released with them), `onDurable`
   * runs once they are committed (or at once if the store has failed). Returns a promise only when the caller
   * should wait (queue full); it never rejects.
   */
  push(events: readonly TaskEvent[], finished?: TaskOutcome, onDurable?: () => void): Promise<void> | undefined {
    if (this.failed) {
      onDurable?.();
      return undefined;
    }
    for (const event of events) this.events.push(event);
    if (finished) {
      this.releases.push(finished.ord);
      this.outcomes.push(finished);
    }
    if (onDurable) this.onDurable.push(onDurable);
    if (this.events.length >= this.options.maxEvents) return this.flush().catch(() => undefined);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush().catch(() => undefined);
      });
    }
    return undefined;
  }

  /** Writes everything queued so far; rejects if the store refused a batch (now or before). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    if (this.failed) throw this.failure;
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
        const result = await this.append(events, releases);
        this.committedEvents += result.appended;
        this.options.onCommitted(outcomes, result.rejectedOrds);
        for (const callback of onDurable) callback();
      } catch (error) {
        this.fail(error, onDurable);
        throw error;
      } finally {
        this.inFlight = null;
      }
    })();
    await this.inFlight;
  }

  private async append(events: readonly TaskEvent[], release: readonly number[]) {
    const { store, runId, writer } = this.options;
    const request = () => ({ runId, owner: writer.owner, events, release, leases: writer.tokens });
    try {
      return await store.appendEvents(request());
    } catch (error) {
      // Evicted between two heartbeats: register again; the tokens decide which of these tasks are still ours.
      await writer.recover(error);
      return await store.appendEvents(request());
    }
  }

  private fail(error: unknown, waiting: readonly (() => void)[]): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = error;
    const queued = this.onDurable;
    this.events = [];
    this.releases = [];
    this.outcomes = [];
    this.onDurable = [];
    for (const callback of [...waiting, ...queued]) callback();
    this.options.onFailure(error);
  }

  get pending(): number {
    return this.events.length;
  }
}
