import type { Random } from './random.js';

/**
 * Mutations of a parsed document (a config, a JSON dataset, a checkpoint): they keep the syntax valid and
 * break the meaning. Values that plain data cannot hold (NaN, a 100,000-deep list, a YAML tag) are written as
 * placeholders that the serializer swaps for raw text.
 */
export interface RawText {
  /** As read by the YAML parser (YAML and JSON configs). */
  readonly yaml: string;
  /** As read by JSON.parse (JSON and JSONL datasets). */
  readonly json: string;
}

export class Document {
  readonly raws = new Map<string, RawText>();

  constructor(public value: unknown) {}

  /** A placeholder string that `serialize` replaces with `raw`. */
  raw(raw: RawText): string {
    const marker = `zzRAW${this.raws.size}zz`;
    this.raws.set(marker, raw);
    return marker;
  }

  /** Swaps the placeholders in serialized text for their raw text. */
  fill(text: string, as: keyof RawText): string {
    let filled = text;
    for (const [marker, raw] of this.raws) filled = filled.replace(new RegExp(`"${marker}"|${marker}`, 'g'), () => raw[as]);
    return filled;
  }
}

type Key = string | number;
interface Node {
  readonly path: readonly Key[];
  readonly value: unknown;
}

function nodes(value: unknown, path: Key[] = [], into: Node[] = []): Node[] {
  into.push({ path, value });
  if (Array.isArray(value)) value.forEach((member, index) => nodes(member, [...path, index], into));
  else if (value !== null && typeof value === 'object') for (const [key, member] of Object.entries(value)) nodes(member, [...path, key], into);
  return into;
}

function setAt(document: Document, path: readonly Key[], replacement: unknown): void {
  if (path.length === 0) {
    document.value = replacement;
    return;
  }
  let parent = document.value as Record<Key, unknown>;
  for (const part of path.slice(0, -1)) parent = parent[part] as Record<Key, unknown>;
  parent[path[path.length - 1]!] = replacement;
}

function describePath(path: readonly Key[]): string {
  return path.length === 0 ? '(root)' : path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`)).join('');
}

function pickNode(document: Document, random: Random, wanted: (value: unknown) => boolean = () => true): Node | undefined {
  const all = nodes(document.value);
  const inner = all.filter((node) => node.path.length > 0 && wanted(node.value));
  return inner.length > 0 ? random.pick(inner) : wanted(document.value) ? all[0] : undefined;
}

const isMapping = (value: unknown) => value !== null && typeof value === 'object' && !Array.isArray(value);
const isLeaf = (value: unknown) => value === null || typeof value !== 'object';

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

const WRONG_TYPES: readonly unknown[] = [0, 1, -1, 3.5, true, false, null, 'text', '', [], {}, [1, 'two'], { a: 1 }, ['x'], { kind: 'nope' }];

export const ODD_STRINGS: readonly string[] = [
  '\n',
  'two\nlines',
  'carriage\rreturn',
  'nul\u0000byte',
  '\u001b[31mred\u001b[0m',
  'toString',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  '../../../etc/passwd',
  '/',
  ' ',
  'with space',
  '💥',
  '{{input}}',
  '{{nope}}',
  '{{constructor}}',
  '{{{{',
  '*',
  '~',
  'null',
  'true',
  '1e999',
  '-0',
  'a.b.c',
  '.',
  '0',
  '(',
  '[a-',
  '(a+)+$',
  'x'.repeat(300),
];

function extremeNumber(document: Document, random: Random): { value: unknown; label: string } {
  const raw = random.pick<[string, RawText] | null>([
    ['NaN', { yaml: '.nan', json: 'NaN' }],
    ['Infinity', { yaml: '.inf', json: 'Infinity' }],
    ['-Infinity', { yaml: '-.inf', json: '-Infinity' }],
    ['a 30-digit integer', { yaml: '123456789012345678901234567890', json: '123456789012345678901234567890' }],
    ['1e999', { yaml: '1e999', json: '1e999' }],
    ['hex 0x1F', { yaml: '0x1F', json: '0x1F' }],
    null,
    null,
    null,
  ]);
  if (raw) return { value: document.raw(raw[1]), label: raw[0] };
  const value = random.pick([1e308, -1, 0, -0, 0.5, 1.5, 2 ** 53 + 1, 1e21, -2147483649, 4294967296, 1e-7, -1e308, 999_999_999]);
  return { value, label: String(value) };
}

function nested(depth: number, mapping: boolean): RawText {
  return mapping
    ? { yaml: `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`, json: `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` }
    : { yaml: `${'['.repeat(depth)}${']'.repeat(depth)}`, json: `${'['.repeat(depth)}${']'.repeat(depth)}` };
}

function longString(random: Random): string {
  const length = random.pick([5_000, 100_000, 1_000_000]);
  const unit = random.pick(['a', 'é', '漢', '😀', 'ab c\n', '{{input}} ']);
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
}

function nearMiss(key: string, random: Random): string {
  if (key.length < 2) return `${key}x`;
  const at = random.int(0, key.length - 1);
  return random.pick([key.slice(0, at) + key.slice(at + 1), key.toUpperCase(), `${key}s`, `${key} `, key.replace(/[A-Z]/, (letter) => `_${letter.toLowerCase()}`)]);
}

/** A tree mutation changes `document` in place and says what it did, or returns null when it does not apply. */
export type TreeMutation = (document: Document, random: Random) => string | null;

export const TREE_MUTATIONS: Record<string, TreeMutation> = {
  'wrong-type': (document, random) => {
    const node = pickNode(document, random);
    if (!node) return null;
    const candidates = WRONG_TYPES.filter((value) => typeOf(value) !== typeOf(node.value));
    const replacement = structuredClone(random.pick(candidates));
    setAt(document, node.path, replacement);
    return `${describePath(node.path)}: ${typeOf(node.value)} replaced by ${JSON.stringify(replacement)}`;
  },
  'delete-key': (document, random) => {
    const node = pickNode(document, random, (value) => isMapping(value) && Object.keys(value as object).length > 0);
    if (!node) return null;
    const key = random.pick(Object.keys(node.value as object));
    delete (node.value as Record<string, unknown>)[key];
    return `${describePath([...node.path, key])} deleted`;
  },
  'unknown-key': (document, random) => {
    const node = pickNode(document, random, isMapping);
    if (!node) return null;
    const existing = Object.keys(node.value as object);
    const key = existing.length > 0 && random.chance(0.5) ? nearMiss(random.pick(existing), random) : random.pick(['__proto__', 'constructor', 'extra', 'x-note', '', ' ', 'prototype', '$ref', '@id']);
    Object.defineProperty(node.value, key, { value: random.pick(WRONG_TYPES), enumerable: true, writable: true, configurable: true });
    return `unknown key ${JSON.stringify(key)} added at ${describePath(node.path)}`;
  },
  'extreme-number': (document, random) => {
    const numeric = pickNode(document, random, (value) => typeof value === 'number');
    const node = numeric && random.chance(0.75) ? numeric : pickNode(document, random, isLeaf);
    if (!node) return null;
    const { value, label } = extremeNumber(document, random);
    setAt(document, node.path, value);
    return `${describePath(node.path)} set to ${label}`;
  },
  'deep-nesting': (document, random) => {
    const node = pickNode(document, random);
    if (!node) return null;
    const depth = random.pick([64, 1_000, 10_000, 100_000]);
    const mapping = random.chance(0.5);
    setAt(document, node.path, document.raw(nested(depth, mapping)));
    return `${describePath(node.path)} replaced by ${depth} nested ${mapping ? 'mappings' : 'lists'}`;
  },
  'long-string': (document, random) => {
    const text = pickNode(document, random, (value) => typeof value === 'string');
    const node = text && random.chance(0.8) ? text : pickNode(document, random, isLeaf);
    if (!node) return null;
    const replacement = longString(random);
    setAt(document, node.path, replacement);
    return `${describePath(node.path)} set to a string of ${replacement.length} characters`;
  },
  'empty-string': (document, random) => {
    const node = pickNode(document, random, isLeaf);
    if (!node) return null;
    setAt(document, node.path, '');
    return `${describePath(node.path)} set to ''`;
  },
  null: (document, random) => {
    const node = pickNode(document, random);
    if (!node) return null;
    setAt(document, node.path, null);
    return `${describePath(node.path)} set to null`;
  },
  'odd-string': (document, random) => {
    const text = pickNode(document, random, (value) => typeof value === 'string');
    const node = text && random.chance(0.8) ? text : pickNode(document, random, isLeaf);
    if (!node) return null;
    const replacement = random.chance(0.1) ? document.raw({ yaml: '"\\ud800"', json: '"\\ud800"' }) : random.pick(ODD_STRINGS);
    setAt(document, node.path, replacement);
    return `${describePath(node.path)} set to ${JSON.stringify(replacement)}`;
  },
  'duplicate-entry': (document, random) => {
    const node = pickNode(document, random, (value) => Array.isArray(value) && value.length > 0);
    if (!node) return null;
    const list = node.value as unknown[];
    const index = random.int(0, list.length - 1);
    list.splice(random.int(0, list.length), 0, structuredClone(list[index]));
    return `${describePath([...node.path, index])} duplicated`;
  },
  'empty-list': (document, random) => {
    const node = pickNode(document, random, Array.isArray);
    if (!node) return null;
    setAt(document, node.path, []);
    return `${describePath(node.path)} emptied`;
  },
  'wrap-in-list': (document, random) => {
    const node = pickNode(document, random);
    if (!node) return null;
    if (Array.isArray(node.value) && random.chance(0.5)) {
      setAt(document, node.path, node.value[0] ?? null);
      return `${describePath(node.path)} unwrapped to its first entry`;
    }
    setAt(document, node.path, [node.value]);
    return `${describePath(node.path)} wrapped in a list`;
  },
};
