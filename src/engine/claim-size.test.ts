import { describe, expect, it } from 'vitest';
import { claimSize } from './claim-size.js';

describe('claimSize', () => {
  it('claims four times the concurrency alone, within 64 and 4096', () => {
    expect(claimSize(128, 1, 20_000)).toBe(512);
    expect(claimSize(4, 1, 20_000)).toBe(64);
    expect(claimSize(2000, 1, 1_000_000)).toBe(4096);
  });

  it('claims no more than its share of what is left when others work the run, never under its concurrency', () => {
    // 20,000 pending, two processes: the full batch fits in the share.
    expect(claimSize(128, 2, 20_000)).toBe(512);
    // Near the end the batches shrink, so the last tasks are split between the processes...
    expect(claimSize(128, 2, 700)).toBe(350);
    expect(claimSize(128, 3, 700)).toBe(234);
    // ...down to one task per slot.
    expect(claimSize(128, 2, 100)).toBe(128);
    expect(claimSize(4, 8, 10)).toBe(4);
  });
});
