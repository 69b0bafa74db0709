import { describe, expect, it } from 'vitest';
import { TaskKey } from './task-key.js';

describe('TaskKey', () => {
  it('formats readable keys and parses them back', () => {
    const parts = { datasetId: 'gsm8k', itemId: 'q12', modelId: 'gpt', promptId: 'default', replicate: 2 };
    expect(TaskKey.format(parts)).toBe('gsm8k/q12/gpt/default/2');
    expect(TaskKey.parse('gsm8k/q12/gpt/default/2')).toEqual(parts);
  });

  it('round-trips ids holding slashes and percent signs', () => {
    for (const itemId of ['a/b', '50%', '%2F', 'a%2Fb/c', '%25', '/', '%']) {
      const parts = { datasetId: 'd/1', itemId, modelId: 'org/model', promptId: 'p%', replicate: 0 };
      const key = TaskKey.format(parts);
      expect(key.split('/')).toHaveLength(5);
      expect(TaskKey.parse(key)).toEqual(parts);
    }
  });

  it('rejects malformed keys with the reason', () => {
    expect(() => TaskKey.parse('a/b/c')).toThrow(/does not have 5 parts/);
    expect(() => TaskKey.parse('a/b/c/d/x')).toThrow(/replicate 'x'/);
    expect(() => TaskKey.parse('a/b/c/d/01')).toThrow(/replicate '01'/);
  });
});
