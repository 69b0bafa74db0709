import { afterEach, describe, expect, it, vi } from 'vitest';
import { ModelGate, type GatePermit } from './model-gate.js';

/** Takes a permit that must be granted at once. */
function now(gate: ModelGate, tokens = 1): GatePermit {
  const permit = gate.acquire(tokens);
  if (permit instanceof Promise) throw new Error('expected a permit at once');
  return permit;
}

/** Starts waiting for a permit and reports whether it has been granted. */
function later(gate: ModelGate, tokens = 1): { granted: () => GatePermit | undefined } {
  let permit: GatePermit | undefined;
  const pending = gate.acquire(tokens);
  if (!(pending instanceof Promise)) throw new Error('expected to wait');
  void pending.then((granted) => (permit = granted));
  return { granted: () => permit };
}

describe('ModelGate', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('admits up to the concurrency limit and hands slots to waiters in arrival order', async () => {
    const gate = new ModelGate({ maxConcurrency: 2, adaptive: false, windowMs: 60_000 });
    const first = now(gate);
    now(gate);
    const third = later(gate);
    const fourth = later(gate);
    await Promise.resolve();
    expect(third.granted()).toBeUndefined();
    first.release();
    await Promise.resolve();
    expect(third.granted()).toBeDefined();
    expect(fourth.granted()).toBeUndefined();
    first.release(); // a second release of the same permit gives nothing back
    await Promise.resolve();
    expect(fourth.granted()).toBeUndefined();
  });

  it('never lets more than requestsPerWindow calls start within any window', async () => {
    vi.useFakeTimers({ now: 0 });
    const gate = new ModelGate({ maxConcurrency: 100, adaptive: false, requestsPerWindow: 3, windowMs: 1000 });
    const starts: number[] = [];
    const pending: Promise<void>[] = [];
    for (let index = 0; index < 10; index++) {
      const permit = gate.acquire(1);
      pending.push(
        Promise.resolve(permit).then((granted) => {
          starts.push(granted.startedAt);
          granted.release();
        }),
      );
      await vi.advanceTimersByTimeAsync(137);
    }
    await vi.runAllTimersAsync();
    await Promise.all(pending);
    expect(starts).toHaveLength(10);
    for (const start of starts) {
      expect(starts.filter((other) => other >= start && other < start + 1000).length).toBeLessThanOrEqual(3);
    }
    gate.dispose();
  });

  it('counts tokens against tokensPerWindow, corrected by what the call really used', async () => {
    vi.useFakeTimers({ now: 0 });
    const gate = new ModelGate({ maxConcurrency: 100, adaptive: false, tokensPerWindow: 1000, windowMs: 1000 });
    const big = now(gate, 800);
    const blocked = later(gate, 300);
    await Promise.resolve();
    expect(blocked.granted()).toBeUndefined();
    big.release(600); // used less than estimated: 600 + 300 fits in 1000
    await Promise.resolve();
    expect(blocked.granted()).toBeDefined();
    // A call larger than the whole budget still goes, alone, once the window has emptied.
    const huge = later(gate, 5000);
    await vi.advanceTimersByTimeAsync(1001);
    expect(huge.granted()).toBeDefined();
    gate.dispose();
  });

  it('pauses every call after a rate limit and halves the concurrency once per burst', async () => {
    vi.useFakeTimers({ now: 0 });
    const gate = new ModelGate({ maxConcurrency: 16, adaptive: true, windowMs: 60_000 });
    const burst = Array.from({ length: 16 }, () => now(gate));
    // Sixteen calls of the same burst come back 429: one halving, not sixteen.
    vi.advanceTimersByTime(10);
    for (const permit of burst) {
      gate.rateLimited(500, permit.startedAt);
      permit.release();
    }
    expect(gate.limit).toBe(8);
    const waiting = later(gate);
    await vi.advanceTimersByTimeAsync(400);
    expect(waiting.granted()).toBeUndefined(); // still paused
    await vi.advanceTimersByTimeAsync(200);
    const permit = waiting.granted();
    expect(permit).toBeDefined();
    // A call admitted after the halving that is rate limited again halves again.
    gate.rateLimited(0, permit!.startedAt);
    expect(gate.limit).toBe(4);
    permit!.release();
    gate.dispose();
  });

  it('grows the concurrency back by one per window of successes, up to the maximum', () => {
    const gate = new ModelGate({ maxConcurrency: 4, adaptive: true, windowMs: 60_000 });
    gate.rateLimited(0);
    expect(gate.limit).toBe(2);
    gate.succeeded();
    expect(gate.limit).toBe(2);
    gate.succeeded();
    expect(gate.limit).toBe(3);
    for (let index = 0; index < 3; index++) gate.succeeded();
    expect(gate.limit).toBe(4);
    for (let index = 0; index < 10; index++) gate.succeeded();
    expect(gate.limit).toBe(4);
    gate.dispose();
  });

  it('keeps a fixed limit when adaptive concurrency is off', () => {
    const gate = new ModelGate({ maxConcurrency: 8, adaptive: false, windowMs: 60_000 });
    gate.rateLimited(0);
    expect(gate.limit).toBe(8);
    gate.dispose();
  });
});
