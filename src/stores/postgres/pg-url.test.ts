import { describe, expect, it } from 'vitest';
import { redactStoreUrl } from './pg-url.js';

describe('redactStoreUrl', () => {
  it('leaves the password out and keeps user, host, port and database', () => {
    expect(redactStoreUrl('postgres://alice:s3cret-pass@db.example:6543/evals')).toBe('postgres://alice@db.example:6543/evals');
    expect(redactStoreUrl('postgresql://db.example/evals?sslmode=require')).toBe('postgresql://db.example/evals?sslmode=require');
  });

  it('replaces a password or key given in the query', () => {
    const redacted = redactStoreUrl('postgres://db.example/evals?password=s3cret-pass&sslmode=require');
    expect(redacted).not.toContain('s3cret-pass');
    expect(redacted).toContain('sslmode=require');
  });

  it('drops the user part of something that does not parse as a URL', () => {
    expect(redactStoreUrl('postgres://alice:s3cret pass@db/evals')).not.toContain('s3cret');
  });
});
