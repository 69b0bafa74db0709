import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { FilesStore, type FilesStoreOptions } from './files/files-store.js';
import { ResultsFileStore, resultsCsvError, resultsFileKind } from './files/results-file-store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import { ProgressiveReader } from './files/progressive-reader.js';
import { readOnlyStore } from './read-only-store.js';
import type { Store } from '../spec/store.js';
import { StoreError } from '../core/errors.js';
import { redactText } from '../core/redact.js';
import { redactStoreUrl } from './postgres/pg-url.js';

/** Where the default store is, for help texts and hints. */
export const STORE_RULE = 'a run started from a config is kept beside it, in <config folder>/.assay/assay.db';

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/** Whether a location is a URL (a server-backed store) rather than a path. */
export function isStoreUrl(location: string): boolean {
  return SCHEME.test(location);
}

/**
 * The store used when neither `--store` nor a config's `runtime.store` names one: `$ASSAY_STORE`, else
 * `.assay/assay.db` in `directory`: the config file's folder for a command given a config (every path in a
 * config is relative to it), the current directory otherwise (a run id, `assay runs`, `assay import`).
 */
export function defaultStorePath(directory = '.'): string {
  const fromEnv = process.env.ASSAY_STORE;
  if (fromEnv) return isStoreUrl(fromEnv) ? fromEnv : resolve(fromEnv);
  return resolve(directory, '.assay', 'assay.db');
}

/** A location fit for a message: a URL with its password removed, a path as it is. */
export function describeStoreLocation(location: string): string {
  return isStoreUrl(location) ? redactStoreUrl(location) : location;
}

/** Whether a store exists at a location without opening it (a URL is assumed to: the server says). */
export function storeMayExist(location: string): boolean {
  if (isStoreUrl(location)) return true;
  const output = location.endsWith('.state') ? location.slice(0, -'.state'.length) : location;
  return existsSync(location) || existsSync(`${output}.state`);
}

/**
 * Opens the store at a location, the one place that picks a backend: a `postgres://` or `postgresql://` URL
 * (PostgreSQL); a progressive save when the location is a results file with a `.state` beside it (or the
 * `.state` itself); a finished job's results JSON (read-only, told by its first bytes); else an SQLite file.
 * A results CSV holds no run and is refused, as is any other URL scheme. With `create: false` a store that
 * does not exist (no file, no assay schema in the database) is refused, and nothing is written. With
 * `readonly`, a reader's store (assay view) that refuses every write (read-only-store.ts) over a backend opened
 * read-only too: SQLite's read-only connection, PostgreSQL sessions that refuse writes, a progressive save
 * read without its job's lock and followed as its job writes.
 */
export async function openStore(location: string, options: { create: boolean; readonly?: boolean }): Promise<Store> {
  if (!options.readonly) return openBackend(location, options.create, false);
  return readOnlyStore(await openBackend(location, false, true));
}

async function openBackend(location: string, create: boolean, readonly: boolean): Promise<Store> {
  const scheme = SCHEME.exec(location)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    const { openPostgresStore } = await import('./postgres/postgres-store.js');
    return openPostgresStore(location, { create, readonly });
  }
  // Any other URL is never a file name: refused, not created as a folder called "mysql:".
  if (scheme) {
    throw new StoreError(redactText(location), `${scheme}:// stores are not supported by assay`, {
      hint: 'give a file path (an SQLite store), a postgres:// URL, or a results file of a progressive save',
    });
  }
  const output = location.endsWith('.state') ? location.slice(0, -'.state'.length) : location;
  if (existsSync(`${output}.state`)) {
    // A reader beside a job that may be running: no lock, nothing written, the job's progress as it comes.
    if (readonly) return ProgressiveReader.open(resolve(output));
    return FilesStore.open(resolve(output), { job: { config: null, datasetPaths: {} } });
  }
  const results = resultsFileKind(location);
  if (results === 'json') return ResultsFileStore.open(location);
  if (results === 'csv') throw resultsCsvError(location);
  if (!create && !existsSync(location)) {
    throw new StoreError(resolve(location), 'no store here', { hint: `run an experiment first, or pass --store PATH (${STORE_RULE})` });
  }
  return openSqliteStore(location, { create, readonly });
}

/** A progressive save: the run kept in plain files beside its output (`.tmp` and `.state`), one job. */
export type ProgressiveStore = FilesStore;

/** Opens (or starts) the progressive save of an output file for a job. */
export function openProgressiveSave(outputPath: string, job: FilesStoreOptions['job']): ProgressiveStore {
  return FilesStore.open(resolve(outputPath), { job });
}

/**
 * The store at a location when there is one, else null (no file; a database without assay's schema), with
 * nothing written: for a command that checks its input against what a store holds before creating it.
 */
export async function openExistingStore(location: string): Promise<Store | null> {
  if (!isStoreUrl(location)) return storeMayExist(location) ? openStore(location, { create: false }) : null;
  const { NoStoreError } = await import('./postgres/pg-pool.js');
  try {
    return await openStore(location, { create: false });
  } catch (error) {
    if (error instanceof NoStoreError) return null;
    throw error;
  }
}

/**
 * Whether a location is a store that holds exactly one run (a progressive save, a finished job's results
 * JSON): such a reference names its run by itself. A results CSV is refused (it holds no run).
 */
export function holdsOneRun(location: string): boolean {
  const output = location.endsWith('.state') ? location.slice(0, -'.state'.length) : location;
  if (existsSync(`${output}.state`)) return true;
  const results = resultsFileKind(location);
  if (results === 'csv') throw resultsCsvError(location);
  return results === 'json';
}
