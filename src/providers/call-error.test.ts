import { APICallError } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { classifyProviderError, redactor, retryAfterMs } from './call-error.js';

const apiError = (statusCode: number | undefined, headers: Record<string, string> = {}, body = '', cause?: unknown) =>
  new APICallError({ message: `status ${statusCode}`, url: 'http://x', requestBodyValues: {}, statusCode, responseHeaders: headers, responseBody: body, cause });
const keep = (text: string) => text;

describe('classifyProviderError', () => {
  it('reads Retry-After in seconds, as a date and as milliseconds', () => {
    expect(retryAfterMs({ 'Retry-After': '2' })).toBe(2000);
    expect(retryAfterMs({ 'retry-after-ms': '150' })).toBe(150);
    expect(retryAfterMs({ 'retry-after': new Date(Date.now() + 3000).toUTCString() }, Date.now())).toBeGreaterThan(1000);
    expect(retryAfterMs({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });

  it('categorizes HTTP failures and says which are worth retrying', () => {
    expect(classifyProviderError(apiError(429, { 'retry-after': '3' }), keep)).toMatchObject({ category: 'rate_limit', retryable: true, retryAfterMs: 3000, status: 429 });
    expect(classifyProviderError(apiError(503), keep)).toMatchObject({ category: 'server_error', retryable: true });
    expect(classifyProviderError(apiError(408), keep)).toMatchObject({ category: 'timeout', retryable: true });
    expect(classifyProviderError(apiError(400), keep)).toMatchObject({ category: 'client_error', retryable: false });
    expect(classifyProviderError(apiError(400, {}, '{"error":{"code":"content_filter"}}'), keep)).toMatchObject({ category: 'content_filter', retryable: false });
    // A 200 whose body the SDK could not read is a broken answer, worth another attempt.
    expect(classifyProviderError(apiError(200, {}, '{"choices": [{"mess'), keep)).toMatchObject({ category: 'invalid_response', retryable: true });
  });

  it('tells connection failures, timeouts and cancellations apart', () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    expect(classifyProviderError(refused, keep)).toMatchObject({ category: 'connection', retryable: true });
    const timedOut = new AbortController();
    timedOut.abort(new DOMException('late', 'TimeoutError'));
    expect(classifyProviderError(new DOMException('aborted', 'AbortError'), keep, timedOut.signal)).toMatchObject({ category: 'timeout', retryable: true });
    const cancelled = new AbortController();
    cancelled.abort(new DOMException('stop', 'AbortError'));
    expect(classifyProviderError(new DOMException('aborted', 'AbortError'), keep, cancelled.signal)).toMatchObject({ category: 'cancelled', retryable: false });
    expect(classifyProviderError(Object.assign(new Error('bad json'), { name: 'AI_JSONParseError' }), keep)).toMatchObject({ category: 'invalid_response', retryable: true });
  });

  it('never keeps a secret in the stored message', () => {
    const redact = redactor(['sk-secret-value-123']);
    const error = classifyProviderError(apiError(401, {}, '', undefined), (text) => redact(`${text} sk-secret-value-123`));
    expect(error.message).not.toContain('sk-secret-value-123');
    expect(error.message).toContain('[redacted]');
  });
});
