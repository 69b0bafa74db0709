import { describe, expect, it } from 'vitest';
import { canonicalJson, hashValue } from './canonical-json.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('gives the same text for flat rows whatever their key order, on the fast path too', () => {
    expect(canonicalJson({ question: 'q', answer: '4', id: 1 })).toBe(canonicalJson({ id: 1, answer: '4', question: 'q' }));
    expect(canonicalJson({ b: 'x', a: null })).toBe('{"a":null,"b":"x"}');
  });

  it('refuses values JSON cannot hold faithfully', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/NaN at \$\.a/);
    expect(() => canonicalJson({ a: { b: () => 1 } })).toThrow(/function at \$\.a\.b/);
  });

  it('hashes meaning, not layout', () => {
    expect(hashValue({ x: [1, 2], y: 'z' })).toBe(hashValue({ y: 'z', x: [1, 2] }));
    expect(hashValue({ x: [1, 2] })).not.toBe(hashValue({ x: [2, 1] }));
    expect(hashValue({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });
});
