import { describe, expect, it } from 'vitest';
import { mockReply, mockProvider } from './mock-provider.js';
import { promptParts } from '../core/prompt-render.js';
import { buildGenerateRequest } from '../stages/generate.js';

describe('mock provider', () => {
  it('solves the arithmetic in the prompt, deterministically', () => {
    expect(mockReply('What is 12 * 3?', 0, { accuracy: 1 })).toMatch(/The answer is 36\.$/);
    expect(mockReply('What is 7 - 10?', 0, { accuracy: 1 })).toMatch(/The answer is -3\.$/);
    expect(mockReply('no sums', 5, { accuracy: 1 })).toBe(mockReply('no sums', 5, { accuracy: 1 }));
    expect(mockReply('anything', 0, { accuracy: 1, reply: 'fixed' })).toBe('fixed');
  });

  it('answers about `accuracy` of the questions correctly', () => {
    let correct = 0;
    for (let index = 0; index < 2000; index++) {
      const reply = mockReply(`What is ${index} + 1?`, 0, { accuracy: 0.7 });
      if (reply.endsWith(`The answer is ${index + 1}.`)) correct++;
    }
    expect(correct / 2000).toBeGreaterThan(0.65);
    expect(correct / 2000).toBeLessThan(0.75);
  });

  it('calls itself a mock and reports usage', async () => {
    const config = mockProvider.schema.parse({ id: 'demo', provider: 'mock' });
    const model = mockProvider.create(config, { env: {}, directory: '.' });
    expect(model).toMatchObject({ id: 'demo', provider: 'mock', modelName: 'mock-arithmetic' });
    const result = await model.doGenerate({ prompt: 'What is 2 + 2?', params: {}, seed: 1, signal: new AbortController().signal });
    expect(result.text).toMatch(/The answer is 4\.$/);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.finishReason.unified).toBe('stop');
  });

  it('answers the last user turn of a conversation, not an example before it', async () => {
    const parts = promptParts({
      id: 'p',
      messages: [
        { role: 'system', content: 'Answer.' },
        { role: 'user', content: 'What is 1 + 1?' },
        { role: 'assistant', content: '2' },
        { role: 'user', content: '{{input}}' },
      ],
    });
    const request = buildGenerateRequest(parts, { datasetId: 'd', itemId: 'q', input: 'What is 20 + 3?', fields: {} }, {}, 1);
    expect(request).toMatchObject({ system: 'Answer.', prompt: 'What is 20 + 3?' });
    expect(request.messages).toHaveLength(4);
    const model = mockProvider.create(mockProvider.schema.parse({ id: 'demo', provider: 'mock' }), { env: {}, directory: '.' });
    const result = await model.doGenerate({ ...request, signal: new AbortController().signal });
    expect(result.text).toMatch(/The answer is 23\.$/);
    // Usage counts every turn sent.
    expect(result.usage.inputTokens).toBe(Math.ceil(('Answer.' + 'What is 1 + 1?' + '2' + 'What is 20 + 3?').length / 4));
  });
});
