import type { SyntaxNode } from '@lezer/common';
import type { PyValue } from './expression.js';

export type Literal = { readonly ok: true; readonly value: PyValue } | { readonly ok: false; readonly construct: string };

const children = (node: SyntaxNode): SyntaxNode[] => {
  const out: SyntaxNode[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) if (child.name !== 'Comment') out.push(child);
  return out;
};

/**
 * The value of a Python literal (str, int, float, bool, None, and lists, tuples and dicts of them) read from
 * the syntax tree; anything else names what it is. Tuples become lists; dict keys must be strings.
 */
export function pythonLiteral(node: SyntaxNode, source: string): Literal {
  const text = source.slice(node.from, node.to);
  switch (node.name) {
    case 'None':
      return { ok: true, value: null };
    case 'Boolean':
      return { ok: true, value: text === 'True' };
    case 'Number':
      return pythonNumber(text);
    case 'String':
      return pythonString(text);
    case 'ContinuedString': {
      let joined = '';
      for (const part of children(node)) {
        const value = pythonLiteral(part, source);
        if (!value.ok) return value;
        if (typeof value.value !== 'string') return { ok: false, construct: 'a bytes literal' };
        joined += value.value;
      }
      return { ok: true, value: joined };
    }
    case 'FormatString':
      return { ok: false, construct: 'an f-string' };
    case 'UnaryExpression': {
      const [operator, operand] = children(node);
      const value = operand ? pythonLiteral(operand, source) : null;
      if (value?.ok && typeof value.value === 'number' && (source.slice(operator!.from, operator!.to) === '-' || source.slice(operator!.from, operator!.to) === '+')) {
        return { ok: true, value: source.slice(operator!.from, operator!.to) === '-' ? -value.value : value.value };
      }
      return { ok: false, construct: `the expression '${text.slice(0, 40)}' (not a literal)` };
    }
    case 'ParenthesizedExpression': {
      const inner = children(node).filter((child) => child.name !== '(' && child.name !== ')');
      return inner.length === 1 ? pythonLiteral(inner[0]!, source) : { ok: false, construct: 'a parenthesized expression' };
    }
    case 'ArrayExpression':
    case 'TupleExpression': {
      const values: PyValue[] = [];
      for (const item of children(node).filter((child) => !['[', ']', '(', ')', ','].includes(child.name))) {
        const value = pythonLiteral(item, source);
        if (!value.ok) return value;
        values.push(value.value);
      }
      return { ok: true, value: values };
    }
    case 'DictionaryExpression': {
      const parts = children(node).filter((child) => !['{', '}', ','].includes(child.name));
      const entries: [string, PyValue][] = [];
      for (let index = 0; index < parts.length; index += 3) {
        if (parts[index + 1]?.name !== ':') return { ok: false, construct: 'a dict with ** or a comprehension' };
        const key = pythonLiteral(parts[index]!, source);
        if (!key.ok) return key;
        if (typeof key.value !== 'string') return { ok: false, construct: 'a dict key that is not a string' };
        const value = pythonLiteral(parts[index + 2]!, source);
        if (!value.ok) return value;
        entries.push([key.value, value.value]);
      }
      // Object.fromEntries defines own properties, so a key such as "__proto__" is an ordinary key.
      return { ok: true, value: Object.fromEntries(entries) };
    }
    case 'SetExpression':
      return { ok: false, construct: 'a set literal in a constant (write a list)' };
    default:
      return { ok: false, construct: `the expression '${text.slice(0, 40)}' (not a literal)` };
  }
}

function pythonNumber(text: string): Literal {
  const clean = text.replace(/_/g, '');
  if (/[jJ]$/.test(clean)) return { ok: false, construct: 'a complex number' };
  let value: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(clean)) value = parseInt(clean.slice(2), 16);
  else if (/^0[oO][0-7]+$/.test(clean)) value = parseInt(clean.slice(2), 8);
  else if (/^0[bB][01]+$/.test(clean)) value = parseInt(clean.slice(2), 2);
  else if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(clean)) value = Number(clean);
  else return { ok: false, construct: `the number ${text}` };
  if (!Number.isFinite(value) || (Number.isInteger(value) && !/[.eE]/.test(clean) && !Number.isSafeInteger(value))) return { ok: false, construct: `the number ${text} (too large)` };
  return { ok: true, value };
}

const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '' };

/** A Python string literal's value: prefixes r and u, single or triple quotes, the escapes of str literals. */
export function pythonString(text: string): Literal {
  const match = /^([rRuUbBfF]{0,2})('''|"""|'|")([\s\S]*)\2$/.exec(text);
  if (!match) return { ok: false, construct: 'a string literal assay cannot read' };
  const prefix = match[1]!.toLowerCase();
  if (prefix.includes('b')) return { ok: false, construct: 'a bytes literal' };
  if (prefix.includes('f')) return { ok: false, construct: 'an f-string' };
  const body = match[3]!;
  if (prefix.includes('r')) return { ok: true, value: body };
  let out = '';
  for (let index = 0; index < body.length; index++) {
    const char = body[index]!;
    if (char !== '\\') {
      out += char;
      continue;
    }
    const next = body[index + 1];
    if (next === undefined) return { ok: false, construct: 'a string ending in a backslash' };
    if (next in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[next];
      index++;
    } else if (next === 'x' || next === 'u' || next === 'U') {
      const length = next === 'x' ? 2 : next === 'u' ? 4 : 8;
      const hex = body.slice(index + 2, index + 2 + length);
      if (!new RegExp(`^[0-9a-fA-F]{${length}}$`).test(hex) || parseInt(hex, 16) > 0x10ffff) return { ok: false, construct: `the escape \\${next}${hex}` };
      out += String.fromCodePoint(parseInt(hex, 16));
      index += 1 + length;
    } else if (/[0-7]/.test(next)) {
      const octal = /^[0-7]{1,3}/.exec(body.slice(index + 1))![0];
      out += String.fromCodePoint(parseInt(octal, 8));
      index += octal.length;
    } else if (next === 'N') {
      return { ok: false, construct: 'a \\N{...} escape' };
    } else {
      // Python keeps an unknown escape as it is, backslash included.
      out += `\\${next}`;
      index++;
    }
  }
  return { ok: true, value: out };
}

const FLAG_NAMES: Record<string, string> = { I: 'i', IGNORECASE: 'i', M: 'm', MULTILINE: 'm', S: 's', DOTALL: 's' };

/** `re.I | re.M` as JavaScript flags, or null when a flag has no equivalent. */
export function regexFlags(text: string): string | null {
  let flags = '';
  for (const part of text.split('|').map((piece) => piece.trim())) {
    const match = /^re\.([A-Z]+)$/.exec(part);
    const flag = match ? FLAG_NAMES[match[1]!] : undefined;
    if (!flag) return null;
    if (!flags.includes(flag)) flags += flag;
  }
  return flags;
}

/**
 * A Python regular expression as a JavaScript one, when the two read it the same. Constructs whose meaning
 * differs (\A, \Z, inline flags, (?P=name), conditionals, possessive quantifiers, the Unicode classes \w \d
 * \s \b, which are ASCII-only in a JavaScript pattern) are refused rather than approximated.
 */
export function translatePattern(pattern: string): { ok: true; pattern: string } | { ok: false; construct: string } {
  const refused: [RegExp, string][] = [
    [/\\[AZ]/, '\\A or \\Z'],
    [/\(\?[aiLmsux-]+[:)]/, 'inline flags'],
    [/\(\?P=/, '(?P=name)'],
    [/\(\?\(/, 'a conditional group'],
    [/[*+?}]\+/, 'a possessive quantifier'],
    [/\(\?>/, 'an atomic group'],
    [/\\[wWdDsSbB]/, '\\w, \\d, \\s or \\b (Unicode in Python, ASCII in assay)'],
  ];
  for (const [test, construct] of refused) if (test.test(pattern)) return { ok: false, construct };
  const converted = pattern.replace(/\(\?P</g, '(?<');
  try {
    new RegExp(converted, 'u');
  } catch {
    return { ok: false, construct: 'a pattern JavaScript cannot read' };
  }
  return { ok: true, pattern: converted };
}
