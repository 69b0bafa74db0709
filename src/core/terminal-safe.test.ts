import { describe, expect, it } from 'vitest';
import { terminalSafe, terminalSafeJson } from './terminal-safe.js';

/** Any character a terminal could act on: C0 but tab and newline, DEL, C1, bidi controls, lone surrogates. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('terminalSafe', () => {
  it('shows ESC, CSI and OSC sequences as text', () => {
    expect(terminalSafe('a\x1b[2Jb')).toBe('a\\x1b[2Jb');
    expect(terminalSafe('\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\')).toBe('\\x1b]8;;https://evil.example\\x1b\\click\\x1b]8;;\\x1b\\');
    expect(terminalSafe('\x1b]0;title\x07')).toBe('\\x1b]0;title\\x07');
  });

  it('escapes every C0 control but tab and newline, and DEL', () => {
    for (let code = 0; code < 0x20; code++) {
      const character = String.fromCharCode(code);
      const expected = code === 0x09 || code === 0x0a ? character : `\\x${code.toString(16).padStart(2, '0')}`;
      expect(terminalSafe(character), `U+${code.toString(16)}`).toBe(expected);
    }
    expect(terminalSafe('\x7f')).toBe('\\x7f');
    expect(terminalSafe('line 1\r\nline 2\tend')).toBe('line 1\\x0d\nline 2\tend');
  });

  it('escapes C1 controls (single-character CSI, OSC) but keeps the Latin-1 letters after them', () => {
    expect(terminalSafe('\u009b2J\u009d0;x\u0085')).toBe('\\x9b2J\\x9d0;x\\x85');
    expect(terminalSafe('\u00a0é\u00ff')).toBe('\u00a0é\u00ff');
  });

  it('escapes the bidi embeddings, overrides and isolates of Trojan Source', () => {
    const bidi = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'];
    for (const character of bidi) expect(terminalSafe(`x${character}y`)).toBe(`x\\u${character.charCodeAt(0).toString(16)}y`);
    expect(terminalSafe('\u2029')).toBe('\u2029');
  });

  it('escapes lone surrogates and keeps pairs', () => {
    expect(terminalSafe('\ud83d\ude00')).toBe('😀');
    expect(terminalSafe('a\ud83db')).toBe('a\\ud83db');
    expect(terminalSafe('a\ude00b')).toBe('a\\ude00b');
    expect(terminalSafe('\ude00\ud83d')).toBe('\\ude00\\ud83d');
  });

  it('leaves ordinary text, HTML and the replacement character alone, and is idempotent', () => {
    const text = '<script>alert("x")</script> 中文 العربية \ufffd 42';
    expect(terminalSafe(text)).toBe(text);
    const hostile = '\x1b[31mred\x07\u202e\u0000\ud800';
    expect(terminalSafe(terminalSafe(hostile))).toBe(terminalSafe(hostile));
    expect(RAW_CONTROL.test(terminalSafe(hostile))).toBe(false);
  });
});

describe('terminalSafeJson', () => {
  it('parses back to exactly the same value', () => {
    const value = { answer: '\x1b[2J\x07\u0000\u009b\u202e\u2066\u2028\u2029\x7f\ud800 <b>ok</b>', n: -1.5, list: ['\u0085'] };
    const text = terminalSafeJson(value, 2);
    expect(JSON.parse(text)).toEqual(value);
    expect(RAW_CONTROL.test(text)).toBe(false);
    expect(text).not.toMatch(/[\u2028\u2029]/);
    expect(text).toContain('\\u202e');
  });

  it('is JSON.stringify for ordinary values', () => {
    const value = { a: [1, 'two', null], b: { c: 'é中' } };
    expect(terminalSafeJson(value, 2)).toBe(JSON.stringify(value, null, 2));
  });
});
