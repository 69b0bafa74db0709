import { StoreUnavailableError, type StoreFailureReason } from '../../core/errors.js';
import { diskIsFull, errnoFailure, folderIsReadOnly } from '../medium-failure.js';

/** SQLite primary result codes that mean the store's file, not assay, failed. */
const REASONS: Readonly<Record<string, StoreFailureReason>> = {
  SQLITE_FULL: 'disk_full',
  SQLITE_READONLY: 'read_only',
  SQLITE_PERM: 'read_only',
  SQLITE_IOERR: 'io',
  SQLITE_CANTOPEN: 'io',
  SQLITE_CORRUPT: 'corrupt',
  SQLITE_NOTADB: 'corrupt',
  SQLITE_BUSY: 'busy',
  SQLITE_LOCKED: 'busy',
};

/**
 * The store failure an error from better-sqlite3 (or the file system under it) stands for, or undefined when
 * it is not one (a constraint, a misuse: a bug), which the caller rethrows as it is.
 */
export function sqliteFailure(location: string, error: unknown): StoreUnavailableError | undefined {
  if (StoreUnavailableError.isInstance(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return errnoFailure(location, error);
  let reason = REASONS[code.split('_').slice(0, 2).join('_')];
  if (!reason) return undefined;
  // A generic I/O error (a WAL or shm file that cannot be created or grow) often has a plainer cause.
  if (reason === 'io' && folderIsReadOnly(location)) reason = 'read_only';
  else if (reason === 'io' && diskIsFull(location)) reason = 'disk_full';
  return new StoreUnavailableError(location, reason, { cause: error, detail: code });
}
