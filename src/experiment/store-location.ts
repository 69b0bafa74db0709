import { resolve } from 'node:path';
import { openSqliteStore } from '../stores/sqlite/sqlite-store.js';
import type { Store } from '../spec/store.js';

/** `$ASSAY_STORE`, else `.assay/assay.db` under the current directory. */
export function defaultStorePath(): string {
  return resolve(process.env.ASSAY_STORE ?? '.assay/assay.db');
}

/** Opens the store at a location. Only SQLite files for now; the location string is where other backends plug in. */
export function openStoreAt(location: string, options: { create: boolean }): Store {
  return openSqliteStore(location, { create: options.create });
}
