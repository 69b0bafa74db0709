import { describe, expect, it } from 'vitest';
import { createMetric } from '../registry.js';
import { passAtK } from './pass-at-k.js';

const metric = (id: string, args: Record<string, unknown> = {}) => createMetric({ id, version: '1', args: { name: id, ...args } });
const ok = (value: string | number) => ({ ok: true as const, value });

describe('built-in metrics', () => {
  it('numeric-match compares numbers within tolerance and reads numeric strings', () => {
    const exact = metric('numeric-match', { absoluteTolerance: 1e-9, relativeTolerance: 0 });
    expect(exact.score({ parsed: ok(1250), target: '1,250', text: '' }).value).toBe(1);
    expect(exact.score({ parsed: ok('$18.00'), target: '18', text: '' }).value).toBe(1);
    expect(exact.score({ parsed: ok(17.9), target: '18', text: '' }).value).toBe(0);
    const loose = metric('numeric-match', { absoluteTolerance: 0, relativeTolerance: 0.01 });
    expect(loose.score({ parsed: ok(99.5), target: 100, text: '' }).value).toBe(1);
    expect(loose.score({ parsed: ok(98), target: 100, text: '' }).value).toBe(0);
  });

  it('numeric-match scores an unparseable answer 0 and refuses a non-numeric target', () => {
    const numeric = metric('numeric-match', { absoluteTolerance: 1e-9, relativeTolerance: 0 });
    expect(numeric.score({ parsed: { ok: false, reason: 'no number' }, target: '3', text: '' })).toEqual({ value: 0, details: { unparseable: 'no number' } });
    expect(numeric.score({ parsed: ok('three'), target: '3', text: '' })).toEqual({ value: 0, details: { notANumber: 'three' } });
    expect(() => numeric.score({ parsed: ok(3), target: '#### 3', text: '' })).toThrow(/target "#### 3" is not a number/);
  });

  it('exact-match normalises case and whitespace unless told not to', () => {
    const loose = metric('exact-match', { caseSensitive: false, normalizeWhitespace: true });
    expect(loose.score({ parsed: ok('  new   York '), target: 'New York', text: '' }).value).toBe(1);
    const strict = metric('exact-match', { caseSensitive: true, normalizeWhitespace: false });
    expect(strict.score({ parsed: ok('new york'), target: 'New York', text: '' }).value).toBe(0);
    expect(loose.score({ parsed: ok(42), target: '42', text: '' }).value).toBe(1);
    expect(loose.score({ parsed: { ok: false, reason: 'empty answer' }, target: 'x', text: '' }).value).toBe(0);
  });
});

describe('metrics added for evaluation depth', () => {
  it('f1 scores token overlap after normalisation, best over several targets', () => {
    const f1 = metric('f1');
    expect(f1.score({ parsed: ok('The Eiffel Tower!'), target: 'eiffel tower', text: '' }).value).toBe(1);
    expect(f1.score({ parsed: ok('tower in Paris'), target: 'Eiffel tower', text: '' }).value).toBeCloseTo(0.4);
    expect(f1.score({ parsed: ok('Paris'), target: ['London', 'paris'], text: '' }).value).toBe(1);
  });

  it('contains looks for the target in the answer text', () => {
    const contains = metric('contains', { on: 'text', normalize: true });
    expect(contains.score({ parsed: ok('x'), target: 'new york', text: 'I would say New York, clearly.' }).value).toBe(1);
    expect(contains.score({ parsed: ok('x'), target: 'york', text: 'Yorkshire' }).value).toBe(0);
  });

  it('regex matches a pattern, with the target substituted literally and invert', () => {
    const mentions = metric('regex', { pattern: '\\b{{target}}\\b', flags: '', on: 'text', invert: false });
    expect(mentions.score({ parsed: ok(''), target: '3.5', text: 'about 3.5 units' }).value).toBe(1);
    expect(mentions.score({ parsed: ok(''), target: '3.5', text: 'about 395 units' }).value).toBe(0);
    const forbidden = metric('regex', { pattern: 'as an ai', flags: 'i', on: 'text', invert: true });
    expect(forbidden.score({ parsed: ok(''), target: null, text: 'As an AI, I...' }).value).toBe(0);
  });

  it('template-verify checks each field declaratively and combines them', () => {
    const verify = metric('template-verify', {
      fields: {
        dose: { check: 'numeric', absoluteTolerance: 0.5, relativeTolerance: 0 },
        drug: { check: 'case-insensitive' },
        genes: { check: 'set', mode: 'contains', caseSensitive: false },
        code: { check: 'regex', pattern: '^[A-Z]{3}$', flags: '' },
      },
      combine: { atLeast: 3 },
    });
    const target = { dose: 10, drug: 'Venetoclax', genes: ['BCL2'] };
    const result = verify.score({ parsed: ok({ dose: 10.4, drug: 'venetoclax', genes: ['bcl2', 'MCL1'], code: 'abc' } as never), target, text: '' });
    expect(result.parts).toEqual({ dose: 1, drug: 1, genes: 1, code: 0 });
    expect(result.value).toBe(1);
    const all = metric('template-verify', { fields: { genes: { check: 'set', mode: 'equal', caseSensitive: false } }, combine: 'all' });
    expect(all.score({ parsed: ok({ genes: ['BCL2', 'MCL1'] } as never), target: { genes: ['BCL2'] }, text: '' }).value).toBe(0);
    expect(all.score({ parsed: { ok: false, reason: 'no reply' }, target: { genes: [] }, text: '' }).details).toMatchObject({ fields: { genes: { passed: false, reason: 'no reply' } } });
  });

  it('pass@k uses the unbiased estimator over the parsed samples', () => {
    expect(passAtK(10, 3, 1)).toBeCloseTo(0.3);
    expect(passAtK(10, 3, 5)).toBeCloseTo(1 - (7 * 6 * 5 * 4 * 3) / (10 * 9 * 8 * 7 * 6));
    expect(passAtK(5, 0, 2)).toBe(0);
    expect(passAtK(5, 4, 2)).toBe(1);
    expect(() => passAtK(2, 1, 3)).toThrow(/needs at least 3 samples/);
    const atTwo = createMetric({ id: 'pass-at-k', version: '1', args: { k: 2, of: { kind: 'numeric-match', name: 'n', absoluteTolerance: 1e-9, relativeTolerance: 0 } } });
    expect(atTwo.name).toBe('pass@2');
    const samples = [ok(4), ok(5), ok(4), { ok: false as const, reason: 'x' }];
    expect(atTwo.score({ parsed: ok(4), target: '4', text: '', candidates: samples })).toMatchObject({ value: passAtK(4, 2, 2), details: { n: 4, c: 2, k: 2 } });
  });
});
