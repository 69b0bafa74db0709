import { z } from 'zod';
import { canonicalJson } from '../core/canonical-json.js';
import { defineReducer } from '../spec/definition.js';

const schema = z.strictObject({ kind: z.literal('majority-vote') });

/**
 * Parses every candidate and keeps the most common parsed value. Ties go to the value whose first
 * supporter came earliest; unparseable candidates do not vote (when none parses, the first candidate is kept).
 * The reduced text is that of the first candidate holding the winning value; `sources` lists all its voters.
 */
export const majorityVoteReducer = defineReducer({
  kind: 'majority-vote',
  version: '1',
  description: 'the most common parsed value among the candidates',
  schema,
  create() {
    return {
      specificationVersion: 'assay.reducer.v1',
      async reduce(candidates, context) {
        const first = candidates[0];
        if (!first) throw new TypeError('no candidates to reduce');
        const votes = new Map<string, number[]>();
        for (const candidate of candidates) {
          const outcome = await context.parser.parse(candidate.text, context);
          if (!outcome.ok) continue;
          const key = canonicalJson(outcome.value);
          const voters = votes.get(key);
          if (voters) voters.push(candidate.sample);
          else votes.set(key, [candidate.sample]);
        }
        let winner: { key: string; voters: number[] } | null = null;
        for (const [key, voters] of votes) {
          if (winner === null || voters.length > winner.voters.length) winner = { key, voters };
        }
        if (winner === null) return { text: first.text, sources: [first.sample], details: { votes: {}, noParseableCandidate: true } };
        const chosen = candidates.find((candidate) => candidate.sample === winner.voters[0])!;
        const tally = Object.fromEntries([...votes].map(([key, voters]) => [key, voters.length]));
        return { text: chosen.text, sources: winner.voters, details: { votes: tally, winner: winner.key } };
      },
    };
  },
});
