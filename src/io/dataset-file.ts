import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { DatasetConfig } from '../config/experiment-schema.js';
import { canonicalJson, sha256Hex } from '../core/canonical-json.js';
import { DatasetError } from '../core/errors.js';
import { getField } from '../core/field-path.js';
import { choiceLetter } from '../core/prompt-template.js';
import { jsonSyntaxProblem } from './json-syntax.js';
import { readKareninaCheckpoint } from './karenina-checkpoint.js';
import { cacheDirectory, cachedIdentity, rememberIdentity, stampBefore, type DatasetIdentity } from './dataset-cache.js';

/** One row of a dataset, normalized. */
export interface DatasetItem {
  readonly datasetId: string;
  readonly itemId: string;
  readonly input: string;
  readonly target: unknown;
  readonly fields: Readonly<Record<string, unknown>>;
  /** Line in the file (JSONL, CSV) or index in the array (JSON, inline rows), for error messages. */
  readonly line: number;
}

/** `file:line` of an item, or `file[index]` / `dataset 'x' items[index]` where rows are array entries. */
export function itemLocation(dataset: LoadedDataset, item: DatasetItem): string {
  return rowLocation(dataset.config.id, dataset.path, dataset.format, item.line);
}

/**
 * The first row of a dataset lacks a field the config names (input, target or idField): most likely a typo in
 * the config, so the compiler reports it at that config field, with the columns the row has.
 */
export class MissingColumnError extends DatasetError {
  constructor(
    location: string,
    message: string,
    hint: string | undefined,
    readonly role: 'input' | 'target' | 'idField',
    readonly column: string,
    /** The file as the config names it, or null for inline items. */
    readonly file: string | null,
    /** Where the row is in it: `line 1`, `element 0`, `items[0]`, ... */
    readonly row: string,
    readonly columns: readonly string[],
  ) {
    super(location, message, hint ? { hint } : undefined);
  }
}

function rowWithin(format: LoadedDataset['format'], line: number): string {
  if (format === 'inline') return `items[${line}]`;
  if (format === 'karenina') return `dataFeedElement[${line}]`;
  return format === 'json' ? `element ${line}` : `line ${line}`;
}

function rowLocation(datasetId: string, path: string | null, format: LoadedDataset['format'], line: number): string {
  if (path === null) return `dataset '${datasetId}' items[${line}]`;
  if (format === 'karenina') return `${path} dataFeedElement[${line}]`;
  return format === 'json' ? `${path}[${line}]` : `${path}:${line}`;
}

export interface LoadedDataset {
  readonly config: DatasetConfig;
  /** Absolute path of the file, or null for inline rows. */
  readonly path: string | null;
  readonly format: 'jsonl' | 'csv' | 'json' | 'karenina' | 'inline';
  readonly items: readonly DatasetItem[];
  readonly fingerprint: string;
  /** Things the user should know about (e.g. parts of a karenina checkpoint that were skipped). */
  readonly warnings: readonly string[];
}

interface RawRow {
  readonly row: unknown;
  /** Line number, or index for array formats. */
  readonly line: number;
}

function unreadable(path: string, datasetId: string, error: unknown): DatasetError {
  const code = (error as NodeJS.ErrnoException).code;
  const what = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${(error as Error).message})`;
  return new DatasetError(path, `dataset '${datasetId}' file ${what}`, { hint: 'paths in a config are relative to the config file' });
}

function readText(path: string, datasetId: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw unreadable(path, datasetId, error);
  }
}

const CHUNK_BYTES = 1 << 20;

/**
 * The lines of a file, read a chunk at a time, so a large JSONL file is never one string in memory. Splitting
 * on the byte 0x0A is safe in UTF-8: it never occurs inside a multi-byte character.
 */
function* fileLines(path: string, datasetId: string): Generator<string> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw unreadable(path, datasetId, error);
  }
  try {
    let buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let filled = 0; // bytes of `buffer` holding data; [0, filled) starts at a line boundary
    for (;;) {
      if (filled === buffer.length) {
        // A line longer than the buffer: grow it.
        const larger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(larger, 0, 0, filled);
        buffer = larger;
      }
      let read: number;
      try {
        read = readSync(fd, buffer, filled, buffer.length - filled, null);
      } catch (error) {
        throw unreadable(path, datasetId, error);
      }
      if (read === 0) {
        if (filled > 0) yield buffer.toString('utf8', 0, filled);
        return;
      }
      const end = filled + read;
      let start = 0;
      for (let newline = buffer.indexOf(10, filled); newline !== -1 && newline < end; newline = buffer.indexOf(10, start)) {
        yield buffer.toString('utf8', start, newline);
        start = newline + 1;
      }
      buffer.copy(buffer, 0, start, end);
      filled = end - start;
    }
  } finally {
    closeSync(fd);
  }
}

function formatOf(config: DatasetConfig, path: string): 'jsonl' | 'csv' | 'json' | 'karenina' {
  if (config.format) return config.format;
  const extension = extname(path).toLowerCase();
  if (extension === '.jsonld') return 'karenina';
  if (extension === '.jsonl' || extension === '.ndjson') return 'jsonl';
  if (extension === '.csv') return 'csv';
  if (extension === '.json') return 'json';
  throw new DatasetError(path, `cannot tell the format from the extension '${extension}'`, { hint: 'set format: jsonl, csv or json on the dataset' });
}

function* jsonlRows(lines: Iterable<string>, path: string): Generator<RawRow> {
  let line = 0;
  for (const text of lines) {
    line++;
    const content = text.trim();
    if (content === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(content);
    } catch (error) {
      throw new DatasetError(`${path}:${line}`, jsonSyntaxProblem(error, content), { hint: 'each line of a JSONL file must be one JSON object' });
    }
    yield { row, line };
  }
}

function csvRows(text: string, path: string): RawRow[] {
  try {
    const records = parseCsv(text, { columns: true, skip_empty_lines: true, info: true, bom: true, relax_column_count: false }) as {
      record: Record<string, string>;
      info: { lines: number };
    }[];
    return records.map(({ record, info }) => ({ row: record, line: info.lines }));
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw new DatasetError(line ? `${path}:${line}` : path, `not valid CSV (${(error as Error).message})`);
  }
}

function jsonRows(text: string, path: string): RawRow[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new DatasetError(path, jsonSyntaxProblem(error, text));
  }
  if (!Array.isArray(document)) throw new DatasetError(path, 'expected a JSON array of objects', { hint: 'or use a .jsonl file with one object per line' });
  return document.map((row, index) => ({ row, line: index }));
}

/** A checkpoint's rows always have these fields; a config may still name others. */
function normalizedConfig(config: DatasetConfig, format: LoadedDataset['format']): DatasetConfig {
  return format === 'karenina' ? { ...config, input: config.input ?? 'question', target: config.target ?? 'answer', idField: config.idField ?? 'id' } : config;
}

/** What reading a whole dataset establishes, without keeping its rows. */
export interface DatasetSummary {
  /** The config with format defaults applied. */
  readonly config: DatasetConfig;
  /** Absolute path of the file, or null for inline rows. */
  readonly path: string | null;
  readonly format: LoadedDataset['format'];
  readonly fingerprint: string;
  readonly itemCount: number;
  readonly warnings: readonly string[];
}

/** A check applied to every row as it is read; it throws (with the row's location) to refuse the dataset. */
export type ItemCheck = (item: DatasetItem, location: string) => void;

/** A dataset known by its identity; its rows are read again each time they are asked for, never kept. */
export interface DatasetHandle {
  /** The config with format defaults applied. */
  readonly config: DatasetConfig;
  readonly path: string | null;
  readonly format: LoadedDataset['format'];
  readonly identity: DatasetIdentity;
  /** True when the identity came from the cache: the rows have not been read (nor checked) by this process. */
  readonly deferred: boolean;
  /** The rows, read from the file, in order; at the end the content is checked against the identity. */
  items(check?: ItemCheck): Generator<DatasetItem, void>;
}

/** The settings that decide what reading a file yields: any change is another cache entry. */
function readSettings(config: DatasetConfig, format: LoadedDataset['format']) {
  return { format, input: config.input ?? null, target: config.target ?? null, idField: config.idField ?? null, limit: config.limit ?? null, ...(config.choices !== undefined ? { choices: config.choices } : {}) };
}

/**
 * Opens a dataset for compiling a run. A file whose identity (fingerprint and row count) is cached for its
 * current size, times and inode is not read now. Otherwise it is read once, each row checked with `check`,
 * and its identity cached for next time; its rows are not kept either way.
 */
export function openDataset(config: DatasetConfig, directory: string, check?: ItemCheck): DatasetHandle {
  const path = config.path !== undefined ? resolve(directory, config.path) : null;
  const format = path !== null ? formatOf(config, path) : 'inline';
  const settings = readSettings(config, format);
  let identity = path !== null ? cachedIdentity(path, settings) : null;
  const deferred = identity !== null;
  if (!identity) {
    const before = path !== null ? stampBefore(path) : null;
    const summary = scanDataset(config, directory, check);
    identity = { fingerprint: summary.fingerprint, itemCount: summary.itemCount, warnings: summary.warnings };
    if (path !== null) rememberIdentity(path, before, settings, identity);
  }
  const known = identity;
  return {
    config: normalizedConfig(config, format),
    path,
    format,
    identity: known,
    deferred,
    *items(itemCheck?: ItemCheck) {
      // Rows this process has checked before (a fresh scan, or a check already passed) are read without one.
      const summary = yield* readItems(config, directory, itemCheck, itemCheck !== undefined);
      if (summary.fingerprint !== known.fingerprint || summary.itemCount !== known.itemCount) {
        const what = path ?? `dataset '${config.id}'`;
        throw new DatasetError(what, 'its content changed since assay first read it (its fingerprint no longer matches)', {
          hint: deferred ? `if it was rewritten in place, delete ${cacheDirectory()} and run the command again` : 'leave the dataset alone while assay runs, then run the command again',
        });
      }
    },
  };
}

/** Reads every row, checking each, and returns what identifies the dataset; no row is kept. */
export function scanDataset(config: DatasetConfig, directory: string, check?: ItemCheck): DatasetSummary {
  const reader = readItems(config, directory, check);
  for (;;) {
    const next = reader.next();
    if (next.done) return next.value;
  }
}

/**
 * Reads a dataset (file or inline rows) into items with stable ids, and fingerprints its content: any change
 * to any row changes the fingerprint, and with it the run id.
 */
export function loadDataset(config: DatasetConfig, directory: string, check?: ItemCheck): LoadedDataset {
  const items: DatasetItem[] = [];
  const reader = readItems(config, directory, check);
  for (;;) {
    const next = reader.next();
    if (next.done) return { ...next.value, items };
    items.push(next.value);
  }
}

/**
 * The rows of a dataset one at a time, validated, fingerprinted as they go; the summary comes last. With
 * `recheck` false the rows were read and checked before by this process (and the fingerprint at the end
 * proves they did not change), so ids given by the file are not tracked again for duplicates.
 */
function* readItems(datasetConfig: DatasetConfig, directory: string, check?: ItemCheck, recheck = true): Generator<DatasetItem, DatasetSummary> {
  let config = datasetConfig;
  let path: string | null = null;
  let format: LoadedDataset['format'] = 'inline';
  const warnings: string[] = [];
  let rows: Iterable<RawRow>;
  if (config.path !== undefined) {
    path = resolve(directory, config.path);
    format = formatOf(config, path);
    if (format === 'jsonl') {
      rows = jsonlRows(fileLines(path, config.id), path);
    } else if (format === 'karenina') {
      const text = readText(path, config.id);
      const checkpoint = readKareninaCheckpoint(text, path);
      rows = checkpoint.rows;
      if (checkpoint.warning) warnings.push(checkpoint.warning);
    } else {
      const text = readText(path, config.id);
      rows = format === 'csv' ? csvRows(text, path) : jsonRows(text, path);
    }
  } else {
    rows = (config.items ?? []).map((row, index) => ({ row, line: index }));
  }

  const where = (line: number) => rowLocation(config.id, path, format, line);
  config = normalizedConfig(config, format);
  if (config.input === undefined) throw new DatasetError(path ?? `dataset '${config.id}'`, `dataset '${config.id}' names no input field`, { hint: 'add input: <field> to the dataset' });
  const inputField = config.input;
  const hash = createHash('sha256');
  // Where each id was first seen, to report duplicates (and to number identical rows that have no id field):
  // the only per-row state kept.
  const seenIds = new Map<string, number>();
  const trackIds = recheck || config.idField === undefined;
  let count = 0;
  for (const raw of rows) {
    const { row } = raw;
    if (config.limit !== undefined && count >= config.limit) break;
    if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new DatasetError(where(raw.line), 'expected an object (one row)');
    let canonical: string;
    try {
      canonical = canonicalJson(row);
    } catch (error) {
      // A row nested deeper than the stack allows, or holding what JSON cannot (an inline item's NaN).
      const reason = error instanceof RangeError ? 'the row is nested too deeply to be read' : `the row cannot be read as JSON (${(error as Error).message})`;
      throw new DatasetError(where(raw.line), reason, { hint: 'fix or remove that row' });
    }
    hash.update(canonical).update('\n');
    const record = row as Record<string, unknown>;

    // A field the first row lacks is a config problem (a typo, the wrong file); a later row without it is a data one.
    const missing = (role: 'input' | 'target' | 'idField', field: string, message: string, hint?: string): DatasetError =>
      count === 0
        ? new MissingColumnError(where(raw.line), message, hint, role, field, datasetConfig.path ?? null, rowWithin(format, raw.line), Object.keys(record))
        : new DatasetError(where(raw.line), message, hint ? { hint } : undefined);
    const input = getField(record, inputField);
    if (input === undefined || input === null) {
      throw missing('input', inputField, `field '${inputField}' (the input of dataset '${config.id}') is missing`, 'check the dataset input field name');
    }
    let target: unknown = null;
    if (config.target !== undefined) {
      target = getField(record, config.target);
      if (target === undefined || target === null) {
        throw missing('target', config.target, `field '${config.target}' (the target of dataset '${config.id}') is missing`, 'check the dataset target field name');
      }
      if (config.choices !== undefined) {
        const chosen = choiceLetter(target, getField(record, config.choices));
        if ('problem' in chosen) throw new DatasetError(where(raw.line), `field '${config.choices}' (the choices of dataset '${config.id}'): ${chosen.problem}`, { hint: 'give the target as an option, its letter or its 0-based index' });
        target = chosen.letter;
      }
    }
    let itemId: string;
    if (config.idField !== undefined) {
      const value = getField(record, config.idField);
      if (value === undefined || value === null || value === '') {
        throw missing('idField', config.idField, `field '${config.idField}' (the id of dataset '${config.id}') is missing`);
      }
      itemId = String(value);
      const first = trackIds ? seenIds.get(itemId) : undefined;
      if (first !== undefined) {
        throw new DatasetError(where(raw.line), `duplicate id '${itemId}' (first at ${where(first)})`, { hint: 'ids must be unique within a dataset' });
      }
    } else {
      // Identical rows get the same content hash; later copies are numbered so every item stays distinct.
      const base = sha256Hex(canonical).slice(0, 16);
      itemId = base;
      for (let copy = 2; seenIds.has(itemId); copy++) itemId = `${base}~${copy}`;
    }
    if (trackIds) seenIds.set(itemId, raw.line);
    const item: DatasetItem = {
      datasetId: config.id,
      itemId,
      input: typeof input === 'string' ? input : JSON.stringify(input),
      target,
      fields: record,
      line: raw.line,
    };
    check?.(item, where(raw.line));
    count++;
    yield item;
  }
  if (count === 0) {
    throw new DatasetError(path ?? `dataset '${config.id}'`, 'the dataset has no rows');
  }
  return { config, path, format, fingerprint: hash.digest('hex'), itemCount: count, warnings };
}
