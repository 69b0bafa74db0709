import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { candidate, describeStoreContract, downstream, newRun } from '../store-contract.test-suite.js';
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

describe('sqlite schema 6: task queries and read-only opening', () => {
  const withStore = async (test: (path: string) => Promise<void>) => {
    const folder = mkdtempSync(join(tmpdir(), 'assay-sqlite-'));
    try {
      const path = join(folder, 'store.db');
      const store = openSqliteStore(path);
      const run = newRun({ items: 3 });
      await store.createRun(run);
      await store.appendEvents({ runId: run.runId, owner: null, events: [candidate(0), ...downstream(0, 1), candidate(1), ...downstream(1, 0)], release: [] });
      await store.close();
      await test(path);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  };

  it('upgrades a schema-5 store: the scores already stored become queryable', async () => {
    await withStore(async (path) => {
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(path);
      db.exec("DROP TABLE task_scores; DROP INDEX tasks_by_failure; UPDATE meta SET value = '5' WHERE key = 'schema_version'");
      db.close();
      const store = openSqliteStore(path, { create: false });
      const [run] = await store.listRuns();
      const page = await store.queryTasks(run!.runId, { filter: { score: { name: 'accuracy', pass: true } }, limit: 10 });
      expect(page.rows.map((row) => row.ord)).toEqual([0]);
      await store.close();
    });
  });

  it('opened read-only, it reads, refuses every write, and an older schema is refused, not upgraded', async () => {
    await withStore(async (path) => {
      const before = readFileSync(path);
      const store = openSqliteStore(path, { readonly: true });
      const [run] = await store.listRuns();
      expect((await store.queryTasks(run!.runId, { limit: 2 })).rows.map((row) => row.ord)).toEqual([0, 1]);
      await expect(store.setRunStatus(run!.runId, 'partial', null)).rejects.toThrow();
      await store.close();
      expect(readFileSync(path).equals(before)).toBe(true);
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(path);
      db.exec("UPDATE meta SET value = '5' WHERE key = 'schema_version'");
      db.close();
      expect(() => openSqliteStore(path, { readonly: true })).toThrow(/schema 5 and is opened read-only/);
      expect(() => openSqliteStore(join(path, '..', 'absent.db'), { readonly: true })).toThrow(/no store here/);
    });
  });
});
