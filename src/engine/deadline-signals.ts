import { setMaxListeners } from 'node:events';

/**
 * Abort signals for model calls that end when the run is cancelled or when the call's timeout passes.
 * Creating a timer and a combined signal for every call costs more than the call itself with a local model,
 * so calls started within the same `granularityMs` share one signal: a timeout fires between
 * `timeoutMs` and `timeoutMs + granularityMs` after the call started.
 */
export class DeadlineSignals {
  private current: { controller: AbortController; createdAt: number } | null = null;
  private readonly live = new Map<AbortController, NodeJS.Timeout>();

  constructor(
    private readonly cancel: AbortSignal,
    private readonly timeoutMs: number,
    private readonly granularityMs = 1000,
  ) {
    cancel.addEventListener(
      'abort',
      () => {
        for (const [controller, timer] of this.live) {
          clearTimeout(timer);
          controller.abort(cancel.reason);
        }
        this.live.clear();
        this.current = null;
      },
      { once: true },
    );
  }

  signal(): AbortSignal {
    if (this.cancel.aborted) return this.cancel;
    const now = Date.now();
    if (this.current && now - this.current.createdAt < this.granularityMs) return this.current.controller.signal;
    const controller = new AbortController();
    // Every call of the interval listens to this one signal: that is the point, not a leak.
    setMaxListeners(0, controller.signal);
    const timer = setTimeout(() => {
      this.live.delete(controller);
      controller.abort(new DOMException(`the model call took longer than ${this.timeoutMs} ms`, 'TimeoutError'));
    }, this.timeoutMs + this.granularityMs);
    timer.unref();
    this.live.set(controller, timer);
    this.current = { controller, createdAt: now };
    return controller.signal;
  }

  dispose(): void {
    for (const timer of this.live.values()) clearTimeout(timer);
    this.live.clear();
    this.current = null;
  }
}
