import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeStoreContract } from '../store-contract.test-suite.js';
import { openSqliteStore } from './sqlite-store.js';

let directory: string | undefined;

describeStoreContract('sqlite', {
  async create() {
    directory = mkdtempSync(join(tmpdir(), 'assay-sqlite-'));
    return openSqliteStore(join(directory, 'nested', 'store.db'));
  },
  async dispose() {
    if (directory) rmSync(directory, { recursive: true, force: true });
  },
});

describe('sqlite store files', () => {
  it('refuses a file that is not a store, and a missing one when asked not to create it', () => {
    const folder = mkdtempSync(join(tmpdir(), 'assay-sqlite-'));
    try {
      const notADatabase = join(folder, 'notes.db');
      writeFileSync(notADatabase, 'these are my notes, not a database'.repeat(200));
      expect(() => openSqliteStore(notADatabase)).toThrow(/not an assay store/);
      expect(() => openSqliteStore(join(folder, 'absent.db'), { create: false })).toThrow(/no store here/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
