import { describe, expect, it } from 'vitest';
import { retryDelayMs, shouldRetry } from './retry-policy.js';

const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };
const serverError = { category: 'server_error' as const, message: '', retryable: true };

describe('retry policy', () => {
  it('backs off exponentially with jitter inside [half, full] of the step, capped', () => {
    expect(retryDelayMs(policy, 1, serverError, () => 0)).toBe(50);
    expect(retryDelayMs(policy, 1, serverError, () => 1)).toBe(100);
    expect(retryDelayMs(policy, 3, serverError, () => 0.5)).toBe(300);
    expect(retryDelayMs(policy, 10, serverError, () => 1)).toBe(1000);
  });

  it('honours Retry-After over its own schedule', () => {
    expect(retryDelayMs(policy, 1, { ...serverError, retryAfterMs: 2500 })).toBe(2500);
    expect(retryDelayMs(policy, 1, { ...serverError, retryAfterMs: 3_600_000 })).toBe(900_000);
  });

  it('retries retryable failures until the attempts run out', () => {
    expect(shouldRetry(policy, 3, serverError)).toBe(true);
    expect(shouldRetry(policy, 4, serverError)).toBe(false);
    expect(shouldRetry(policy, 1, { ...serverError, retryable: false })).toBe(false);
  });
});
