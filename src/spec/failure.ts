/** Why a stage of a task did not produce a result. Failures are data: they are stored, never thrown through a run. */
export type FailureCategory =
  | 'rate_limit'
  | 'timeout'
  | 'connection'
  | 'server_error'
  | 'client_error'
  | 'content_filter'
  | 'invalid_response'
  | 'cancelled'
  | 'unmatched'
  | 'dependency'
  | 'plugin_error';

export const FAILURE_CATEGORIES: readonly FailureCategory[] = [
  'rate_limit',
  'timeout',
  'connection',
  'server_error',
  'client_error',
  'content_filter',
  'invalid_response',
  'cancelled',
  'unmatched',
  'dependency',
  'plugin_error',
];

export interface AttemptRecord {
  readonly attempt: number;
  readonly category: FailureCategory;
  readonly message: string;
  readonly status?: number;
  /** Milliseconds waited before the next attempt (absent on the last one). */
  readonly delayMs?: number;
  readonly at: string;
}

export interface FailureRecord {
  readonly category: FailureCategory;
  readonly message: string;
  readonly attempts: readonly AttemptRecord[];
}
