import { z } from 'zod';
import { describeFields, readReply, replySchema, type ReplyField } from '../core/structured-reply.js';
import { templateOfRow } from '../karenina/template-of-row.js';
import { defineParser } from '../spec/definition.js';
import type { ParsedValue } from '../spec/parser.js';

const schema = z.strictObject({
  kind: z.literal('karenina-template'),
  /** The evaluator model that fills each question's answer template (karenina's parsing model). */
  model: z.string().min(1),
  /** Extra guidance for the parsing model. */
  instructions: z.string().optional(),
});

const SYSTEM =
  'You read an answer someone wrote and fill in a template with what that answer says. Report what the answer ' +
  'says, not what is true. Use null for anything the answer does not state. Reply with one JSON object only.';

/**
 * A parsing model fills the question's own answer template, translated from a karenina checkpoint (the
 * dataset row's `answerTemplate`): its fields, types and descriptions. A question without one is unparseable
 * here, with the reason; `karenina-verify` then leaves it unscored.
 */
export const kareninaTemplateParser = defineParser({
  kind: 'karenina-template',
  version: '1',
  description: "a parsing model fills each karenina question's translated answer template",
  schema,
  create(args) {
    return {
      specificationVersion: 'assay.parser.v1',
      async parse(text, context) {
        const template = templateOfRow(context.fields);
        if (!template) return { ok: false, reason: 'the question has no translated answer template' };
        const fields: ReplyField[] = template.fields.map((field) => ({
          name: field.name,
          type: field.type,
          description: field.description,
          ...(field.values ? { values: field.values } : {}),
          ...(field.optional ? { optional: true } : {}),
        }));
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
          responseFormat: { type: 'json', name: template.className.replace(/[^A-Za-z0-9_-]/g, '_') || 'answer_template', schema: replySchema(fields) },
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
