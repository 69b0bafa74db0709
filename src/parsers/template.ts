import { z } from 'zod';
import { describeFields, readReply, replySchema, type ReplyField } from '../core/structured-reply.js';
import { defineParser } from '../spec/definition.js';
import type { ParsedValue } from '../spec/parser.js';

export const templateFieldSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'field names are letters, digits and _'),
  type: z.enum(['string', 'number', 'integer', 'boolean', 'list', 'enum']),
  description: z.string().min(1),
  values: z.array(z.string().min(1)).min(1).optional(),
});

const schema = z
  .strictObject({
    kind: z.literal('template'),
    /** The evaluator model that fills the template. */
    model: z.string().min(1),
    fields: z.array(templateFieldSchema).min(1),
    /** Extra guidance for the parsing model. */
    instructions: z.string().optional(),
  })
  .refine((args) => args.fields.every((field) => (field.type === 'enum') === (field.values !== undefined)), {
    error: 'give values for enum fields, and only for them',
  });

const SYSTEM =
  'You read an answer someone wrote and fill in a template with what that answer says. Report what the answer ' +
  'says, not what is true. Use null for anything the answer does not state. Reply with one JSON object only.';

/**
 * A parsing model fills a declared answer template from the answer (structured output). The parsed value is
 * an object with one entry per field; checking it against the target is the `template-verify` metric's job.
 */
export const templateParser = defineParser({
  kind: 'template',
  version: '1',
  description: 'a parsing model fills a declared answer template',
  schema,
  create(args) {
    const fields = args.fields as ReplyField[];
    const responseFormat = { type: 'json' as const, name: 'answer_template', schema: replySchema(fields) };
    return {
      specificationVersion: 'assay.parser.v1',
      async parse(text, context) {
        const prompt = [
          context.input ? `Question:\n${context.input}\n` : '',
          `Answer to read:\n${text}\n`,
          `Fill these fields:\n${describeFields(fields)}`,
          args.instructions ? `\n${args.instructions}` : '',
          `\nReply with a JSON object with exactly the keys: ${fields.map((field) => field.name).join(', ')}.`,
        ].join('\n');
        let read: ReturnType<typeof readReply> | undefined;
        const result = await context.callModel(args.model, {
          system: SYSTEM,
          prompt,
          responseFormat,
          accept: (reply) => {
            read = readReply(reply.text, fields);
            return read.ok ? null : read.reason;
          },
        });
        if (!read?.ok) return { ok: false, reason: 'the parsing model reply could not be read', details: { reply: result.text } };
        return { ok: true, value: read.values as ParsedValue, details: { readAs: read.readAs, model: args.model, reply: result.text } };
      },
    };
  },
});
