import { getField } from './field-path.js';

/**
 * A prompt template: text with `{{name}}` placeholders. `{{input}}` is the item's input, `{{id}}` its id,
 * and any other name is a (dotted) field of the dataset row, e.g. `{{choices}}` or `{{meta.topic}}`.
 * A filter after a bar formats the value: `{{choices | letters}}` writes a list as lettered lines
 * (`A) 4`, `B) 5`, ...). `{{{{` writes a literal `{{`.
 */
export interface PromptTemplate {
  readonly source: string;
  readonly variables: readonly string[];
  render(values: TemplateValues): string;
}

export interface TemplateValues {
  readonly input: string;
  readonly id: string;
  readonly fields: Readonly<Record<string, unknown>>;
  /** What `{{fewShot}}` writes: the prompt's few-shot examples as text, when it has them in that format. */
  readonly fewShot?: string;
}

const PLACEHOLDER = /\{\{\{\{|\{\{\s*([A-Za-z_][\w.-]*)\s*(?:\|\s*([A-Za-z_][\w-]*)\s*)?\}\}/g;

/** The letters `{{x | letters}}` numbers options with, in order: as many options as letters. */
export const CHOICE_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** What a filter does to a placeholder's value before it is written. */
const FILTERS: Readonly<Record<string, (value: unknown) => string>> = {
  letters: (value) => {
    if (!Array.isArray(value)) return stringify(value);
    if (value.length > CHOICE_LETTERS.length) throw new TemplateError(`{{... | letters}} formats at most ${CHOICE_LETTERS.length} options, got ${value.length}`);
    return value.map((option, index) => `${CHOICE_LETTERS[index]!}) ${stringify(option)}`).join('\n');
  },
};

/** The filters a template may name after a bar, e.g. `{{choices | letters}}`. */
export const TEMPLATE_FILTERS: readonly string[] = Object.keys(FILTERS);

/** A template that names an unknown filter, or a value a filter cannot format. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** Compiles a template; throws a {@link TemplateError} when it names an unknown filter. */
export function compileTemplate(source: string): PromptTemplate {
  const literals: string[] = [];
  const names: string[] = [];
  const filters: (((value: unknown) => string) | undefined)[] = [];
  let cursor = 0;
  let pending = '';
  for (const match of source.matchAll(PLACEHOLDER)) {
    pending += source.slice(cursor, match.index);
    cursor = match.index + match[0].length;
    if (match[1] === undefined) {
      pending += '{{';
      continue;
    }
    const filter = match[2];
    if (filter !== undefined && !Object.hasOwn(FILTERS, filter)) {
      throw new TemplateError(`unknown filter '${filter}' in {{${match[1]} | ${filter}}}; known filters: ${TEMPLATE_FILTERS.join(', ')}`);
    }
    literals.push(pending);
    names.push(match[1]);
    filters.push(filter === undefined ? undefined : FILTERS[filter]);
    pending = '';
  }
  literals.push(pending + source.slice(cursor));
  return {
    source,
    variables: [...new Set(names)],
    render(values) {
      let text = literals[0]!;
      for (let index = 0; index < names.length; index++) {
        const value = lookup(names[index]!, values);
        text += (filters[index] ?? stringify)(value) + literals[index + 1]!;
      }
      return text;
    },
  };
}

function lookup(name: string, values: TemplateValues): unknown {
  if (name === 'input') return values.input;
  if (name === 'id') return values.id;
  if (name === 'fewShot' && values.fewShot !== undefined) return values.fewShot;
  return getField(values.fields, name);
}

function stringify(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The first variable of a template that an item does not have, if any. */
export function missingVariable(template: PromptTemplate, values: TemplateValues): string | undefined {
  return template.variables.find((name) => lookup(name, values) === undefined);
}

/**
 * The letter of a multiple-choice target among `options`: a string equal to an option's text (trimmed) is
 * that option, else a single letter within the options is itself, else a whole number (or digits) is a
 * 0-based index. A string saying why, when the target is none of them.
 */
export function choiceLetter(target: unknown, options: unknown): { letter: string } | { problem: string } {
  if (!Array.isArray(options) || options.length === 0) return { problem: 'the options are not a list' };
  if (options.length > CHOICE_LETTERS.length) return { problem: `more than ${CHOICE_LETTERS.length} options` };
  const letter = (index: number) => ({ letter: CHOICE_LETTERS[index]! });
  if (typeof target === 'string') {
    const text = target.trim();
    const index = options.findIndex((option) => stringify(option).trim() === text);
    if (index >= 0) return letter(index);
    const position = CHOICE_LETTERS.indexOf(text.toUpperCase());
    if (text.length === 1 && position >= 0 && position < options.length) return letter(position);
    if (/^\d+$/.test(text) && Number(text) < options.length) return letter(Number(text));
  } else if (typeof target === 'number' && Number.isInteger(target) && target >= 0 && target < options.length) {
    return letter(target);
  }
  return { problem: `the target ${JSON.stringify(target)} is neither one of the ${options.length} options, nor a letter A-${CHOICE_LETTERS[options.length - 1]!}, nor an index 0-${options.length - 1}` };
}
