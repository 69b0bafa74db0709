import { describe, expect, it } from 'vitest';
import { createMetric } from '../registry.js';

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
