import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { hashValue } from '../core/canonical-json.js';

/**
 * What reading a dataset file establishes about it, without its rows: enough to derive the run id. Cached per
 * file so that reopening a run of a million rows does not read and hash them all again.
 */
export interface DatasetIdentity {
  readonly fingerprint: string;
  readonly itemCount: number;
  readonly warnings: readonly string[];
}

/** Bumped whenever what a fingerprint covers, or how it is computed, changes. */
const CACHE_VERSION = 1;

/**
 * A file's metadata vouches for its content only if the file was last written a while before we read it:
 * a write within the same timestamp tick as our read could change the content but not the stamp (git's
 * "racy" entries). Timestamps with whole seconds come from coarse filesystems (FAT keeps 2 s).
 */
function racyWindowNs(mtimeNs: bigint): bigint {
  return mtimeNs % 1_000_000_000n === 0n ? 2_500_000_000n : 100_000_000n;
}

/** `$ASSAY_CACHE_DIR`, else `$XDG_CACHE_HOME/assay`, else `~/.cache/assay`. */
export function cacheDirectory(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.ASSAY_CACHE_DIR) return env.ASSAY_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'assay');
}

interface FileStamp {
  readonly path: string;
  readonly size: string;
  readonly mtimeNs: string;
  readonly ctimeNs: string;
  readonly ino: string;
  readonly dev: string;
}

function stampOf(path: string): { stamp: FileStamp; mtimeNs: bigint } | null {
  try {
    const stat = statSync(path, { bigint: true });
    return {
      stamp: { path, size: String(stat.size), mtimeNs: String(stat.mtimeNs), ctimeNs: String(stat.ctimeNs), ino: String(stat.ino), dev: String(stat.dev) },
      mtimeNs: stat.mtimeNs,
    };
  } catch {
    return null;
  }
}

/** The cache entry name for a file read with a given dataset config: any change to either is another entry. */
function entryPath(directory: string, stamp: FileStamp, readSettings: unknown): string {
  return join(directory, 'datasets', `${hashValue({ version: CACHE_VERSION, stamp, readSettings })}.json`);
}

/**
 * The identity of a dataset file as last computed, if the file has not changed since (same path, size,
 * modification and change times, inode and device) and the same settings read it. Any doubt is a miss.
 */
export function cachedIdentity(path: string, readSettings: unknown, directory = cacheDirectory()): DatasetIdentity | null {
  const current = stampOf(path);
  if (!current) return null;
  try {
    const entry = JSON.parse(readFileSync(entryPath(directory, current.stamp, readSettings), 'utf8')) as Partial<DatasetIdentity>;
    if (typeof entry.fingerprint !== 'string' || typeof entry.itemCount !== 'number' || !Array.isArray(entry.warnings)) return null;
    return { fingerprint: entry.fingerprint, itemCount: entry.itemCount, warnings: entry.warnings };
  } catch {
    return null;
  }
}

/** A file's stamp taken just before reading it, with the time of the reading. */
export interface ReadStamp {
  readonly stamp: FileStamp;
  readonly mtimeNs: bigint;
  readonly readAtNs: bigint;
}

/** The stamp of a file before reading it, to hand to `rememberIdentity` afterwards. */
export function stampBefore(path: string): ReadStamp | null {
  const current = stampOf(path);
  return current ? { ...current, readAtNs: BigInt(Date.now()) * 1_000_000n } : null;
}

/**
 * Remembers a file's identity, computed from a read that started at `before`. Nothing is kept when the
 * file changed during the read, or had been written too shortly before it to be told apart from a later
 * write; a cache that cannot be written is simply not used.
 */
export function rememberIdentity(path: string, before: ReadStamp | null, readSettings: unknown, identity: DatasetIdentity, directory = cacheDirectory()): void {
  if (!before || before.readAtNs - before.mtimeNs <= racyWindowNs(before.mtimeNs)) return;
  const after = stampOf(path);
  if (!after || JSON.stringify(before.stamp) !== JSON.stringify(after.stamp)) return;
  try {
    const target = entryPath(directory, after.stamp, readSettings);
    mkdirSync(join(directory, 'datasets'), { recursive: true });
    const scratch = `${target}.${process.pid}.tmp`;
    writeFileSync(scratch, JSON.stringify(identity));
    renameSync(scratch, target);
  } catch {
    // A read-only home or a full disk costs speed, not correctness.
  }
}
