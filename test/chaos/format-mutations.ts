import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { Document, ODD_STRINGS, type RawText } from './tree-mutations.js';
import type { Random } from './random.js';

/** Field names of a dataset file, so row mutations can aim at the input, the target and the id. */
export interface DatasetFields {
  readonly input?: string;
  readonly target?: string;
  readonly id?: string;
}

/** A mutation of a parsed YAML or JSON config written as text (tags, aliases, several documents...). */
export type ConfigTextMutation = (document: Document, random: Random) => { note: string; append?: string } | null;

function mappingPaths(value: unknown, path: (string | number)[] = [], into: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(value)) value.forEach((member, index) => mappingPaths(member, [...path, index], into));
  else if (value !== null && typeof value === 'object') {
    into.push(path);
    for (const [key, member] of Object.entries(value)) mappingPaths(member, [...path, key], into);
  }
  return into;
}

function at(value: unknown, path: readonly (string | number)[]): Record<string | number, unknown> {
  return path.reduce<unknown>((node, part) => (node as Record<string | number, unknown>)[part], value) as Record<string | number, unknown>;
}

/** Replaces a random value under a random mapping with raw YAML text. */
function replaceWithRaw(document: Document, random: Random, raw: string): string | null {
  const candidates = mappingPaths(document.value).filter((path) => Object.keys(at(document.value, path)).length > 0);
  if (candidates.length === 0) return null;
  const path = random.pick(candidates);
  const mapping = at(document.value, path);
  const key = random.pick(Object.keys(mapping));
  mapping[key] = document.raw({ yaml: raw, json: raw });
  return [...path, key].join('.');
}

const TAGS = [
  '!!binary aGVsbG8=',
  '!!timestamp 2001-12-14',
  '!!set {a, b}',
  '!!omap [a: 1]',
  '!!pairs [a: 1, a: 2]',
  '!!float abc',
  '!!int 0x1F',
  '!custom value',
  '!!js/function "function () {}"',
  '!!str 12',
  '!!map {a: 1}',
  '!!seq [1]',
  "!!null ''",
  '!!bool yes',
  '!<tag:yaml.org,2002:str> verbatim',
];

function aliasBomb(levels: number): string {
  const names = 'abcdefghij';
  const parts = [`&a [${Array(10).fill('lol').join(', ')}]`];
  for (let level = 1; level < levels; level++) parts.push(`&${names[level]} [${Array(10).fill(`*${names[level - 1]}`).join(', ')}]`);
  return `[${parts.join(', ')}]`;
}

export const CONFIG_TEXT_MUTATIONS: Record<string, ConfigTextMutation> = {
  'yaml-tag': (document, random) => {
    const tag = random.pick(TAGS);
    const where = replaceWithRaw(document, random, tag);
    return where === null ? null : { note: `${where} set to ${tag}` };
  },
  'alias-bomb': (document, random) => {
    const levels = random.int(3, 9);
    const where = replaceWithRaw(document, random, aliasBomb(levels));
    return where === null ? null : { note: `${where} set to an alias bomb of ${levels} levels (10^${levels} nodes)` };
  },
  'undefined-alias': (document, random) => {
    const where = replaceWithRaw(document, random, '*nowhere');
    return where === null ? null : { note: `${where} set to an undefined alias` };
  },
  'anchor-alias': (document, random) => {
    const where = replaceWithRaw(document, random, '&same [*same]');
    return where === null ? null : { note: `${where} set to a self-referencing alias` };
  },
  'multi-document': (_document, random) => {
    const second = random.pick(['name: second\n', '{}\n', '', 'datasets: []\n']);
    return { note: 'a second YAML document appended', append: `\n---\n${second}` };
  },
  'complex-key': (_document, random) => {
    const key = random.pick(['? [a, b]\n: 1\n', '? {a: 1}\n: 2\n', '[1, 2]: x\n', '? |\n  block\n: 3\n']);
    return { note: 'a complex mapping key appended', append: `\n${key}` };
  },
  'duplicate-key': (document) => {
    const keys = Object.keys((document.value ?? {}) as object);
    if (keys.length === 0) return null;
    return { note: `top-level key ${keys[0]} written twice`, append: `\n${keys[0]}: again\n` };
  },
  'merge-key': (document, random) => {
    const where = replaceWithRaw(document, random, '{<<: {id: merged}, extra: 1}');
    return where === null ? null : { note: `${where} set to a mapping with a merge key` };
  },
};

type Row = Record<string, unknown>;
/** A mutation of the rows of a JSON or JSONL dataset that aims at the input, target and id fields. */
export type RowMutation = (rows: unknown[], fields: DatasetFields, document: Document, random: Random) => string | null;

function objectRows(rows: unknown[]): Row[] {
  return rows.filter((row): row is Row => row !== null && typeof row === 'object' && !Array.isArray(row));
}

function namedFields(fields: DatasetFields): string[] {
  return [fields.input, fields.target, fields.id].filter((field): field is string => field !== undefined && !field.includes('.'));
}

const ODD_VALUES = (document: Document, random: Random): unknown =>
  random.pick<() => unknown>([
    () => random.pick([0, -1, 1.5, 1e308, true, false, [], {}, ['a'], { nested: { deeper: 1 } }, '', ' ']),
    () => random.pick(ODD_STRINGS),
    () => 'y'.repeat(random.pick([10_000, 1_000_000])),
    () => document.raw({ yaml: '.nan', json: 'NaN' }),
    () => document.raw({ yaml: '"\\ud800"', json: '"\\udc00 lone"' }),
    () => document.raw({ yaml: '[[[[]]]]', json: `${'['.repeat(50_000)}${']'.repeat(50_000)}` }),
  ])();

export const ROW_MUTATIONS: Record<string, RowMutation> = {
  'missing-field': (rows, fields, _document, random) => {
    const names = namedFields(fields);
    const candidates = objectRows(rows);
    if (names.length === 0 || candidates.length === 0) return null;
    const field = random.pick(names);
    const count = random.int(1, Math.max(1, Math.floor(candidates.length / 3)));
    for (let index = 0; index < count; index++) delete random.pick(candidates)[field];
    return `field ${field} removed from ${count} row(s)`;
  },
  'duplicate-id': (rows, fields, _document, random) => {
    const candidates = objectRows(rows);
    if (!fields.id || fields.id.includes('.') || candidates.length < 2) return null;
    const from = random.pick(candidates);
    const to = random.pick(candidates.filter((row) => row !== from));
    const id = from[fields.id];
    to[fields.id] = random.chance(0.3) && typeof id === 'string' && /^\d+$/.test(id) ? Number(id) : id;
    return `id ${JSON.stringify(id)} given to a second row`;
  },
  'numeric-ids': (rows, fields, _document, random) => {
    const candidates = objectRows(rows);
    if (!fields.id || fields.id.includes('.') || candidates.length < 2) return null;
    candidates.forEach((row, index) => (row[fields.id!] = random.chance(0.5) ? index : String(index)));
    const twin = random.pick(candidates);
    twin[fields.id] = random.pick([1, '1', 1.0, '1.0', 0.1 + 0.2]);
    return 'ids rewritten as a mix of numbers and numeric strings';
  },
  'field-type': (rows, fields, document, random) => {
    const names = namedFields(fields);
    const candidates = objectRows(rows);
    if (names.length === 0 || candidates.length === 0) return null;
    const field = random.pick(names);
    const row = random.pick(candidates);
    const value = ODD_VALUES(document, random);
    row[field] = value;
    return `field ${field} of one row set to ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : JSON.stringify(value)}`;
  },
  'non-object-row': (rows, _fields, document, random) => {
    if (rows.length === 0) return null;
    const index = random.int(0, rows.length - 1);
    const replacement = random.pick<unknown>([[], [1, 2], 1, 'row', null, true, document.raw({ yaml: '.nan', json: 'NaN' })]);
    rows[index] = replacement;
    return `row ${index} replaced by ${JSON.stringify(replacement)}`;
  },
  'prototype-keys': (rows, _fields, _document, random) => {
    const candidates = objectRows(rows);
    if (candidates.length === 0) return null;
    const key = random.pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']);
    Object.defineProperty(random.pick(candidates), key, { value: random.pick([{ polluted: true }, 'x', 1, null]), enumerable: true, writable: true, configurable: true });
    return `key ${key} added to a row`;
  },
};

/** CSV mutations over the parsed cells; the result is written back as CSV (or as text for quoting faults). */
export type CsvMutation = (cells: string[][], random: Random) => { note: string; text?: string } | null;

export function readCsvCells(text: string): string[][] {
  return parseCsv(text, { relax_column_count: true, bom: true }) as string[][];
}

export function writeCsvCells(cells: string[][]): string {
  return stringifyCsv(cells);
}

export const CSV_MUTATIONS: Record<string, CsvMutation> = {
  'csv-cell': (cells, random) => {
    if (cells.length < 2) return null;
    const row = random.int(1, cells.length - 1);
    const column = random.int(0, cells[row]!.length - 1);
    const value = random.pick(['', ' ', 'a\nb', 'q"uote', ',', 'x'.repeat(100_000), ...ODD_STRINGS]);
    cells[row]![column] = value;
    return { note: `cell ${row}:${column} set to ${JSON.stringify(value.slice(0, 40))}` };
  },
  'csv-drop-header': (cells, random) => {
    const header = cells[0];
    if (!header || header.length === 0) return null;
    const column = random.int(0, header.length - 1);
    const [name] = header.splice(column, 1);
    return { note: `header column ${name} removed (rows keep their cells)` };
  },
  'csv-duplicate-header': (cells, random) => {
    const header = cells[0];
    if (!header || header.length < 2) return null;
    const from = random.int(0, header.length - 1);
    const to = random.pick([...header.keys()].filter((index) => index !== from));
    header[to] = header[from]!;
    return { note: `header ${header[from]} written twice` };
  },
  'csv-empty-header': (cells, random) => {
    const header = cells[0];
    if (!header || header.length === 0) return null;
    header[random.int(0, header.length - 1)] = random.pick(['', ' ', '__proto__', 'constructor']);
    return { note: 'a header cell blanked or renamed to a prototype key' };
  },
  'csv-ragged-row': (cells, random) => {
    if (cells.length < 2) return null;
    const row = random.int(1, cells.length - 1);
    if (random.chance(0.5)) cells[row]!.push('extra');
    else cells[row]!.pop();
    return { note: `row ${row} given one cell too many or too few` };
  },
  'csv-header-only': (cells) => {
    cells.splice(1);
    return { note: 'every row removed, the header kept' };
  },
  'csv-duplicate-row': (cells, random) => {
    if (cells.length < 2) return null;
    const row = random.int(1, cells.length - 1);
    cells.splice(random.int(1, cells.length), 0, [...cells[row]!]);
    return { note: `row ${row} duplicated` };
  },
  'csv-unbalanced-quote': (cells, random) => {
    const text = writeCsvCells(cells);
    const position = random.int(0, text.length);
    return { note: `a stray quote inserted at ${position}`, text: `${text.slice(0, position)}"${text.slice(position)}` };
  },
  'csv-delimiter': (cells, random) => {
    const delimiter = random.pick([';', '\t', '|']);
    return { note: `written with ${JSON.stringify(delimiter)} as the delimiter`, text: cells.map((row) => row.join(delimiter)).join('\n') };
  },
};

/** A karenina checkpoint whose header (type, context, top-level lists) is forged. */
export function forgeCheckpointHeader(document: Document, random: Random): string | null {
  const root = document.value;
  if (root === null || typeof root !== 'object' || Array.isArray(root)) return null;
  const header = root as Record<string, unknown>;
  const forgery = random.pick<[string, unknown]>([
    ['@type', random.pick(['Dataset', 'DataFeedItem', 'datafeed', '', null, 7, ['DataFeed']])],
    ['@context', random.pick([null, 'http://evil.example/', [], { '@vocab': 1 }])],
    ['dataFeedElement', random.pick([{}, 'items', 1, null, [null], [1, 'two'], [{}], [{ item: null }], [{ item: { text: 1 } }]])],
    ['hasPart', random.pick([{}, [{ item: { text: 'q' } }], 'x'])],
    ['rating', random.pick([{}, 'traits', 1, [null], [1], [{ additionalType: 7 }], [{ name: 5, description: 6 }]])],
    ['version', random.pick([null, 2, '999.0.0', { major: 1 }])],
  ]);
  header[forgery[0]] = forgery[1];
  return `header ${forgery[0]} forged as ${JSON.stringify(forgery[1])}`;
}

export type { RawText };
