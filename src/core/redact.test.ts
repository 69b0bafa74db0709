import { describe, expect, it } from 'vitest';
import { redactDeep, redactKnownSecrets, redactText, rememberSecret } from './redact.js';

describe('redactText', () => {
  it('replaces the exact values of secrets read from the environment, however they are embedded', () => {
    rememberSecret('qv7-not-shaped-like-a-key-41');
    expect(redactText('x-custom: qv7-not-shaped-like-a-key-41; again qv7-not-shaped-like-a-key-41!')).toBe('x-custom: [redacted]; again [redacted]!');
    expect(redactKnownSecrets('{"echo":"qv7-not-shaped-like-a-key-41"}')).toBe('{"echo":"[redacted]"}');
  });

  it('does not remember values too short to redact safely', () => {
    rememberSecret('ollama');
    expect(redactText('model ollama said no')).toBe('model ollama said no');
  });

  it('redacts authorization tokens and provider key shapes', () => {
    expect(redactText('sent Authorization: Bearer abc123XYZ789token')).toBe('sent Authorization: Bearer [redacted]');
    expect(redactText('"authorization":"Basic dXNlcjpwYXNzd29yZA=="')).toBe('"authorization":"Basic [redacted]"');
    expect(redactText('key sk-proj-abcdefghijklmnopqrstuvwx was revoked')).toBe('key [redacted] was revoked');
    expect(redactText('AIzaSyA1234567890abcdefghijklmnopqrstu')).toBe('[redacted]');
  });

  it("drops a URL's password (keeping a plain user name, as redactStoreUrl does) and redacts key-like query parameters, keeping the rest", () => {
    expect(redactText('cannot reach postgres://admin:hunter2@db.internal:5432/assay')).toBe('cannot reach postgres://admin@db.internal:5432/assay');
    // Already without its password (what a store's location is): unchanged, so still pasteable.
    expect(redactText('store postgres://assay@db.internal/evals')).toBe('store postgres://assay@db.internal/evals');
    // A user name that is itself a token goes too, and so does a password with no user.
    expect(redactText('clone https://ghp_abcdefghijklmnopqrstuvwxyz0123@github.com/o/r')).toBe('clone https://[redacted]@github.com/o/r');
    expect(redactText('clone https://x9Kq2LmZ7vR4tN8wB3yH6jD1@git.example/o/r')).toBe('clone https://[redacted]@git.example/o/r');
    expect(redactText('https://:hunter22@host/v1')).toBe('https://[redacted]@host/v1');
    expect(redactText('POST https://gw.example/v1?api-key=abc&deployment=gpt4&sig=zzz')).toBe('POST https://gw.example/v1?api-key=[redacted]&deployment=gpt4&sig=[redacted]');
    expect(redactText('GET /v1/models?access_token=t0k3n#frag')).toBe('GET /v1/models?access_token=[redacted]#frag');
  });

  it('redacts values of credential-named fields in echoed headers and bodies', () => {
    expect(redactText('{"x-portkey-api-key":"pk-live-1234abcd","content-type":"application/json"}')).toBe(
      '{"x-portkey-api-key":"[redacted]","content-type":"application/json"}',
    );
    expect(redactText('Cookie: session=0123456789abcdef')).toBe('Cookie: [redacted]');
    expect(redactText("{'apiKey': 'whatever-it-is'}")).toBe("{'apiKey': '[redacted]'}");
  });

  it('leaves ordinary messages alone', () => {
    for (const text of [
      'status 400: maxTokens: 100000 exceeds the limit',
      'Token counting failed for model gpt-4o-mini',
      'Basic arithmetic questions',
      'https://api.example.com/v1/chat/completions?deployment=gpt4',
      'run 3f2a9c0d1e4b5a6978877665544332211ffeeddccbbaa99887766554433221100 is complete',
      "model 'm' reads its API key from $MY_API_KEY, which is not set; export MY_API_KEY=... before running",
      '/tmp/x/experiment.yaml:12: models[0].headers.X-Portkey-Api-Key: a header named like a credential may not have its value written',
      'read it from the environment instead: headersFromEnv: { X-Portkey-Api-Key: PORTKEY_API_KEY }',
    ]) {
      expect(redactText(text)).toBe(text);
    }
  });
});

describe('redactDeep', () => {
  it('redacts every string of a nested value, keeps keys, numbers and unchanged objects', () => {
    const untouched = { rateLimit: { tokensPerMinute: 40000 }, names: ['a', 'b'] };
    expect(redactDeep(untouched)).toBe(untouched);
    const value = { transport: { m: { baseURL: 'https://u:p@host/v1', headers: ['X-Trace'] } }, count: 3 };
    expect(redactDeep(value)).toEqual({ transport: { m: { baseURL: 'https://u@host/v1', headers: ['X-Trace'] } }, count: 3 });
    expect(value.transport.m.baseURL).toBe('https://u:p@host/v1');
  });
});
