import { z } from 'zod';
import { defineParser } from '../spec/definition.js';

const schema = z.strictObject({
  kind: z.literal('regex'),
  pattern: z.string().min(1).refine(isValidPattern, 'not a valid regular expression'),
  flags: z.string().regex(/^[imsu]*$/, 'only the flags i, m, s and u are allowed').default(''),
  /** A group number or name; by default the first group, or the whole match when there is none. */
  group: z.union([z.number().int().min(0), z.string().min(1)]).optional(),
  /** Which match to use when there are several. */
  occurrence: z.enum(['first', 'last']).default('last'),
});

function isValidPattern(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

export const regexParser = defineParser({
  kind: 'regex',
  version: '1',
  description: 'a regular expression match, or one of its groups',
  schema,
  create(args) {
    const expression = new RegExp(args.pattern, `${args.flags}g`);
    const hasGroups = new RegExp(`${args.pattern}|`).exec('')!.length > 1;
    const group = args.group ?? (hasGroups ? 1 : 0);
    return {
      specificationVersion: 'assay.parser.v1',
      parse(text) {
        let chosen: RegExpMatchArray | null = null;
        for (const match of text.matchAll(expression)) {
          chosen = match;
          if (args.occurrence === 'first') break;
        }
        if (chosen === null) return { ok: false, reason: `no match for /${args.pattern}/` };
        const value = typeof group === 'number' ? chosen[group] : chosen.groups?.[group];
        if (value === undefined) return { ok: false, reason: `group ${group} did not take part in the match` };
        return { ok: true, value };
      },
    };
  },
});
