import { describe, expect, it } from 'vitest';
import { choiceLetter, compileTemplate, missingVariable, TemplateError } from './prompt-template.js';

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

  it('writes a list of options as lettered lines with {{choices | letters}}', () => {
    const template = compileTemplate('{{input}}\n{{ choices | letters }}\nAnswer:');
    expect(template.variables).toEqual(['input', 'choices']);
    expect(template.render({ input: 'What is 2 + 2?', id: 'q1', fields: { choices: ['4', '5', '6'] } })).toBe('What is 2 + 2?\nA) 4\nB) 5\nC) 6\nAnswer:');
    expect(compileTemplate('{{choices|letters}}').render({ input: '', id: 'x', fields: { choices: [1, { x: 2 }] } })).toBe('A) 1\nB) {"x":2}');
    // A value that is not a list is written as it would be without the filter.
    expect(compileTemplate('{{topic | letters}}').render(values)).toBe('math');
    expect(() => compileTemplate('{{choices | lettres}}')).toThrow(TemplateError);
    expect(() => compileTemplate('{{choices | lettres}}')).toThrow(/unknown filter 'lettres'.*known filters: letters/);
  });

  it('reads a multiple-choice target given as an option text, a letter or a 0-based index as its letter', () => {
    const options = ['4', '5', '6'];
    expect(choiceLetter('5', options)).toEqual({ letter: 'B' });
    expect(choiceLetter(' 6 ', options)).toEqual({ letter: 'C' });
    expect(choiceLetter('a', options)).toEqual({ letter: 'A' });
    expect(choiceLetter(2, options)).toEqual({ letter: 'C' });
    expect(choiceLetter('0', ['x', 'y'])).toEqual({ letter: 'A' });
    // The text of an option wins over reading the same text as an index.
    expect(choiceLetter('1', ['0', '1'])).toEqual({ letter: 'B' });
    expect(choiceLetter('1', ['1', '0'])).toEqual({ letter: 'A' });
    expect(choiceLetter('D', options)).toMatchObject({ problem: expect.stringMatching(/neither one of the 3 options, nor a letter A-C, nor an index 0-2/) });
    expect(choiceLetter(3, options)).toHaveProperty('problem');
    expect(choiceLetter('4', 'not a list')).toEqual({ problem: 'the options are not a list' });
  });
});
