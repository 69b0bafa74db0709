import { describe, expect, it } from 'vitest';
import { compileTemplate, missingVariable } from './prompt-template.js';

describe('prompt templates', () => {
  const values = { input: 'What is 2 + 2?', id: 'q1', fields: { topic: 'math', meta: { level: 3 }, choices: ['a', 'b'] } };

  it('fills input, id and row fields, including dotted paths and non-strings', () => {
    const template = compileTemplate('[{{id}}] {{ input }} ({{topic}}, level {{meta.level}}) {{choices}}');
    expect(template.variables).toEqual(['id', 'input', 'topic', 'meta.level', 'choices']);
    expect(template.render(values)).toBe('[q1] What is 2 + 2? (math, level 3) ["a","b"]');
  });

  it('writes {{{{ as a literal {{ and reports missing fields', () => {
    expect(compileTemplate('{{{{input}} is {{input}}').render(values)).toBe('{{input}} is What is 2 + 2?');
    expect(missingVariable(compileTemplate('{{input}} {{missing}}'), values)).toBe('missing');
    expect(missingVariable(compileTemplate('no variables'), values)).toBeUndefined();
  });
});
