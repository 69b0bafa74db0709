export interface ModelGateOptions {
  /** Most calls in flight; adaptive concurrency never goes above it. */
  readonly maxConcurrency: number;
  /** Halve the concurrency on a rate limit and grow it back by one per `limit` successes. */
  readonly adaptive: boolean;
  /** Most call starts within any window. */
  readonly requestsPerWindow?: number | undefined;
  /** Most tokens (estimated at the start, corrected at the end) within any window. */
  readonly tokensPerWindow?: number | undefined;
  readonly windowMs: number;
  readonly now?: () => number;
}

export interface GatePermit {
  /** When the call was admitted (the gate's clock). */
  readonly startedAt: number;
  /** Gives the slot back; `tokens` corrects the window's count with what the call really used. */
  release(tokens?: number): void;
}

/** A FIFO over an array with a moving head: O(1) amortized at both ends. */
class Queue<Value> {
  private items: Value[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  first(): Value | undefined {
    return this.items[this.head];
  }
  push(value: Value): void {
    this.items.push(value);
  }
  shift(): Value | undefined {
    const value = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return value;
  }
}

interface Waiter {
  readonly tokens: number;
  readonly grant: (permit: GatePermit) => void;
}

/**
 * Admission control for one model. A call waits, in arrival order, until a concurrency slot is free, the
 * model is not paused after a rate limit, and the sliding windows have room for one more request and its
 * tokens. The windows are exact: no window of `windowMs` ever holds more than the limits.
 */
export class ModelGate {
  private limitValue: number;
  /** The most calls in flight this process may have: the maximum, or its share of it in a fleet. */
  private ceiling: number;
  private inFlight = 0;
  private successes = 0;
  private pausedUntil = 0;
  /** When the limit was last halved: rate limits on calls admitted before then are the same congestion. */
  private decreasedAt = Number.NEGATIVE_INFINITY;
  private readonly waiters = new Queue<Waiter>();
  private readonly starts = new Queue<number>();
  private readonly spent = new Queue<{ at: number; tokens: number; expired: boolean }>();
  private spentTotal = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly options: ModelGateOptions) {
    this.limitValue = options.maxConcurrency;
    this.ceiling = options.maxConcurrency;
    this.now = options.now ?? Date.now;
  }

  /** The current concurrency limit (lower than the maximum after rate limits). */
  get limit(): number {
    return this.limitValue;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** A permit at once when every condition holds and nobody waits; otherwise a promise of one. */
  acquire(tokens: number): GatePermit | Promise<GatePermit> {
    if (this.waiters.length === 0 && this.admissible(tokens)) return this.admit(tokens);
    return new Promise((grant) => {
      this.waiters.push({ tokens, grant });
      this.pump();
    });
  }

  /**
   * A rate limit from the server: every call to this model waits out the pause, and concurrency halves,
   * once per burst: a 429 on a call admitted before the last halving reports the same overload, so a wave
   * of 429s from one full window halves the limit once, not once per call.
   */
  rateLimited(pauseMs: number, startedAt?: number): void {
    const now = this.now();
    this.pausedUntil = Math.max(this.pausedUntil, now + pauseMs);
    if (this.options.adaptive && (startedAt === undefined || startedAt >= this.decreasedAt)) {
      this.limitValue = Math.max(1, Math.floor(this.limitValue / 2));
      this.successes = 0;
      this.decreasedAt = now;
    }
    this.schedule();
  }

  /**
   * This process's share of the model's concurrency when several processes work the run (at least 1): the
   * limit never goes above it; a larger share lets it grow back (at once without adaptive concurrency).
   */
  share(ceiling: number): void {
    const next = Math.max(1, Math.min(this.options.maxConcurrency, Math.floor(ceiling)));
    if (next === this.ceiling) return;
    const atCeiling = this.limitValue >= this.ceiling;
    this.ceiling = next;
    if (this.limitValue > next || !this.options.adaptive || atCeiling) this.limitValue = next;
    this.pump();
  }

  /** A call succeeded: additive increase, one slot per `limit` successes, back up to the maximum. */
  succeeded(): void {
    if (!this.options.adaptive || this.limitValue >= this.ceiling) return;
    if (++this.successes >= this.limitValue) {
      this.limitValue++;
      this.successes = 0;
      this.pump();
    }
  }

  private admissible(tokens: number): boolean {
    if (this.inFlight >= this.limitValue) return false;
    const now = this.now();
    if (now < this.pausedUntil) return false;
    this.expire(now);
    const { requestsPerWindow, tokensPerWindow } = this.options;
    if (requestsPerWindow !== undefined && this.starts.length >= requestsPerWindow) return false;
    // A call bigger than the whole budget may go alone, or it would wait forever.
    if (tokensPerWindow !== undefined && this.spentTotal > 0 && this.spentTotal + tokens > tokensPerWindow) return false;
    return true;
  }

  private admit(tokens: number): GatePermit {
    const at = this.now();
    this.inFlight++;
    if (this.options.requestsPerWindow !== undefined) this.starts.push(at);
    const entry = { at, tokens, expired: false };
    if (this.options.tokensPerWindow !== undefined) {
      this.spent.push(entry);
      this.spentTotal += tokens;
    }
    let released = false;
    return {
      startedAt: at,
      release: (actual?: number) => {
        if (released) return;
        released = true;
        this.inFlight--;
        if (actual !== undefined && this.options.tokensPerWindow !== undefined && !entry.expired) {
          this.spentTotal += actual - entry.tokens;
          entry.tokens = actual;
        }
        this.pump();
      },
    };
  }

  private expire(now: number): void {
    const horizon = now - this.options.windowMs;
    while (this.starts.length > 0 && this.starts.first()! <= horizon) this.starts.shift();
    while (this.spent.length > 0 && this.spent.first()!.at <= horizon) {
      const entry = this.spent.shift()!;
      entry.expired = true;
      this.spentTotal -= entry.tokens;
    }
  }

  private pump(): void {
    while (this.waiters.length > 0 && this.admissible(this.waiters.first()!.tokens)) {
      const waiter = this.waiters.shift()!;
      waiter.grant(this.admit(waiter.tokens));
    }
    if (this.waiters.length > 0) this.schedule();
  }

  /** Wakes up when the earliest time-based condition (pause, window) can have cleared. */
  private schedule(): void {
    if (this.timer || this.waiters.length === 0) return;
    const now = this.now();
    const candidates = [this.pausedUntil];
    if (this.starts.length > 0) candidates.push(this.starts.first()! + this.options.windowMs);
    if (this.spent.length > 0) candidates.push(this.spent.first()!.at + this.options.windowMs);
    const wake = Math.max(0, Math.min(...candidates.filter((at) => at > now)) - now);
    if (!Number.isFinite(wake)) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, wake + 1);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
