import { z } from 'zod';
import { defineParser } from '../spec/definition.js';

const schema = z.strictObject({
  kind: z.literal('choice-letter'),
  /** The letters that are valid choices. */
  letters: z.string().regex(/^[A-Z]{2,26}$/, 'expected upper-case letters, e.g. ABCD').default('ABCDEFGHIJ'),
});

/**
 * The chosen option letter of a multiple-choice answer. Explicit statements win ("the answer is (C)",
 * "Answer: C"), then a letter in parentheses, then the last letter standing alone ("C." or "C)"); the
 * article "A" inside a sentence does not count.
 */
export const choiceLetterParser = defineParser({
  kind: 'choice-letter',
  version: '1',
  description: 'the chosen option letter (A-J by default)',
  schema,
  create(args) {
    const set = `[${args.letters}]`;
    const patterns = [
      new RegExp(`answer\\s*(?:is|:)?\\s*(?:option\\s*)?[(\\[]?(${set})[)\\]]?(?![A-Za-z])`, 'gi'),
      new RegExp(`[(\\[](${set})[)\\]]`, 'g'),
      new RegExp(`(?:^|[\\s*_])(${set})(?:[.):]|\\s*$)`, 'gm'),
    ];
    return {
      specificationVersion: 'assay.parser.v1',
      parse(text) {
        for (const pattern of patterns) {
          let last: string | undefined;
          for (const match of text.matchAll(pattern)) {
            const letter = match[1]!.toUpperCase();
            if (args.letters.includes(letter)) last = letter;
          }
          if (last !== undefined) return { ok: true, value: last };
        }
        return { ok: false, reason: `no choice among ${args.letters} in the answer` };
      },
    };
  },
});
