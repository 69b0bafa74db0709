import { describe, expect, it } from 'vitest';
import { noModels, scriptedModels } from '../testing/plugin-context.js';
import { createParser } from '../registry.js';

const parse = (id: string, text: string, args: Record<string, unknown> = {}) => createParser({ id, version: '1', args }).parse(text, noModels);

describe('built-in parsers', () => {
  it('last-number reads the last number as people write it', () => {
    expect(parse('last-number', 'First 3 apples, then 1,250.5 pears.')).toEqual({ ok: true, value: 1250.5 });
    expect(parse('last-number', 'It is -7.')).toEqual({ ok: true, value: -7 });
    expect(parse('last-number', 'about .5 of it')).toEqual({ ok: true, value: 0.5 });
    expect(parse('last-number', 'A: 18')).toEqual({ ok: true, value: 18 });
    expect(parse('last-number', 'no digits here')).toEqual({ ok: false, reason: 'no number in the answer' });
  });

  it('regex takes a group, a named group or the whole match, first or last occurrence', () => {
    expect(parse('regex', 'Answer: B ... Answer: C', { pattern: 'Answer: ([A-D])' })).toEqual({ ok: true, value: 'C' });
    expect(parse('regex', 'Answer: B ... Answer: C', { pattern: 'Answer: ([A-D])', occurrence: 'first' })).toEqual({ ok: true, value: 'B' });
    expect(parse('regex', 'x=12;', { pattern: 'x=(?<value>\\d+)', group: 'value' })).toEqual({ ok: true, value: '12' });
    expect(parse('regex', 'id 42', { pattern: '\\d+' })).toEqual({ ok: true, value: '42' });
    expect(parse('regex', 'nothing', { pattern: '\\d+' })).toEqual({ ok: false, reason: 'no match for /\\d+/' });
    expect(parse('regex', 'ANSWER: d', { pattern: 'answer: ([a-d])', flags: 'i' })).toEqual({ ok: true, value: 'd' });
  });

  it('exact-text keeps the answer, trimmed unless told otherwise', () => {
    expect(parse('exact-text', '  Paris \n', { trim: true })).toEqual({ ok: true, value: 'Paris' });
    expect(parse('exact-text', '  Paris ', { trim: false })).toEqual({ ok: true, value: '  Paris ' });
    expect(parse('exact-text', '   ', { trim: true })).toEqual({ ok: false, reason: 'empty answer' });
  });

  it('refuses to rebuild a parser from a spec of another version', () => {
    expect(() => createParser({ id: 'last-number', version: '99', args: {} })).toThrow(/made with last-number version 99/);
  });
});

describe('parsers added for evaluation depth', () => {
  it('after-marker reads the text or number after the last marker', () => {
    expect(parse('after-marker', 'so 9 eggs\nA: 18', { marker: 'A:', read: 'number' })).toEqual({ ok: true, value: 18 });
    expect(parse('after-marker', 'A: 3\nwait, A: $1,250 per day', { marker: 'A:', read: 'number' })).toEqual({ ok: true, value: 1250 });
    expect(parse('after-marker', 'reasoning...\n#### 6,250', { marker: '####', read: 'text' })).toEqual({ ok: true, value: '6,250' });
    expect(parse('after-marker', 'Answer: Paris\nmore', { marker: 'answer:', caseSensitive: false })).toEqual({ ok: true, value: 'Paris' });
    expect(parse('after-marker', 'A: 1 then A: 2', { marker: 'A:', read: 'number', occurrence: 'first' })).toEqual({ ok: true, value: 1 });
    expect(parse('after-marker', 'no marker', { marker: 'A:' })).toEqual({ ok: false, reason: "no 'A:' in the answer" });
    expect(parse('after-marker', 'A: none', { marker: 'A:', read: 'number' })).toEqual({ ok: false, reason: "no number after 'A:'" });
  });

  it('choice-letter prefers an explicit answer and ignores the article "A"', () => {
    expect(parse('choice-letter', 'A careful reading shows the answer is (C).')).toEqual({ ok: true, value: 'C' });
    expect(parse('choice-letter', 'Options B and D look close. Answer: D')).toEqual({ ok: true, value: 'D' });
    expect(parse('choice-letter', 'I pick (B) over (A)... final: (A)')).toEqual({ ok: true, value: 'A' });
    expect(parse('choice-letter', 'B.')).toEqual({ ok: true, value: 'B' });
    expect(parse('choice-letter', 'A dog ran.')).toEqual({ ok: false, reason: 'no choice among ABCDEFGHIJ in the answer' });
    expect(parse('choice-letter', 'Answer: E', { letters: 'ABCD' })).toEqual({ ok: false, reason: 'no choice among ABCD in the answer' });
  });

  it('choice-letter reads the letters {{choices | letters}} writes, also when the answer repeats the options', () => {
    expect(parse('choice-letter', 'B) 5')).toEqual({ ok: true, value: 'B' });
    expect(parse('choice-letter', 'C')).toEqual({ ok: true, value: 'C' });
    expect(parse('choice-letter', 'The options were\nA) 4\nB) 5\nC) 6\nAnswer: A')).toEqual({ ok: true, value: 'A' });
    expect(parse('choice-letter', 'A) 4\nB) 5\nC) 6\nI pick C) 6')).toEqual({ ok: true, value: 'C' });
  });

  it('boxed takes the last box, nested braces included', () => {
    expect(parse('boxed', 'first \\boxed{1}, finally \\boxed{\\frac{1}{2}}')).toEqual({ ok: true, value: '\\frac{1}{2}' });
    expect(parse('boxed', 'no box')).toEqual({ ok: false, reason: 'no \\boxed{...} in the answer' });
    expect(parse('boxed', '\\boxed{ unclosed')).toEqual({ ok: false, reason: 'the last \\boxed{ is never closed' });
  });

  it('json finds bare, fenced or embedded JSON and follows a path', () => {
    expect(parse('json', '{"answer": 4}', { path: 'answer' })).toEqual({ ok: true, value: 4 });
    expect(parse('json', 'Sure!\n```json\n{"result": {"items": [1, 2]}}\n```', { path: 'result.items.1' })).toEqual({ ok: true, value: 2 });
    expect(parse('json', 'I think {"a": "}"} is it', {})).toEqual({ ok: true, value: { a: '}' } });
    expect(parse('json', '{"a": 1}', { path: 'b' })).toEqual({ ok: false, reason: "the JSON has no 'b'" });
    expect(parse('json', 'not json', {})).toEqual({ ok: false, reason: 'no JSON in the answer' });
  });

  it('template asks the parsing model and keeps what it filled', async () => {
    const context = scriptedModels(['{"answer": 42, "approved": "yes"}']);
    const parser = createParser({
      id: 'template',
      version: '1',
      args: { model: 'reader', fields: [{ name: 'answer', type: 'number', description: 'the number' }, { name: 'approved', type: 'boolean', description: 'ok?' }] },
    });
    const outcome = await parser.parse('It is forty-two, and yes.', context);
    expect(outcome).toMatchObject({ ok: true, value: { answer: 42, approved: true }, details: { readAs: 'structured', model: 'reader' } });
    expect(context.calls[0]!.modelId).toBe('reader');
    expect(context.calls[0]!.prompt).toContain('It is forty-two, and yes.');
    expect(context.calls[0]!.prompt).toContain('- answer (number): the number');
  });
});
