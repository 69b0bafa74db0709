import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachedIdentity } from './dataset-cache.js';
import { openDataset } from './dataset-file.js';

const ROWS = '{"id":"a","q":"What is 1 + 1?","a":"2"}\n{"id":"b","q":"What is 2 + 2?","a":"4"}\n';

describe('dataset identity cache', () => {
  let directory: string;
  let cache: string;
  const config = { id: 'd', path: 'rows.jsonl', input: 'q', target: 'a', idField: 'id' } as const;
  /** Writes the rows and backdates the file, as a dataset written a while ago would be. */
  const write = (content: string, ageSeconds = 60) => {
    const path = join(directory, 'rows.jsonl');
    writeFileSync(path, content);
    const then = Date.now() / 1000 - ageSeconds;
    utimesSync(path, then, then);
    return path;
  };

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'assay-cache-'));
    cache = join(directory, 'cache');
    process.env.ASSAY_CACHE_DIR = cache;
  });
  afterEach(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it('reads a file once, then knows its identity without reading its rows', () => {
    const path = write(ROWS);
    const first = openDataset(config, directory);
    expect(first.deferred).toBe(false);
    expect(first.identity.itemCount).toBe(2);
    const second = openDataset(config, directory);
    expect(second.deferred).toBe(true);
    expect(second.identity).toEqual(first.identity);
    // The rows are still there on demand, and match.
    expect([...second.items()].map((item) => item.itemId)).toEqual(['a', 'b']);
    expect(cachedIdentity(path, { format: 'jsonl', input: 'q', target: 'a', idField: 'id', limit: null }, cache)?.fingerprint).toBe(first.identity.fingerprint);
  });

  it('misses when the file changes, even to the same size', () => {
    write(ROWS);
    const before = openDataset(config, directory).identity;
    write(ROWS.replace('"2"}', '"3"}'), 30); // same length, another answer, another mtime
    const after = openDataset(config, directory);
    expect(after.deferred).toBe(false);
    expect(after.identity.fingerprint).not.toBe(before.fingerprint);
  });

  it('misses when the same file is read with other settings', () => {
    write(ROWS);
    openDataset(config, directory);
    const limited = openDataset({ ...config, limit: 1 }, directory);
    expect(limited.deferred).toBe(false);
    expect(limited.identity.itemCount).toBe(1);
  });

  it('does not trust a file written moments ago', () => {
    write(ROWS, 0);
    openDataset(config, directory);
    expect(openDataset(config, directory).deferred).toBe(false);
  });

  it('refuses rows that no longer match a cached identity', () => {
    const path = write(ROWS);
    openDataset(config, directory);
    const handle = openDataset(config, directory);
    // Rewritten in place with the very same size and times: the cache cannot tell, the read can.
    writeFileSync(path, ROWS.replace('"2"}', '"3"}'));
    const then = Date.now() / 1000 - 60;
    utimesSync(path, then, then);
    expect(openDataset(config, directory).deferred).toBe(false); // ctime moved: a new stamp, a miss
    expect(() => [...handle.items()]).toThrow(/content changed since assay first read it/);
  });
});
