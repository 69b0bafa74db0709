import { constants } from 'node:os';
import { redactText } from '../core/redact.js';
import { terminalSafe, terminalSafeJson } from '../core/terminal-safe.js';

// Every line the CLI prints goes through these writers, so text from a model or a dataset never reaches the
// terminal raw: plain text is passed through `terminalSafe`, JSON through `terminalSafeJson` (same value).

/** Writes a value as pretty JSON on stdout (the only thing on stdout with --json); it parses to the exact value. */
export function printJson(value: unknown): void {
  process.stdout.write(`${terminalSafeJson(value, 2)}\n`);
}

/** Writes text (one line or several) on stdout, with control and bidi characters shown as escapes. */
export function printLine(text = ''): void {
  process.stdout.write(`${terminalSafe(text)}\n`);
}

/**
 * The same on stderr: errors, warnings and notices. Scrubbed of credentials too (a URL's password, a key
 * read from the environment), whatever built the line: a message is never the place for one.
 */
export function printErrorLine(text: string): void {
  process.stderr.write(`${terminalSafe(redactText(text))}\n`);
}

/** The exit code of a command a signal stopped (its finished work saved), as shells give it: 128 + the signal's number (130 after Ctrl+C, 143 after SIGTERM). */
export function stoppedExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

let stderrGone = false;
const stderrGoneListeners = new Set<() => void>();

/**
 * The reader of stderr went away (EPIPE: `assay worker 2>&1 | head`, or the `assay run --workers` parent of a
 * worker killed): from now on what goes to stderr is dropped, and the work goes on. Whoever needs to know (a
 * fleet worker, whose parent is gone) is told, once.
 */
export function stderrClosed(): void {
  if (stderrGone) return;
  stderrGone = true;
  process.stderr.write = ((_chunk: unknown, encodingOrDone?: unknown, done?: unknown) => {
    const callback = typeof encodingOrDone === 'function' ? encodingOrDone : done;
    if (typeof callback === 'function') queueMicrotask(() => (callback as () => void)());
    return true;
  }) as typeof process.stderr.write;
  for (const listener of stderrGoneListeners) listener();
}

/** Calls `listener` when stderr's reader goes away (at once if it is gone already); returns the unsubscribe. */
export function onStderrClosed(listener: () => void): () => void {
  if (stderrGone) listener();
  else stderrGoneListeners.add(listener);
  return () => stderrGoneListeners.delete(listener);
}

/** Longest error line printed; a longer one keeps its start and its end (where the advice is). */
const MAX_ERROR_LINE = 900;

/**
 * A user error as the one line it must be: line breaks folded into spaces, every quoted value and every run
 * of text without a space longer than 160 characters (a value quoted from a config or a dataset, which can
 * be megabytes) shortened to its start and its length, and the line, if still too long, cut in its middle.
 */
export function oneLine(text: string): string {
  const short = (value: string) => `${value.slice(0, 120)}… (${value.length} characters)`;
  const folded = text
    .replace(/\s*[\r\n]+\s*/g, ' ')
    .replace(/'([^']{161,})'|"([^"]{161,})"/g, (match, single: string | undefined, double: string | undefined) => (single !== undefined ? `'${short(single)}'` : `"${short(double!)}"`))
    .replace(/\S{161,}/g, short);
  if (folded.length <= MAX_ERROR_LINE) return folded;
  return `${folded.slice(0, 600)} … ${folded.slice(folded.length - (MAX_ERROR_LINE - 603))}`;
}

/** A plain-text table: columns padded to their widest cell; numbers right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[], indent = ''): string {
  // Made safe before measuring, so an escaped cell keeps its column aligned.
  const cells = [header, ...rows].map((row) => row.map((cell) => terminalSafe(String(cell))));
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => typeof row[column] === 'number'));
  return cells
    .map((row) =>
      indent +
      row
        .map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export function shortId(runId: string): string {
  return runId.slice(0, 12);
}

/** `$1.2345`, with what could not be priced said plainly. */
export function formatCost(cost: { total: number | null; unpriced: readonly string[] }): string {
  const total = cost.total === null ? 'unknown' : `$${cost.total.toFixed(cost.total < 1 ? 4 : 2)}`;
  return cost.unpriced.length > 0 ? `${total} (no price for ${cost.unpriced.join(', ')}; set price on them)` : total;
}
