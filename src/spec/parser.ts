import type { PluginContext } from './plugin-context.js';

export type ParsedValue = string | number | boolean | null | readonly ParsedValue[] | { readonly [key: string]: ParsedValue };

/**
 * A parse either yields a value or records why the text could not be read. An unparseable answer is a
 * result, not an operational failure: it is scored (as wrong) rather than retried.
 */
export type ParseOutcome =
  | { readonly ok: true; readonly value: ParsedValue; readonly details?: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly reason: string; readonly details?: Readonly<Record<string, unknown>> };

export interface Parser {
  readonly specificationVersion: 'assay.parser.v1';
  /** Deterministic parsers return at once; a parser that asks a model returns a promise. */
  parse(text: string, context: PluginContext): ParseOutcome | Promise<ParseOutcome>;
}
