import { describe, expect, it } from 'vitest';
import { findLiteralSecret } from './secrets.js';

const model = (fields: Record<string, unknown>) => ({ models: [{ id: 'm', provider: 'openai-compatible', model: 'x', baseURL: 'http://host/v1', ...fields }] });

describe('findLiteralSecret', () => {
  it('refuses headers named like credentials, pointing at the header and at headersFromEnv', () => {
    for (const name of ['X-Portkey-Api-Key', 'Authorization', 'X-Auth-Token', 'Cookie', 'X-Session-Id', 'X-Client-Secret', 'Proxy-Authorization', 'X-Signature', 'apiKey']) {
      const found = findLiteralSecret(model({ headers: { [name]: 'value' } }));
      expect(found, name).toMatchObject({ path: ['models', 0, 'headers', name], message: expect.stringMatching(/header named like a credential/) });
      expect(found!.hint).toBe(`read it from the environment instead: headersFromEnv: { ${name}: VARIABLE_NAME }`);
    }
  });

  it('refuses header values shaped like credentials whatever the header is called', () => {
    for (const value of ['Bearer abc', 'Basic dXNlcjpwYXNz', 'sk-abcdefghijklmnopqrstuvwx', 'a8F3kQ9zL2mN7pR4tV6wX1yB5cD0eG', '0123456789abcdef0123456789abcdef']) {
      expect(findLiteralSecret(model({ headers: { 'X-Trace': value } })), value).toMatchObject({ path: ['models', 0, 'headers', 'X-Trace'], message: expect.stringMatching(/looks like a credential/) });
    }
  });

  it('lets ordinary headers through', () => {
    for (const value of ['assay', 'application/json', 'my-evaluation-project-2024', '123e4567-e89b-12d3-a456-426614174000', 'eu-west-1', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36']) {
      expect(findLiteralSecret(model({ headers: { 'X-Title': value, 'HTTP-Referer': 'https://example.com/app' } })), value).toBeUndefined();
    }
  });

  it('accepts credential-named headers in headersFromEnv, whose values are variable names', () => {
    expect(findLiteralSecret(model({ headersFromEnv: { 'X-Api-Key': 'PORTKEY_API_KEY', Authorization: 'GATEWAY_TOKEN', token: 'T' } }))).toBeUndefined();
    expect(findLiteralSecret(model({ headersFromEnv: { 'X-Api-Key': 'sk-abcdefghijklmnopqrstuvwx' } }))).toMatchObject({ path: ['models', 0, 'headersFromEnv', 'X-Api-Key'] });
  });

  it('refuses URLs with a user name, a password or a key-like query parameter', () => {
    expect(findLiteralSecret(model({ baseURL: 'https://user:pass@host/v1' }))).toMatchObject({ path: ['models', 0, 'baseURL'], message: expect.stringMatching(/user name or password/) });
    expect(findLiteralSecret(model({ baseURL: 'https://token@host/v1' }))).toMatchObject({ path: ['models', 0, 'baseURL'] });
    for (const parameter of ['api-key', 'api_key', 'key', 'token', 'access_token', 'auth', 'sig', 'signature', 'secret', 'password', 'code', 'X-Amz-Signature']) {
      const found = findLiteralSecret(model({ baseURL: `https://host/v1?deployment=a&${parameter}=value` }));
      expect(found, parameter).toMatchObject({ path: ['models', 0, 'baseURL'], message: `this URL carries the query parameter '${parameter}', and URLs are recorded with the run` });
      expect(found!.hint).toMatch(/apiKeyEnv.*headersFromEnv/);
    }
    expect(findLiteralSecret(model({ baseURL: 'https://host/openai/deployments/gpt4?api-version=2024-06-01' }))).toBeUndefined();
  });

  it('still refuses key-named fields and key-shaped strings anywhere', () => {
    expect(findLiteralSecret(model({ params: { extra: { api_key: 'x' } } }))).toMatchObject({ path: ['models', 0, 'params', 'extra', 'api_key'] });
    expect(findLiteralSecret({ prompt: { user: 'use sk-ant-abcdefghijklmnopqrstuvwx' } })).toMatchObject({ path: ['prompt', 'user'] });
  });
});
