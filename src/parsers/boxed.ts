import { z } from 'zod';
import { defineParser } from '../spec/definition.js';

const schema = z.strictObject({ kind: z.literal('boxed') });

/** The content of the last `\boxed{...}` (nested braces allowed), as math answers write it. */
export const boxedParser = defineParser({
  kind: 'boxed',
  version: '1',
  description: 'the content of the last \\boxed{...}',
  schema,
  create() {
    return {
      specificationVersion: 'assay.parser.v1',
      parse(text) {
        const start = Math.max(text.lastIndexOf('\\boxed{'), text.lastIndexOf('\\fbox{'));
        if (start < 0) return { ok: false, reason: 'no \\boxed{...} in the answer' };
        let depth = 0;
        const open = text.indexOf('{', start);
        for (let index = open; index < text.length; index++) {
          if (text[index] === '{') depth++;
          else if (text[index] === '}' && --depth === 0) {
            const value = text.slice(open + 1, index).trim();
            return value === '' ? { ok: false, reason: 'the box is empty' } : { ok: true, value };
          }
        }
        return { ok: false, reason: 'the last \\boxed{ is never closed' };
      },
    };
  },
});
