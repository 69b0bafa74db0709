import { z } from 'zod';
import { evaluateExpression, truthy, type Evaluation } from '../karenina/evaluate-expression.js';
import type { Expression, PyValue, TranslatedTemplate } from '../karenina/expression.js';
import { templateOfRow } from '../karenina/template-of-row.js';
import { defineMetric } from '../spec/definition.js';

const schema = z.strictObject({
  kind: z.literal('karenina-verify'),
  name: z.string().min(1).default('verify'),
});

/** The fields each comparison reads directly (`self.name`), by comparison id. */
export function fieldsOfComparisons(expression: Expression): Map<number, Set<string>> {
  const found = new Map<number, Set<string>>();
  const fieldsIn = (node: unknown, into: Set<string>) => {
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.op === 'field' && typeof record.name === 'string') into.add(record.name);
    for (const value of Object.values(record)) {
      if (Array.isArray(value)) value.forEach((entry) => fieldsIn(entry, into));
      else if (value !== null && typeof value === 'object') fieldsIn(value, into);
    }
  };
  const walk = (node: unknown) => {
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (record.op === 'compare' && typeof record.id === 'number') {
      const fields = new Set<string>();
      fieldsIn(record.operands, fields);
      found.set(record.id, fields);
    }
    for (const value of Object.values(record)) {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value !== null && typeof value === 'object') walk(value);
    }
  };
  walk(expression);
  return found;
}

/** Per field: true when every comparison evaluated that reads it held, null when none read it. */
function fieldResults(template: TranslatedTemplate, evaluation: Evaluation): Record<string, boolean | null> {
  const byComparison = fieldsOfComparisons(template.verify);
  const results: Record<string, boolean | null> = Object.fromEntries(template.fields.map((field) => [field.name, null]));
  for (const outcome of evaluation.comparisons) {
    for (const field of byComparison.get(outcome.id) ?? []) results[field] = (results[field] ?? true) && outcome.result;
  }
  return results;
}

const report = (evaluation: Evaluation) => ({ value: evaluation.value, error: evaluation.error, comparisons: evaluation.comparisons });

/**
 * Evaluates a karenina question's translated `verify()` on the fields the parsing model filled
 * (`karenina-template` parser): the score is 1 when it returns a true value. `verify_granular()` and
 * `verify_regex()`, where the template defines them, are the parts `granular` (in [0, 1]) and `regex`.
 * Every comparison's operands and outcome are kept in the details, so a stored run shows how it was decided.
 * Questions without a translated template get no score under this metric.
 */
export const kareninaVerifyMetric = defineMetric({
  kind: 'karenina-verify',
  version: '1',
  description: "evaluates each karenina question's translated verify() on the parsed template",
  requiresTarget: false,
  schema,
  create(args) {
    return {
      specificationVersion: 'assay.metric.v1',
      name: args.name,
      appliesTo: ({ fields }) => templateOfRow(fields) !== null,
      score({ parsed, fields, text }) {
        const template = templateOfRow(fields)!;
        const filled = parsed.ok && parsed.value !== null && typeof parsed.value === 'object' && !Array.isArray(parsed.value) ? (parsed.value as Record<string, PyValue>) : null;
        if (!filled) {
          return { value: 0, details: { reason: parsed.ok ? 'the parsed value is not a filled template' : parsed.reason, verify: null } };
        }
        const values = Object.fromEntries(template.fields.map((field) => [field.name, Object.prototype.hasOwnProperty.call(filled, field.name) ? (filled[field.name] ?? null) : null]));
        const scope = { fields: values, correct: template.correct };
        const verify = evaluateExpression(template.verify, scope);
        const parts: Record<string, number> = {};
        const details: Record<string, unknown> = { parsed: values, correct: template.correct, verify: report(verify), fieldResults: fieldResults(template, verify) };
        if (template.granular) {
          const granular = evaluateExpression(template.granular, scope);
          const value = typeof granular.value === 'boolean' ? Number(granular.value) : granular.value;
          details.granular = report(granular);
          if (typeof value === 'number' && value >= 0 && value <= 1) parts.granular = value;
          else details.granularProblem = granular.error ?? `verify_granular() returned ${JSON.stringify(granular.value)}, not a number in [0, 1]`;
        }
        if (template.regex) {
          const regex = evaluateExpression(template.regex.body, { ...scope, names: { [template.regex.parameter]: text } });
          details.regex = report(regex);
          parts.regex = regex.error === null && truthy(regex.value) ? 1 : 0;
        }
        return { value: verify.error === null && truthy(verify.value) ? 1 : 0, ...(Object.keys(parts).length > 0 ? { parts } : {}), details };
      },
    };
  },
});
