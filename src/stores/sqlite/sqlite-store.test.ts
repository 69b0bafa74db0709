import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeStoreContract } from '../store-contract.test-suite.js';
import { openSqliteStore } from './sqlite-store.js';
import { SCHEMA_SQL, SCHEMA_VERSION } from './schema.js';

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

describe('sqlite schema migrations', () => {
  it('opens a schema-2 store: its score totals keep their sums, their squares are unknown (null), new scores add both', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'assay-sqlite-'));
    try {
      const path = join(folder, 'old.db');
      // A schema-2 store: the current tables without score_totals.sum_sq, and schema_version 2.
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(path);
      db.exec(SCHEMA_SQL.replace(/\n\s*-- The sum of squared scores[^\n]*\n\s*sum_sq REAL,/, '').replace(/,\n\s*-- How many task leases[^\n]*\n\s*held_tasks INTEGER NOT NULL DEFAULT 0/, ''));
      db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', '2')").run();
      expect(db.prepare("SELECT name FROM pragma_table_info('score_totals') WHERE name = 'sum_sq'").all()).toEqual([]);
      db.prepare(`INSERT INTO runs (run_pk, run_id, name, snapshot, provenance, status, task_count, samples, has_judges, created_at, updated_at)
        VALUES (1, 'r', 'old', '{}', '{}', 'completed', 2, 1, 0, 'x', 'x')`).run();
      db.prepare("INSERT INTO score_totals (run_pk, model_index, prompt_index, metric, sum, count) VALUES (1, 0, 0, 'accuracy', 3, 4)").run();
      db.close();
      const store = openSqliteStore(path, { create: false });
      await store.close();
      const reopened = new Database(path, { readonly: true });
      expect(reopened.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({ value: String(SCHEMA_VERSION) });
      expect(reopened.prepare('SELECT sum, sum_sq, count FROM score_totals').all()).toEqual([{ sum: 3, sum_sq: null, count: 4 }]);
      reopened.close();
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
