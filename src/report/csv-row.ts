import { stringify } from 'csv-stringify/sync';

/**
 * One CSV record (RFC 4180 quoting), safe to open in a spreadsheet: a text cell starting with `=`, `+`, `-`,
 * `@`, tab or CR (or their full-width forms) gets a leading `'`, as OWASP's "CSV injection" advice says, so
 * `=HYPERLINK(...)` from a model's answer is shown as text, never run as a formula. Number cells stay numbers
 * (`-0.5` is written as is).
 */
export function csvRow(cells: readonly (string | number)[]): string {
  return stringify([cells as (string | number)[]], { escape_formulas: true });
}
