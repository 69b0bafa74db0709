import { accessSync, constants, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { StoreUnavailableError, type StoreFailureReason } from '../core/errors.js';

/** File-system error codes that mean the medium under a store failed, not assay. */
const ERRNO_REASONS: Readonly<Record<string, StoreFailureReason>> = {
  ENOSPC: 'disk_full',
  EDQUOT: 'disk_full',
  EFBIG: 'disk_full',
  EROFS: 'read_only',
  EACCES: 'read_only',
  EPERM: 'read_only',
  EIO: 'io',
};

/** Whether the file system holding `path` has (next to) no room left. */
export function diskIsFull(path: string): boolean {
  try {
    const stats = statfsSync(dirname(path));
    return stats.bavail * stats.bsize < 64 * 1024;
  } catch {
    return false;
  }
}

/** Whether the folder holding `path` refuses writes (a read-only mount, or no permission). */
export function folderIsReadOnly(path: string): boolean {
  try {
    accessSync(dirname(path), constants.W_OK);
    return false;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'EROFS' || code === 'EACCES' || code === 'EPERM';
  }
}

/** The store failure a file-system error stands for, or undefined when it is not one. */
export function errnoFailure(location: string, error: unknown): StoreUnavailableError | undefined {
  if (StoreUnavailableError.isInstance(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const reason = typeof code === 'string' ? ERRNO_REASONS[code] : undefined;
  return reason ? new StoreUnavailableError(location, reason, { cause: error, detail: code as string }) : undefined;
}
