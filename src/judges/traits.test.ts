import { describe, expect, it } from 'vitest';
import { scriptedModels } from '../testing/plugin-context.js';
import { isAbstention } from './abstention.js';
import { rubricJudge } from './rubric.js';
import { localTraitScore, traitSchema } from './traits.js';

describe('rubric traits', () => {
  it('scores keyword lists with precision, recall and F1', () => {
    const trait = traitSchema.parse({ name: 'terms', kind: 'keywords', mustInclude: ['BCL2', 'apoptosis', 'venetoclax'], mustExclude: ['MCL1'] });
    const score = localTraitScore(trait as never, 'Venetoclax blocks BCL2; MCL1 is unaffected.');
    expect(score.parts).toEqual({ precision: 2 / 3, recall: 2 / 3, f1: 2 / 3 });
    expect(score.details).toMatchObject({ missing: ['apoptosis'], forbiddenFound: ['MCL1'] });
  });

  it('checks regex traits with case and inversion', () => {
    const polite = traitSchema.parse({ name: 'no-sorry', kind: 'regex', pattern: 'sorry', invert: true });
    expect(localTraitScore(polite as never, 'Sorry, no.').value).toBe(0);
    expect(localTraitScore(polite as never, 'Here you go.').value).toBe(1);
  });

  it('recognises refusals but not answers that merely mention them', () => {
    expect(isAbstention("I'm sorry, but I can't help with that request.")).toBe(true);
    expect(isAbstention('As an AI language model, I cannot provide medical advice.')).toBe(true);
    expect(isAbstention('The answer is 42. (I cannot stress enough how easy this was.)')).toBe(false);
  });

  it('aggregates a panel by majority, ties going to the lower grade', async () => {
    const judge = rubricJudge.create(
      rubricJudge.schema.parse({ kind: 'rubric', id: 'q', models: ['a', 'b'], aggregate: 'majority', traits: [{ name: 'grade', kind: 'score', min: 1, max: 5, description: 'g' }] }) as never,
    );
    const context = scriptedModels(['{"reasoning": "x", "grade": 5}', '{"reasoning": "y", "grade": 2}']);
    const judgment = await judge.judge({ item: { id: '1', input: 'q', target: 't', fields: {} }, answer: 'an answer', parsed: null }, context);
    expect(judgment.scores['q.grade']).toMatchObject({ value: 0.25, details: { answer: 2 } });
    expect(judgment.executions.map((execution) => execution.model)).toEqual(['a', 'b']);
  });

  it('adds the traits an item carries to the global ones', async () => {
    const judge = rubricJudge.create(
      rubricJudge.schema.parse({ kind: 'rubric', id: 'r', models: [], traits: [{ name: 'short', kind: 'regex', pattern: '^.{0,40}$' }], itemTraits: 'rubric' }) as never,
    );
    const fields = { rubric: [{ name: 'mentions-bcl2', kind: 'keywords', mustInclude: ['BCL2'] }] };
    const judgment = await judge.judge({ item: { id: '1', input: 'q', target: null, fields }, answer: 'It inhibits BCL2.', parsed: null }, scriptedModels([]));
    expect(Object.keys(judgment.scores)).toEqual(['r.short', 'r.mentions-bcl2']);
    expect(judgment.scores['r.mentions-bcl2']!.value).toBe(1);
    await expect(
      judge.judge({ item: { id: '2', input: 'q', target: null, fields: { rubric: [{ name: 'bad', kind: 'nope' }] } }, answer: 'x', parsed: null }, scriptedModels([])),
    ).rejects.toThrow(/item traits are invalid/);
  });

  it('takes traits from the item itself and refuses invalid ones', () => {
    expect(() => traitSchema.parse({ name: 'x', kind: 'score', min: 3, max: 3, description: 'd' })).toThrow(/max must be above min/);
    expect(() => traitSchema.parse({ name: 'x', kind: 'class', classes: ['a', 'b'], positive: ['c'], description: 'd' })).toThrow(/positive classes must be among classes/);
  });
});
