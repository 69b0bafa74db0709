import { describe, expect, it } from 'vitest';
import { noModels } from '../testing/plugin-context.js';
import { createParser, createReducer } from '../registry.js';

const parser = createParser({ id: 'last-number', version: '1', args: {} });
const candidates = (...texts: string[]) => texts.map((text, sample) => ({ sample, text }));

describe('built-in reducers', () => {
  it('first keeps the first candidate', async () => {
    const reducer = createReducer({ id: 'first', version: '1', args: {} });
    expect(await reducer.reduce(candidates('a', 'b'), { ...noModels, parser })).toEqual({ text: 'a', sources: [0] });
  });

  it('majority-vote keeps the most common parsed value and records every voter', async () => {
    const reducer = createReducer({ id: 'majority-vote', version: '1', args: {} });
    const result = await reducer.reduce(candidates('It is 4', 'maybe 5', 'surely 4.0', 'no idea', 'I say 5', 'so 4'), { ...noModels, parser });
    expect(result.text).toBe('It is 4');
    expect(result.sources).toEqual([0, 2, 5]);
    expect(result.details).toMatchObject({ votes: { '4': 3, '5': 2 }, winner: '4' });
  });

  it('majority-vote breaks ties by the earliest supporter and survives no parseable answer', async () => {
    const reducer = createReducer({ id: 'majority-vote', version: '1', args: {} });
    expect((await reducer.reduce(candidates('x 7', 'y 3', 'z 3', 'w 7'), { ...noModels, parser })).sources).toEqual([0, 3]);
    expect(await reducer.reduce(candidates('none', 'nothing'), { ...noModels, parser })).toMatchObject({ text: 'none', sources: [0], details: { noParseableCandidate: true } });
  });
});
