import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import type { DatasetConfig } from '../config/experiment-schema.js';
import { canonicalJson, sha256Hex } from '../core/canonical-json.js';
import { DatasetError } from '../core/errors.js';
import { getField } from '../core/field-path.js';
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

function readText(path: string, datasetId: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${(error as Error).message})`;
    throw new DatasetError(path, `dataset '${datasetId}' file ${what}`, { hint: 'paths in a config are relative to the config file' });
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

function* jsonlRows(text: string, path: string): Generator<RawRow> {
  let start = 0;
  let line = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    line++;
    const content = text.slice(start, end).trim();
    start = end + 1;
    if (content === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(content);
    } catch (error) {
      throw new DatasetError(`${path}:${line}`, `not valid JSON (${(error as Error).message})`, { hint: 'each line of a JSONL file must be one JSON object' });
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
    throw new DatasetError(path, `not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(document)) throw new DatasetError(path, 'expected a JSON array of objects', { hint: 'or use a .jsonl file with one object per line' });
  return document.map((row, index) => ({ row, line: index }));
}

/** A checkpoint's rows always have these fields; a config may still name others. */
function normalizedConfig(config: DatasetConfig, format: LoadedDataset['format']): DatasetConfig {
  return format === 'karenina' ? { ...config, input: config.input ?? 'question', target: config.target ?? 'answer', idField: config.idField ?? 'id' } : config;
}

/** A dataset known by its identity; its rows are read only when asked for. */
export interface DatasetHandle {
  /** The config with format defaults applied. */
  readonly config: DatasetConfig;
  readonly path: string | null;
  readonly format: LoadedDataset['format'];
  readonly identity: DatasetIdentity;
  /** True when the identity came from the cache and the rows have not been read. */
  readonly deferred: boolean;
  /** The rows (read once, on first call). */
  load(): LoadedDataset;
}

/** The settings that decide what reading a file yields: any change is another cache entry. */
function readSettings(config: DatasetConfig, format: LoadedDataset['format']) {
  return { format, input: config.input ?? null, target: config.target ?? null, idField: config.idField ?? null, limit: config.limit ?? null };
}

/**
 * Opens a dataset for compiling a run. A file whose identity (fingerprint and row count) is cached for its
 * current size, times and inode is not read now: its rows are read only if a run has to be created from it.
 * Otherwise it is read, validated and fingerprinted at once, and its identity cached for next time.
 */
export function openDataset(config: DatasetConfig, directory: string): DatasetHandle {
  if (config.path === undefined) return loadedHandle(loadDataset(config, directory));
  const path = resolve(directory, config.path);
  const format = formatOf(config, path);
  const settings = readSettings(config, format);
  const cached = cachedIdentity(path, settings);
  if (!cached) {
    const before = stampBefore(path);
    const loaded = loadDataset(config, directory);
    rememberIdentity(path, before, settings, { fingerprint: loaded.fingerprint, itemCount: loaded.items.length, warnings: loaded.warnings });
    return loadedHandle(loaded);
  }
  let loaded: LoadedDataset | undefined;
  return {
    config: normalizedConfig(config, format),
    path,
    format,
    identity: cached,
    get deferred() {
      return loaded === undefined;
    },
    load() {
      if (loaded) return loaded;
      const read = loadDataset(config, directory);
      if (read.fingerprint !== cached.fingerprint || read.items.length !== cached.itemCount) {
        throw new DatasetError(path, 'its content differs from what was cached for the same size, times and inode (was it rewritten in place within the same clock tick?)', {
          hint: `delete ${cacheDirectory()} and run the command again`,
        });
      }
      loaded = read;
      return loaded;
    },
  };
}

function loadedHandle(loaded: LoadedDataset): DatasetHandle {
  return {
    config: loaded.config,
    path: loaded.path,
    format: loaded.format,
    identity: { fingerprint: loaded.fingerprint, itemCount: loaded.items.length, warnings: loaded.warnings },
    deferred: false,
    load: () => loaded,
  };
}

/**
 * Reads a dataset (file or inline rows) into items with stable ids, and fingerprints its content: any change
 * to any row changes the fingerprint, and with it the run id.
 */
export function loadDataset(datasetConfig: DatasetConfig, directory: string): LoadedDataset {
  let config = datasetConfig;
  let path: string | null = null;
  let format: LoadedDataset['format'] = 'inline';
  const warnings: string[] = [];
  let rows: Iterable<RawRow>;
  if (config.path !== undefined) {
    path = resolve(directory, config.path);
    format = formatOf(config, path);
    const text = readText(path, config.id);
    if (format === 'karenina') {
      const checkpoint = readKareninaCheckpoint(text, path);
      rows = checkpoint.rows;
      if (checkpoint.warning) warnings.push(checkpoint.warning);
    } else {
      rows = format === 'jsonl' ? jsonlRows(text, path) : format === 'csv' ? csvRows(text, path) : jsonRows(text, path);
    }
  } else {
    rows = (config.items ?? []).map((row, index) => ({ row, line: index }));
  }

  const where = (line: number) => rowLocation(config.id, path, format, line);
  config = normalizedConfig(config, format);
  if (config.input === undefined) throw new DatasetError(path ?? `dataset '${config.id}'`, `dataset '${config.id}' names no input field`, { hint: 'add input: <field> to the dataset' });
  const inputField = config.input;
  const hash = createHash('sha256');
  const items: DatasetItem[] = [];
  const seenIds = new Set<string>();
  for (const raw of rows) {
    const { row } = raw;
    if (config.limit !== undefined && items.length >= config.limit) break;
    if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new DatasetError(where(raw.line), 'expected an object (one row)');
    const canonical = canonicalJson(row);
    hash.update(canonical).update('\n');
    const record = row as Record<string, unknown>;

    const input = getField(record, inputField);
    if (input === undefined || input === null) {
      throw new DatasetError(where(raw.line), `field '${inputField}' (the input of dataset '${config.id}') is missing`, { hint: 'check the dataset input field name' });
    }
    let target: unknown = null;
    if (config.target !== undefined) {
      target = getField(record, config.target);
      if (target === undefined || target === null) {
        throw new DatasetError(where(raw.line), `field '${config.target}' (the target of dataset '${config.id}') is missing`, { hint: 'check the dataset target field name' });
      }
    }
    let itemId: string;
    if (config.idField !== undefined) {
      const value = getField(record, config.idField);
      if (value === undefined || value === null || value === '') {
        throw new DatasetError(where(raw.line), `field '${config.idField}' (the id of dataset '${config.id}') is missing`);
      }
      itemId = String(value);
      if (seenIds.has(itemId)) {
        const first = items.find((item) => item.itemId === itemId)!;
        throw new DatasetError(where(raw.line), `duplicate id '${itemId}' (first at ${where(first.line)})`, { hint: 'ids must be unique within a dataset' });
      }
    } else {
      // Identical rows get the same content hash; later copies are numbered so every item stays distinct.
      const base = sha256Hex(canonical).slice(0, 16);
      itemId = base;
      for (let copy = 2; seenIds.has(itemId); copy++) itemId = `${base}~${copy}`;
    }
    seenIds.add(itemId);
    items.push({
      datasetId: config.id,
      itemId,
      input: typeof input === 'string' ? input : JSON.stringify(input),
      target,
      fields: record,
      line: raw.line,
    });
  }
  if (items.length === 0) {
    throw new DatasetError(path ?? `dataset '${config.id}'`, 'the dataset has no rows');
  }
  return { config, path, format, items, fingerprint: hash.digest('hex'), warnings };
}
