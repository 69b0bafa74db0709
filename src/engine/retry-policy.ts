import type { ProviderCallFailure } from '../spec/model.js';

export interface RetryPolicy {
  /** Attempts per call, including the first. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** The longest server-requested wait honoured; a longer Retry-After is capped here. */
const MAX_RETRY_AFTER_MS = 15 * 60_000;

/**
 * How long to wait before attempt `attempt + 1`: the server's Retry-After when it sent one, otherwise
 * exponential backoff with "equal jitter" (half fixed, half random), capped at `maxDelayMs`.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, failure: ProviderCallFailure, random: () => number = Math.random): number {
  if (failure.retryAfterMs !== undefined) return Math.min(failure.retryAfterMs, MAX_RETRY_AFTER_MS);
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

export function shouldRetry(policy: RetryPolicy, attempt: number, failure: ProviderCallFailure): boolean {
  return failure.retryable && attempt < policy.maxAttempts;
}
