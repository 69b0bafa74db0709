import { describe, expect, it } from 'vitest';
import { readReply, replySchema, type ReplyField } from './structured-reply.js';

const fields: ReplyField[] = [
  { name: 'correct', type: 'boolean' },
  { name: 'score', type: 'integer', minimum: 1, maximum: 5 },
  { name: 'label', type: 'enum', values: ['good', 'bad'] },
  { name: 'notes', type: 'string' },
];

describe('readReply', () => {
  it('reads structured JSON, JSON inside prose, and labelled lines, saying which', () => {
    expect(readReply('{"correct": true, "score": 4, "label": "good", "notes": "none"}', fields)).toEqual({
      ok: true,
      readAs: 'structured',
      values: { correct: true, score: 4, label: 'good', notes: 'none' },
    });
    expect(readReply('Verdict below.\n```json\n{"correct": "no", "score": "2", "label": "BAD", "notes": null}\n```', fields)).toEqual({
      ok: true,
      readAs: 'json',
      values: { correct: false, score: 2, label: 'bad', notes: null },
    });
    expect(readReply('**correct**: yes\nscore: 5/5\nlabel: good\nnotes: fine', fields)).toEqual({
      ok: true,
      readAs: 'labelled',
      values: { correct: true, score: 5, label: 'good', notes: 'fine' },
    });
  });

  it('refuses replies with missing or out-of-range values, with the reason', () => {
    expect(readReply('{"correct": true}', fields)).toEqual({ ok: false, reason: 'the reply does not give score, label, notes' });
    expect(readReply('{"correct": true, "score": 9, "label": "good", "notes": ""}', fields)).toEqual({ ok: false, reason: 'score should be within 1..5, got 9' });
    expect(readReply('{"correct": "perhaps", "score": 1, "label": "good", "notes": ""}', fields)).toMatchObject({ ok: false, reason: expect.stringMatching(/correct should be true or false/) });
    expect(readReply('I cannot say.', fields)).toMatchObject({ ok: false });
  });

  it('builds a JSON Schema with every field required and nullable', () => {
    const schema = replySchema(fields) as { required: string[]; properties: Record<string, { type: string[]; enum?: unknown[] }> };
    expect(schema.required).toEqual(['correct', 'score', 'label', 'notes']);
    expect(schema.properties.score!.type).toEqual(['integer', 'null']);
    expect(schema.properties.label!.enum).toEqual(['good', 'bad', null]);
  });
});
