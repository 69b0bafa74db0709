import type { CliResult } from '../support/cli.js';

/** What can go wrong with one command on one mutated input. */
export type Problem =
  | 'internal-error-exit-2'
  | 'unsettled-await-exit-13'
  | 'other-exit-code'
  | 'killed-by-signal'
  | 'hang'
  | 'stack-trace'
  | 'no-error-line'
  | 'multi-line-error'
  | 'overlong-line'
  | 'control-characters'
  | 'store-changed';

/** Longest line a user-facing message may have: enough for two absolute paths and a hint. */
export const MAX_LINE = 1000;

const STACK_LINE = /^\s+at .+(:\d+:\d+\)?|\(native\)|<anonymous>\)?)$/m;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/**
 * The rule for stderr: exit 0 or 1, never anything else. On exit 1, stderr is zero or more
 * `assay: warning: ` lines (things the config or data made worth saying, printed before the failure)
 * followed by exactly one `assay: error: ` line, the last (for a config with several problems, followed by
 * an indented line for each); no line is a stack frame, none holds a control
 * character, none is longer than MAX_LINE. On exit 0, stderr holds no stack trace.
 */
export function problemsOf(result: CliResult): Problem[] {
  const problems: Problem[] = [];
  if (result.signal !== null) problems.push('killed-by-signal');
  else if (result.code === 2) problems.push('internal-error-exit-2');
  else if (result.code === 13) problems.push('unsettled-await-exit-13');
  else if (result.code !== 0 && result.code !== 1) problems.push('other-exit-code');
  if (STACK_LINE.test(result.stderr) || result.stderr.includes('internal error')) problems.push('stack-trace');
  if (result.code !== 1) return problems;
  const all = result.stderr.replace(/\n$/, '').split('\n');
  // A config with several problems: its summary line is followed by one indented line per problem (at most
  // 20, and a count of the rest); those count as part of the one error.
  const errorAt = all.findIndex((line) => line.startsWith('assay: error: '));
  const listed = errorAt >= 0 && /problems in the config$/.test(all[errorAt]!) ? all.slice(errorAt + 1) : [];
  const lines = listed.length > 0 && listed.length <= 21 && listed.every((line) => line.startsWith('  ')) ? all.slice(0, errorAt + 1) : all;
  const last = lines[lines.length - 1]!;
  if (!last.startsWith('assay: error: ')) problems.push('no-error-line');
  if (lines.slice(0, -1).some((line) => !line.startsWith('assay: warning: '))) problems.push('multi-line-error');
  if (all.some((line) => line.length > MAX_LINE)) problems.push('overlong-line');
  if (all.some((line) => CONTROL.test(line))) problems.push('control-characters');
  return problems;
}
