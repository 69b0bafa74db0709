import { APICallError } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { rememberSecret } from '../core/redact.js';
import { classifyProviderError, ProviderCallError, retryAfterMs } from './call-error.js';

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

  it('never keeps a secret in the stored message, whoever made it', () => {
    rememberSecret('plain-secret-value-123');
    const echoed = new APICallError({ message: 'denied for key plain-secret-value-123 (Authorization: Bearer abc123def456)', url: 'http://x', requestBodyValues: {}, statusCode: 401 });
    const error = classifyProviderError(echoed, keep);
    expect(error.message).toBe('denied for key [redacted] (Authorization: Bearer [redacted])');
    // A failure built elsewhere (the engine's refusal of a reply, say) is redacted too.
    expect(new ProviderCallError({ category: 'invalid_response', message: 'reply echoed plain-secret-value-123', retryable: true }).message).toBe('reply echoed [redacted]');
  });

  it('redacts before cutting a long message, so no half of a secret survives the cut', () => {
    rememberSecret('zz-long-secret-value-987');
    const message = `${'x'.repeat(1990)}zz-long-secret-value-987`;
    const error = classifyProviderError(new Error(message), keep);
    expect(error.message).not.toContain('zz-long');
    expect(error.message.endsWith('[redacted]')).toBe(true);
  });
});
