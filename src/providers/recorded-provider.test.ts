import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordedProvider } from './recorded-provider.js';

describe('recorded provider', () => {
  let directory: string;
  const request = (fields: Record<string, unknown>, itemId = 'x') => ({ prompt: 'ignored', params: {}, seed: 0, signal: new AbortController().signal, item: { datasetId: 'd', itemId, fields } });
  const config = (overrides: Record<string, unknown>) => recordedProvider.schema.parse({ id: 'rec', provider: 'recorded', path: 'answers.jsonl', matchBy: { item: 'question', record: 'q' }, answer: 'out.text', ...overrides });

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'assay-recorded-'));
    writeFileSync(join(directory, 'answers.jsonl'), '{"id":"a","q":"What is  1+1?","out":{"text":"2"}}\n{"id":"b","q":"Capital of France?","out":{"text":"Paris"}}\n');
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('answers from the file, matching text with whitespace collapsed, or by id', async () => {
    const byText = recordedProvider.create(config({}), { env: {}, directory });
    expect((await byText.doGenerate(request({ question: 'What is 1+1?' }))).text).toBe('2');
    const byId = recordedProvider.create(config({ matchBy: { item: 'id', record: 'id' } }), { env: {}, directory });
    expect((await byId.doGenerate(request({}, 'b'))).text).toBe('Paris');
  });

  it('fails an item without a record as unmatched, not retryable', async () => {
    const model = recordedProvider.create(config({}), { env: {}, directory });
    await expect(model.doGenerate(request({ question: 'Unknown?' }))).rejects.toMatchObject({ category: 'unmatched', retryable: false });
  });

  it('puts the recording in the identity, and refuses ambiguous records', () => {
    const before = recordedProvider.identity(config({}), { env: {}, directory }).options;
    writeFileSync(join(directory, 'other.jsonl'), '{"q":"What is 1+1?","out":{"text":"3"}}\n');
    expect(recordedProvider.identity(config({ path: 'other.jsonl' }), { env: {}, directory }).options.fingerprint).not.toBe(before.fingerprint);
    writeFileSync(join(directory, 'twice.jsonl'), '{"q":"same","out":{"text":"1"}}\n{"q":"same","out":{"text":"2"}}\n');
    expect(() => recordedProvider.create(config({ path: 'twice.jsonl' }), { env: {}, directory })).toThrow(/twice\.jsonl:2: another record .* has the same q with a different answer/);
  });
});
