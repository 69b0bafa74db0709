import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { FilesStore } from '../stores/files/files-store.js';
import { ResultsFileStore, resultsCsvError, resultsFileKind } from '../stores/files/results-file-store.js';
import { openSqliteStore } from '../stores/sqlite/sqlite-store.js';
import type { Store } from '../spec/store.js';

/** `$ASSAY_STORE`, else `.assay/assay.db` under the current directory. */
export function defaultStorePath(): string {
  return resolve(process.env.ASSAY_STORE ?? '.assay/assay.db');
}

/**
 * Opens the store at a location: a progressive save when the location is a results file with a `.state`
 * beside it (or the `.state` itself); a finished job's results JSON (read-only, told by its first bytes); else
 * an SQLite file. A results CSV holds no run and is refused. The location string is where other backends plug in.
 */
export function openStoreAt(location: string, options: { create: boolean }): Store {
  const output = location.endsWith('.state') ? location.slice(0, -'.state'.length) : location;
  if (existsSync(`${output}.state`)) return FilesStore.open(resolve(output), { job: { config: null, datasetPaths: {} } });
  const results = resultsFileKind(location);
  if (results === 'json') return ResultsFileStore.open(location);
  if (results === 'csv') throw resultsCsvError(location);
  return openSqliteStore(location, { create: options.create });
}
