/**
 * What is wrong with text that JSON.parse refused, in a few words for one error line: the parser's reason
 * without the stretch of raw text it quotes (which can hold anything, newlines and NULs included), or the
 * likelier cause when the file is not UTF-8 at all.
 */
export function jsonSyntaxProblem(error: unknown, text: string): string {
  if (text.startsWith('\ufffd\ufffd') || text.includes('\u0000')) return 'the file is not UTF-8 text (UTF-16, or binary?); save it as UTF-8';
  const message = error instanceof Error ? error.message : String(error);
  const reason = message.replace(/,\s*"[\s\S]*" is not valid JSON$/, '').replace(/\s+/g, ' ');
  return `not valid JSON (${reason.length > 160 ? `${reason.slice(0, 160)}…` : reason})`;
}
