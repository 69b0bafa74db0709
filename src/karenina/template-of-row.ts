import type { TranslatedTemplate } from './expression.js';

/** The row field a karenina checkpoint's translated answer template is kept in. */
export const TEMPLATE_FIELD = 'answerTemplate';

/** The translated answer template of a dataset row, if it has one. */
export function templateOfRow(fields: Readonly<Record<string, unknown>> | undefined): TranslatedTemplate | null {
  const value = fields?.[TEMPLATE_FIELD];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const template = value as Partial<TranslatedTemplate>;
  return typeof template.translator === 'number' && Array.isArray(template.fields) && template.verify !== undefined ? (template as TranslatedTemplate) : null;
}
