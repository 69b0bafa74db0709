import type { FailureCategory, FailureRecord } from '../spec/failure.js';

/** A failure from local code (a reducer, parser or metric that threw): not retried, recorded with its message. */
export function pluginFailure(error: unknown, category: FailureCategory = 'plugin_error'): FailureRecord {
  const message = error instanceof Error ? error.message : String(error);
  return { category, message, attempts: [{ attempt: 1, category, message, at: new Date().toISOString() }] };
}
