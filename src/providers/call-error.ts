import { APICallError } from '@ai-sdk/provider';
import { AssayError } from '../core/errors.js';
import { redactText } from '../core/redact.js';
import type { FailureCategory } from '../spec/failure.js';
import type { ProviderCallFailure } from '../spec/model.js';

/**
 * A failed model call, categorized. Thrown by `doGenerate`; the engine decides whether to retry. Its message is
 * stored with the task's attempts, so it is redacted here, whoever made it: a server may echo the
 * Authorization header or the URL back in its error body.
 */
export class ProviderCallError extends AssayError implements ProviderCallFailure {
  readonly category: FailureCategory;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly retryable: boolean;

  constructor(failure: ProviderCallFailure, options?: { cause?: unknown }) {
    super(`provider_${failure.category}`, redactText(failure.message), options);
    this.category = failure.category;
    this.retryable = failure.retryable;
    if (failure.status !== undefined) this.status = failure.status;
    if (failure.retryAfterMs !== undefined) this.retryAfterMs = failure.retryAfterMs;
  }

  static override isInstance(value: unknown): value is ProviderCallError {
    return value instanceof ProviderCallError;
  }
}

/** Reads Retry-After (seconds or an HTTP date) or retry-after-ms into milliseconds. */
export function retryAfterMs(headers: Readonly<Record<string, string>> | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  const milliseconds = Number(lower['retry-after-ms']);
  if (lower['retry-after-ms'] !== undefined && Number.isFinite(milliseconds) && milliseconds >= 0) return milliseconds;
  const value = lower['retry-after'];
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function isAbort(error: unknown): { timeout: boolean } | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const name = (current as { name?: unknown }).name;
    if (name === 'TimeoutError') return { timeout: true };
    if (name === 'AbortError') return { timeout: false };
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * Turns whatever a provider SDK threw into a categorized failure. The message is redacted (secrets read from
 * the environment, credential shapes) before it is cut to length; `redact` can scrub more on top. `signal` is the call's signal: an abort whose reason is not a timeout
 * is a cancellation; any other abort is a timeout.
 */
export function classifyProviderError(error: unknown, redact: (text: string) => string, signal?: AbortSignal): ProviderCallError {
  if (error instanceof ProviderCallError) return error;
  const message = redactText(redact(error instanceof Error ? error.message : String(error))).slice(0, 2000);

  if (APICallError.isInstance(error)) {
    const status = error.statusCode;
    const base = { message, ...(status !== undefined ? { status } : {}) };
    if (status === 429) {
      const wait = retryAfterMs(error.responseHeaders);
      return new ProviderCallError({ ...base, category: 'rate_limit', retryable: true, ...(wait !== undefined ? { retryAfterMs: wait } : {}) }, { cause: error });
    }
    if (status === 408) return new ProviderCallError({ ...base, category: 'timeout', retryable: true }, { cause: error });
    if (status !== undefined && status >= 500) {
      const wait = retryAfterMs(error.responseHeaders);
      return new ProviderCallError({ ...base, category: 'server_error', retryable: true, ...(wait !== undefined ? { retryAfterMs: wait } : {}) }, { cause: error });
    }
    if (status !== undefined && status >= 400) {
      const contentFilter = /content[_ -]?(filter|policy)|safety/i.test(error.responseBody ?? '');
      return new ProviderCallError({ ...base, category: contentFilter ? 'content_filter' : 'client_error', retryable: false }, { cause: error });
    }
    // A success status whose body could not be read (truncated, not JSON, not the expected shape).
    if (status !== undefined && status >= 200 && status < 300) {
      return new ProviderCallError({ ...base, category: 'invalid_response', retryable: true }, { cause: error });
    }
    // No status: the request never got a response.
    const code = causeCode(error);
    if (code && CONNECTION_CODES.has(code)) return new ProviderCallError({ message, category: 'connection', retryable: true }, { cause: error });
  }

  const abort = isAbort(error);
  if (abort) {
    const reason = signal?.reason as { name?: unknown } | undefined;
    const cancelled = signal?.aborted === true && reason?.name !== 'TimeoutError' && !abort.timeout;
    if (cancelled) return new ProviderCallError({ message: 'cancelled', category: 'cancelled', retryable: false }, { cause: error });
    return new ProviderCallError({ message: 'request timed out', category: 'timeout', retryable: true }, { cause: error });
  }
  const code = causeCode(error);
  if ((code && CONNECTION_CODES.has(code)) || /fetch failed|socket hang up|other side closed|terminated/i.test(message)) {
    return new ProviderCallError({ message, category: 'connection', retryable: true }, { cause: error });
  }
  const name = error instanceof Error ? error.name : '';
  if (/JSONParse|TypeValidation|InvalidResponseData|NoContentGenerated|EmptyResponseBody/i.test(name)) {
    return new ProviderCallError({ message, category: 'invalid_response', retryable: true }, { cause: error });
  }
  return new ProviderCallError({ message, category: 'plugin_error', retryable: false }, { cause: error });
}
