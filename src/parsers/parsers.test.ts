import { describe, expect, it } from 'vitest';
import { createParser } from '../registry.js';

const parse = (id: string, text: string, args: Record<string, unknown> = {}) => createParser({ id, version: '1', args }).parse(text);

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
