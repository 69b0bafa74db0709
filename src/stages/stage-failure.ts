import { redactText } from '../core/redact.js';
import type { FailureCategory, FailureRecord } from '../spec/failure.js';
import { CallCancelled, ModelCallFailed } from '../spec/plugin-context.js';

/** A failure from local code (a reducer, parser or metric that threw): not retried, recorded with its message. */
export function pluginFailure(error: unknown, category: FailureCategory = 'plugin_error'): FailureRecord {
  // A plugin's message can quote what it read (a reply echoing a header): scrub it like a provider's.
  const message = redactText(error instanceof Error ? error.message : String(error));
  return { category, message, attempts: [{ attempt: 1, category, message, at: new Date().toISOString() }] };
}

/**
 * The failure to record for an error thrown by a stage's plugin: a model call that failed for good keeps its
 * attempt history; anything else is a plugin error. A cancellation is not a failure: it is rethrown.
 */
export function stageFailure(error: unknown): FailureRecord {
  if (error instanceof CallCancelled) throw error;
  if (error instanceof ModelCallFailed) return error.failure;
  return pluginFailure(error);
}
