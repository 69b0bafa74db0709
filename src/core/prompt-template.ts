import { getField } from './field-path.js';

/**
 * A prompt template: text with `{{name}}` placeholders. `{{input}}` is the item's input, `{{id}}` its id,
 * and any other name is a (dotted) field of the dataset row, e.g. `{{choices}}` or `{{meta.topic}}`.
 * `{{{{` writes a literal `{{`.
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
}

const PLACEHOLDER = /\{\{\{\{|\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/g;

export function compileTemplate(source: string): PromptTemplate {
  const literals: string[] = [];
  const names: string[] = [];
  let cursor = 0;
  let pending = '';
  for (const match of source.matchAll(PLACEHOLDER)) {
    pending += source.slice(cursor, match.index);
    cursor = match.index + match[0].length;
    if (match[1] === undefined) {
      pending += '{{';
      continue;
    }
    literals.push(pending);
    names.push(match[1]);
    pending = '';
  }
  literals.push(pending + source.slice(cursor));
  return {
    source,
    variables: [...new Set(names)],
    render(values) {
      let text = literals[0]!;
      for (let index = 0; index < names.length; index++) {
        text += stringify(lookup(names[index]!, values)) + literals[index + 1]!;
      }
      return text;
    },
  };
}

function lookup(name: string, values: TemplateValues): unknown {
  if (name === 'input') return values.input;
  if (name === 'id') return values.id;
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
