import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { FilesStore } from '../stores/files/files-store.js';
import { ResultsFileStore, resultsCsvError, resultsFileKind } from '../stores/files/results-file-store.js';
import { openSqliteStore } from '../stores/sqlite/sqlite-store.js';
import type { Store } from '../spec/store.js';
import { StoreError } from '../core/errors.js';
import { redactText } from '../core/redact.js';

/**
 * The store used when neither `--store` nor a config's `runtime.store` names one: `$ASSAY_STORE`, else
 * `.assay/assay.db` in `directory`: the config file's folder for a command given a config (every path in a
 * config is relative to it), the current directory otherwise (a run id, `assay runs`, `assay import`).
 */
export function defaultStorePath(directory = '.'): string {
  const fromEnv = process.env.ASSAY_STORE;
  if (fromEnv) return /^[a-z][a-z0-9+.-]*:\/\//i.test(fromEnv) ? fromEnv : resolve(fromEnv);
  return resolve(directory, '.assay', 'assay.db');
}

/** Where the default store is, for help texts and hints. */
export const STORE_RULE = 'a run started from a config is kept beside it, in <config folder>/.assay/assay.db';

/**
 * Opens the store at a location: a progressive save when the location is a results file with a `.state`
 * beside it (or the `.state` itself); a finished job's results JSON (read-only, told by its first bytes); else
 * an SQLite file (with `readonly`, opened so that nothing is ever written). A results CSV holds no run and is refused. The location string is where other backends plug in.
 */
export function openStoreAt(location: string, options: { create: boolean; readonly?: boolean }): Store {
  // A URL is never a file name: refused, not created as a folder called "postgres:".
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location)?.[1];
  if (scheme) {
    throw new StoreError(redactText(location), `${scheme}:// stores are not supported by this version of assay`, {
      hint: 'give a file path (an SQLite store), or a results file of a progressive save',
    });
  }
  const output = location.endsWith('.state') ? location.slice(0, -'.state'.length) : location;
  if (existsSync(`${output}.state`)) return FilesStore.open(resolve(output), { job: { config: null, datasetPaths: {} } });
  const results = resultsFileKind(location);
  if (results === 'json') return ResultsFileStore.open(location);
  if (results === 'csv') throw resultsCsvError(location);
  if (!options.create && !existsSync(location)) {
    throw new StoreError(resolve(location), 'no store here', { hint: `run an experiment first, or pass --store PATH (${STORE_RULE})` });
  }
  return openSqliteStore(location, { create: options.create, readonly: options.readonly ?? false });
}
