/**
 * Text that cannot drive a terminal. Model answers and dataset rows may hold escape sequences that clear the
 * screen, retitle the window, plant hyperlinks (OSC 8) or ring the bell, and bidi overrides that make a line
 * read differently from what it holds ("Trojan Source"). Each such character is shown as a visible escape
 * (`\x1b`, `\x9b`, `\u202e`), so the sequence it would start is printed as plain text. Newline and tab are kept;
 * backslashes are not escaped, so applying this twice changes nothing.
 *
 * Escaped: C0 controls but tab and newline (CR and BEL among them), ESC (so every CSI/OSC/DCS sequence is
 * neutered at its first byte), DEL, C1 controls U+0080-U+009F (single-character CSI and OSC), the bidi
 * embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069, and lone UTF-16 surrogates.
 */
const UNSAFE_TEXT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function visible(character: string): string {
  const code = character.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

export function terminalSafe(text: string): string {
  return text.replace(UNSAFE_TEXT, visible);
}

/**
 * Characters `JSON.stringify` leaves raw that a terminal may still act on or reorder: DEL, C1 controls, the
 * bidi controls, and the line and paragraph separators. Outside strings JSON holds none of them, so escaping
 * them as `\uXXXX` keeps the document's value exactly.
 */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `JSON.stringify`, with every character a terminal could act on written as a `\uXXXX` escape: parses to the same value. */
export function terminalSafeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
