import { performance } from 'node:perf_hooks';
import type { Store } from '../spec/store.js';
import type { CallableModel } from './model-caller.js';

export interface FleetLimitsOptions {
  readonly store: Store;
  readonly runId: string;
  readonly models: ReadonlyMap<string, CallableModel>;
  /** How often the pauses other processes set and the number of live processes are read (ms). */
  readonly syncMs?: number;
  /** Told the number of live processes on the run after each sync (the engine splits concurrency by it). */
  readonly onOwners?: (live: number) => void;
  /** This process's own elapsed time in ms (monotonic); never compared with the store's or another machine's clock. */
  readonly now?: () => number;
}

interface Waiter {
  readonly tokens: number;
  readonly grant: (admitted: boolean) => void;
}

interface ModelWindow {
  readonly requestLimit: number | null;
  readonly tokenLimit: number | null;
  readonly windowMs: number;
  /** Calls granted by the store and not used yet, each counted for `tokensPer` tokens; void after `validUntil`. */
  permits: number;
  tokensPer: number;
  validUntil: number;
  /** Until when (this process's clock) the fleet has paused the model after a rate limit. */
  pausedUntil: number;
  readonly waiters: Waiter[];
  reserving: boolean;
  timer: NodeJS.Timeout | null;
}

/**
 * The most a grant may wait between the store granting it and the call starting. The store counts a grant
 * for the model's window plus twice this, so calls started within it never put more than the limit into any window
 * of the model's length as the server sees it, whichever process makes them (docs/adr/fleet-limits.md).
 */
export function holdMs(windowMs: number): number {
  return Math.min(1000, Math.max(20, Math.floor(windowMs / 10)));
}

/**
 * This process's side of the limits a whole fleet shares on a run (every process working it, on any machine):
 * requests and tokens per window are granted by the store in blocks (one round trip serves every call waiting
 * for the model at that moment), a rate limit seen here pauses the model for all, and the number of live
 * processes is read so the engine can split a model's concurrency. Models without a request or token limit
 * cost no round trip per call: only a sync every `syncMs`, which brings the pauses others set.
 */
export class FleetLimits {
  private readonly windows = new Map<string, ModelWindow>();
  private readonly now: () => number;
  private syncTimer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;
  private disposed = false;
  /** Store round trips made for grants, for the benchmark. */
  reservations = 0;

  constructor(private readonly options: FleetLimitsOptions) {
    this.now = options.now ?? (() => performance.now());
    for (const [id, model] of options.models) {
      const rate = model.rateLimit;
      this.windows.set(id, {
        requestLimit: rate?.requestsPerMinute ?? null,
        tokenLimit: rate?.tokensPerMinute ?? null,
        windowMs: (rate?.windowSeconds ?? 60) * 1000,
        permits: 0,
        tokensPer: 0,
        validUntil: Number.NEGATIVE_INFINITY,
        pausedUntil: Number.NEGATIVE_INFINITY,
        waiters: [],
        reserving: false,
        timer: null,
      });
    }
  }

  /** Reads pauses and live processes now, then every `syncMs`; a sync that fails is tried again at the next one. */
  start(): Promise<void> {
    this.syncTimer = setInterval(() => void this.sync(), this.options.syncMs ?? 1000);
    this.syncTimer.unref();
    return this.sync();
  }

  private sync(): Promise<void> {
    this.syncing ??= (async () => {
      try {
        const { store, runId } = this.options;
        for (const [model, window] of this.windows) {
          const sentAt = this.now();
          const { retryAfterMs } = await store.reserveCalls({ runId, model, requests: 0, tokensPerRequest: 0, requestLimit: null, tokenLimit: null, windowMs: window.windowMs });
          if (retryAfterMs > 0) window.pausedUntil = Math.max(window.pausedUntil, sentAt + retryAfterMs);
        }
        const owners = await store.listOwners(runId);
        this.options.onOwners?.(Math.max(1, owners.filter((owner) => owner.live).length));
      } catch {
        // The store is busy or gone: the writes will say so; the limits keep their last known state.
      } finally {
        this.syncing = null;
      }
    })();
    return this.syncing;
  }

  /**
   * Waits until one call to the model may start under the fleet's limits: at once (no promise) when the model
   * has no request or token limit and is not paused, or a permit of the last grant is still valid. Resolves
   * false when the signal aborts first. The call must start right away: a permit is valid only briefly.
   */
  acquire(modelId: string, tokens: number, signal: AbortSignal): boolean | Promise<boolean> {
    const window = this.windows.get(modelId);
    if (!window) return true;
    const now = this.now();
    const limited = window.requestLimit !== null || window.tokenLimit !== null;
    if (window.waiters.length === 0 && now >= window.pausedUntil) {
      if (!limited) return true;
      if (window.permits > 0 && now < window.validUntil && tokens <= window.tokensPer) {
        window.permits--;
        return true;
      }
    }
    return new Promise<boolean>((resolve) => {
      const onAbort = () => {
        const index = window.waiters.indexOf(waiter);
        if (index >= 0) window.waiters.splice(index, 1);
        resolve(false);
      };
      const waiter: Waiter = {
        tokens,
        grant: (admitted) => {
          signal.removeEventListener('abort', onAbort);
          resolve(admitted);
        },
      };
      if (signal.aborted) return resolve(false);
      signal.addEventListener('abort', onAbort, { once: true });
      window.waiters.push(waiter);
      this.pump(modelId, window);
    });
  }

  /** A rate limit here: the model is paused for this process at once and, through the store, for every other. */
  rateLimited(modelId: string, pauseMs: number): void {
    const window = this.windows.get(modelId);
    if (!window || pauseMs <= 0) return;
    window.pausedUntil = Math.max(window.pausedUntil, this.now() + pauseMs);
    window.permits = 0;
    this.options.store.pauseModel(this.options.runId, modelId, pauseMs).catch(() => undefined);
  }

  private pump(modelId: string, window: ModelWindow): void {
    if (this.disposed || window.reserving || window.timer || window.waiters.length === 0) return;
    const now = this.now();
    if (now < window.pausedUntil) return this.wake(modelId, window, window.pausedUntil - now);
    const limited = window.requestLimit !== null || window.tokenLimit !== null;
    if (!limited) {
      this.serve(window, Number.POSITIVE_INFINITY);
      return;
    }
    // Permits of the last grant first, while they are valid and large enough.
    if (window.permits > 0 && now < window.validUntil) this.serve(window, window.permits);
    if (window.waiters.length === 0) return;
    window.permits = 0;
    void this.reserve(modelId, window);
  }

  /** Grants waiters in order, up to `count`, while each fits the permits' token size. */
  private serve(window: ModelWindow, count: number): number {
    let served = 0;
    const limited = window.requestLimit !== null || window.tokenLimit !== null;
    while (served < count && window.waiters.length > 0 && (!limited || window.waiters[0]!.tokens <= window.tokensPer)) {
      window.waiters.shift()!.grant(true);
      served++;
    }
    if (limited) window.permits = Math.max(0, window.permits - served);
    return served;
  }

  /** One round trip for every call waiting on the model now (at most a fair share of the window). */
  private async reserve(modelId: string, window: ModelWindow): Promise<void> {
    window.reserving = true;
    let retryAfterMs = 0;
    try {
      const wanted = window.waiters.length;
      const share = window.requestLimit !== null ? Math.max(1, Math.floor(window.requestLimit / 4)) : wanted;
      const requests = Math.min(wanted, share);
      const tokensPer = Math.max(...window.waiters.slice(0, requests).map((waiter) => waiter.tokens));
      const sentAt = this.now();
      const hold = holdMs(window.windowMs);
      this.reservations++;
      const grant = await this.options.store.reserveCalls({
        runId: this.options.runId,
        model: modelId,
        requests,
        tokensPerRequest: tokensPer,
        requestLimit: window.requestLimit,
        tokenLimit: window.tokenLimit,
        // Twice the hold: once for the time a caller may take to use a grant, once as a margin for the time a
        // request takes to reach the server (which counts arrivals), so jitter there cannot fill a window twice.
        windowMs: window.windowMs + 2 * hold,
      });
      window.permits = grant.granted;
      window.tokensPer = tokensPer;
      // Valid from when the request was sent: never later than the store's grant plus the hold.
      window.validUntil = sentAt + hold;
      if (grant.granted === 0 && grant.retryAfterMs > 0 && window.requestLimit === null && window.tokenLimit === null) window.pausedUntil = sentAt + grant.retryAfterMs;
      this.serve(window, grant.granted);
      retryAfterMs = grant.granted < requests ? grant.retryAfterMs : 0;
    } catch {
      retryAfterMs = 1000; // the store is busy or gone: ask again shortly (its writes will report a real failure)
    } finally {
      window.reserving = false;
    }
    if (retryAfterMs > 0) this.wake(modelId, window, retryAfterMs);
    else this.pump(modelId, window);
  }

  private wake(modelId: string, window: ModelWindow, afterMs: number): void {
    if (window.timer || this.disposed) return;
    window.timer = setTimeout(() => {
      window.timer = null;
      this.pump(modelId, window);
    }, Math.max(1, Math.ceil(afterMs)));
  }

  /** Stops syncing and lets every waiting call go (as not admitted). */
  dispose(): void {
    this.disposed = true;
    if (this.syncTimer) clearInterval(this.syncTimer);
    for (const window of this.windows.values()) {
      if (window.timer) clearTimeout(window.timer);
      window.timer = null;
      for (const waiter of window.waiters.splice(0)) waiter.grant(false);
    }
  }
}
