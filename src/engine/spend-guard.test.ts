import { describe, expect, it } from 'vitest';
import { PriceBook } from '../core/cost.js';
import { SpendGuard } from './spend-guard.js';

// $1 per million input and output tokens: a call of 4,000 prompt characters and 1,000 output tokens costs at
// most (1,000 + 1,000) / 1e6 = $0.002.
const prices = PriceBook.recorded({ m: { input: 1, output: 1, source: 'config' } });
const request = { prompt: 'x'.repeat(4000), params: { maxTokens: 1000 } };

describe('the spending cap across a fleet', () => {
  it('alone, admits calls while what is spent and in flight stays within the cap', () => {
    let stopped = 0;
    const guard = new SpendGuard({ capUsd: 0.005, prices, spentUsd: 0 }, () => stopped++);
    expect(guard.admit('m', request)).not.toBeNull();
    expect(guard.admit('m', request)).not.toBeNull();
    expect(guard.admit('m', request)).toBeNull(); // 0.006 > 0.005
    expect(stopped).toBe(1);
  });

  it('with other live processes, counts what the fleet has spent and its own calls in flight once per process', () => {
    let stopped = 0;
    const guard = new SpendGuard({ capUsd: 0.01, prices, spentUsd: 0 }, () => stopped++);
    // The store says the fleet has spent $0.004, and three processes are live.
    guard.fleet(0.004, 3);
    // 0.004 + 0.002 x 3 = 0.010: admitted; one more in flight: 0.004 + 0.004 x 3 > 0.01: refused.
    const first = guard.admit('m', request);
    expect(first).not.toBeNull();
    expect(guard.admit('m', request)).toBeNull();
    expect(stopped).toBe(1);
  });

  it('what this process spent since the last sync counts on top of the fleet figure, once per process, and not again after the next sync', () => {
    const guard = new SpendGuard({ capUsd: 0.02, prices, spentUsd: 0 }, () => undefined);
    guard.fleet(0.01, 2);
    const ticket = guard.admit('m', request)!;
    ticket.settle({ inputTokens: 1000, outputTokens: 1000 }); // spent $0.002 here
    // 0.01 + 0.002 x 2 (own since the sync, the other assumed alike) + 0.002 x 2 (in flight, per process) = 0.018: admitted.
    expect(guard.admit('m', request)).not.toBeNull();
    // The next sync includes this process's committed spend: counted once.
    guard.fleet(0.012, 2);
    expect(guard.spentUsd).toBeCloseTo(0.002, 6);
  });

  it('between syncs, assumes the other processes spent as much as this one (a late sync cannot let the fleet pass the cap)', () => {
    let stopped = 0;
    const guard = new SpendGuard({ capUsd: 0.017, prices, spentUsd: 0 }, () => stopped++);
    guard.fleet(0.01, 2);
    guard.admit('m', request)!.settle({ inputTokens: 1000, outputTokens: 1000 }); // 0.01 + 0 + 0.004 = 0.014: admitted, then spent $0.002
    // 0.01 + 0.002 x 2 + 0.002 x 2 = 0.018 > 0.017: refused. Counting only this process's own spend
    // (0.01 + 0.002 + 0.004 = 0.016) would admit it, and the other process's spend since the sync would pass the cap.
    expect(guard.admit('m', request)).toBeNull();
    expect(stopped).toBe(1);
  });

  it('says what the run has spent as the cap counts it: alone, the earlier sessions plus its own; in a fleet, the last synced total plus its own since, once per process', () => {
    const guard = new SpendGuard({ capUsd: 1, prices, spentUsd: 0.003 }, () => undefined);
    guard.admit('m', request)!.settle({ inputTokens: 1000, outputTokens: 1000 }); // $0.002 here
    expect(guard.sharedBy).toBe(1);
    expect(guard.runSpentUsd).toBeCloseTo(0.005, 9);
    expect(guard.ownSpentUsd).toBeCloseTo(0.002, 9);
    // The store says the run (the earlier sessions, this process and another) has spent $0.01; then $0.002 more here.
    guard.fleet(0.01, 2);
    guard.admit('m', request)!.settle({ inputTokens: 1000, outputTokens: 1000 });
    expect(guard.sharedBy).toBe(2);
    expect(guard.runSpentUsd).toBeCloseTo(0.014, 9); // 0.01 + 0.002 x 2 (the other assumed alike since)
    expect(guard.ownSpentUsd).toBeCloseTo(0.004, 9);
    // What this process spent (with the earlier sessions) is less than the run's total: not what a notice gives.
    expect(guard.spentUsd).toBeCloseTo(0.007, 9);
  });

  it('left alone after the others went, still counts what they spent', () => {
    let stopped = 0;
    const guard = new SpendGuard({ capUsd: 0.007, prices, spentUsd: 0 }, () => stopped++);
    guard.admit('m', request)!.settle({ inputTokens: 1000, outputTokens: 1000 }); // $0.002 here
    // The other process spent $0.004 and is gone: this one is the only live process.
    guard.fleet(0.006, 1);
    // 0.006 + 0.002 = 0.008 > 0.007: refused (counting only its own $0.002 would admit it).
    expect(guard.admit('m', request)).toBeNull();
    expect(stopped).toBe(1);
  });
});
