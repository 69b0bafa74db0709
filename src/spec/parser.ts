
export type ParsedValue = string | number | boolean | null | readonly ParsedValue[] | { readonly [key: string]: ParsedValue };

/**
 * A parse either yields a value or records why the text could not be read. An unparseable answer is a
 * result, not an operational failure: it is scored (as wrong) rather than retried.
 */
export type ParseOutcome =
  | { readonly ok: true; readonly value: ParsedValue }
  | { readonly ok: false; readonly reason: string };

export interface Parser {
  readonly specificationVersion: 'assay.parser.v1';
  parse(text: string): ParseOutcome;
}
