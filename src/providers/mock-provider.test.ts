import { describe, expect, it } from 'vitest';
import { mockReply, mockProvider } from './mock-provider.js';

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
});
