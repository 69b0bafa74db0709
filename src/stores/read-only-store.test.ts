import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from './open-store.js';

describe('a store opened read-only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'assay-readonly-'));
  afterEach(() => rmSync(join(dir, 'store.db'), { force: true }));

  it('refuses every write before it reaches the backend, answers reads, and leaves the file as it was', async () => {
    const path = join(dir, 'store.db');
    await (await openStore(path, { create: true })).close();
    const before = readFileSync(path);
    const store = await openStore(path, { create: false, readonly: true });
    try {
      expect(await store.listRuns()).toEqual([]);
      await expect(store.deleteRun('0'.repeat(64))).rejects.toThrow(/opened read-only: deleteRun is refused/);
      await expect(store.releaseOwner('someone')).rejects.toThrow(/opened read-only: releaseOwner is refused/);
      await expect(store.setRunStatus('0'.repeat(64), 'completed', null)).rejects.toThrow(/opened read-only/);
    } finally {
      await store.close();
    }
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('is never created where there is none', async () => {
    const path = join(dir, 'nothing.db');
    await expect(openStore(path, { create: true, readonly: true })).rejects.toThrow(/no store here/);
    expect(existsSync(path)).toBe(false);
  });
});
