import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../spec/event.js';
import type { Store } from '../spec/store.js';
import { PostgresServer, postgresBinaries } from '../testing/postgres-server.js';
import { copyRun } from './copy-run.js';
import { FilesStore } from './files/files-store.js';
import { openStore } from './open-store.js';
import { candidate, downstream, failure, newRun } from './store-contract.test-suite.js';

/**
 * `copyRun` page by page between a real SQLite file and a real PostgreSQL server: a run of thousands of tasks
 * copied with small pages comes out the same both ways, and a copy whose source fails after some pages were
 * written leaves no trace of the run in the destination (and the same copy then succeeds).
 */
const binaries = postgresBinaries();
const suite = binaries ? describe : describe.skip;

const ITEMS = 2_500; // x 2 models = 5,000 tasks
let server: PostgresServer;
let folder: string;
let databases = 0;

/**
 * A SQLite store holding one run of 5,000 tasks in every state a copy meets: finished (scored 0 or 1), failed
 * at generate, never claimed, and a few rewound to score and scored again (a history a replay does not give).
 */
async function sourceStore(): Promise<{ store: Store; runId: string }> {
  const store = await openStore(join(folder, `source-${++databases}.db`), { create: true });
  const run = newRun({ items: ITEMS });
  await store.createRun(run);
  const events: TaskEvent[] = [];
  for (let ord = 0; ord < run.taskCount; ord++) {
    if (ord % 10 === 9) continue;
    if (ord % 10 === 8) events.push({ taskOrd: ord, type: 'generate-failed', payload: { sample: 0, failure: failure('timeout') } } as TaskEvent);
    else events.push(candidate(ord), ...downstream(ord, ord % 3 === 0 ? 1 : 0));
  }
  for (let start = 0; start < events.length; start += 2_000) {
    await store.appendEvents({ runId: run.runId, owner: null, events: events.slice(start, start + 2_000), release: [] });
  }
  await store.rewind(run.runId, 'score', [0, 1, 2]);
  await store.appendEvents({ runId: run.runId, owner: null, events: [0, 1].map((ord) => downstream(ord, 1)[2]!), release: [] });
  await store.setRunStatus(run.runId, 'interrupted', null, 'budget');
  return { store, runId: run.runId };
}

/** Everything of a run that a copy must reproduce, read through the store. */
async function contents(store: Store, runId: string) {
  const run = await store.getRun(runId);
  const results = [];
  for (let after = -1; ; ) {
    const page = await store.readResults(runId, after, 1_000);
    results.push(...page.filter((row) => row.nextStage !== 0 || row.failed));
    if (page.length < 1_000) break;
    after = page.at(-1)!.ord;
  }
  return {
    // createdAt: a copy keeps when the run was made, not when it was copied.
    run: run && { name: run.name, createdAt: run.createdAt, status: run.status, completedThroughStage: run.completedThroughStage, interruptReason: run.interruptReason, taskCount: run.taskCount, snapshot: run.snapshot },
    results,
    items: await store.loadItems(runId),
    histogram: (await store.getStageHistogram(runId)).sort((left, right) => left.nextStage - right.nextStage || Number(left.failed) - Number(right.failed)),
    scores: await store.getScoreTotals(runId),
    usage: await store.getUsageTotals(runId),
    failures: await store.countFailures(runId),
  };
}

/** The store with one method that throws on its `call`-th call (a source that breaks partway through). */
function breakingOn(store: Store, method: keyof Store, call: number): Store {
  let calls = 0;
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== method) return value;
      return (...args: unknown[]) => {
        if (++calls === call) return Promise.reject(new Error(`the source broke at ${method} call ${call}`));
        return (value as (...parameters: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

const TABLES = ['runs', 'items', 'tasks', 'events', 'task_scores', 'stage_histogram', 'score_totals', 'usage_totals'];

async function rowCounts(location: string, database?: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  if (database) {
    for (const table of TABLES) counts[table] = Number((await server.sql(database, `SELECT count(*) AS n FROM assay.${table}`)).rows[0].n);
    return counts;
  }
  const db = new Database(location, { readonly: true });
  try {
    for (const table of TABLES) counts[table] = (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
  return counts;
}

suite(`copyRun page by page, SQLite and PostgreSQL (${binaries ?? 'no binaries'})`, () => {
  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'assay-copy-'));
    server = await PostgresServer.start();
  }, 120_000);
  afterAll(() => {
    server?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('copies a run of 5,000 tasks in pages of 128 SQLite -> PostgreSQL -> SQLite, each the same as the source, then unchanged', async () => {
    const { store: source, runId } = await sourceStore();
    const name = `copy_${++databases}`;
    const pg = await openStore(await server.createDatabase(name), { create: true });
    const back = await openStore(join(folder, 'back.db'), { create: true });
    try {
      const expected = await contents(source, runId);
      expect(expected.results.length).toBe(4_500);
      expect(expected.run?.status).toBe('interrupted');
      expect(await copyRun(source, pg, runId, { pageSize: 128 })).toBe('copied');
      expect(await contents(pg, runId)).toEqual(expected);
      expect(await copyRun(pg, back, runId, { pageSize: 77 })).toBe('copied');
      expect(await contents(back, runId)).toEqual(expected);
      // The rewound tasks kept their current results, not their history's.
      expect(expected.results.slice(0, 3).map((row) => [row.nextStage, row.scores])).toEqual([
        [5, { accuracy: 1 }],
        [5, { accuracy: 1 }],
        [3, null],
      ]);
      expect(await copyRun(source, pg, runId, { pageSize: 128 })).toBe('unchanged');
      expect(await copyRun(back, pg, runId, { pageSize: 1_000 })).toBe('unchanged');
    } finally {
      await Promise.all([source.close(), pg.close(), back.close()]);
    }
  }, 120_000);

  it('copies into a files store (which collects the pages: it holds its job in memory anyway)', async () => {
    const { store: source, runId } = await sourceStore();
    const files = FilesStore.open(join(folder, 'files', 'results.json'), { job: { config: { test: true }, datasetPaths: {} } });
    try {
      expect(await copyRun(source, files, runId, { pageSize: 300 })).toBe('copied');
      expect(await contents(files, runId)).toEqual(await contents(source, runId));
    } finally {
      await Promise.all([source.close(), files.close()]);
    }
  }, 120_000);

  for (const [method, call] of [
    ['readTaskEventsAt', 25], // of 45 pages: the 4,500 tasks with events, 100 a page
    ['loadItemsAt', 3],
  ] as const) {
    it(`a source that fails at ${method} call ${call} leaves neither store with the run, and the copy then succeeds`, async () => {
      const { store: source, runId } = await sourceStore();
      const name = `broken_${++databases}`;
      const pg = await openStore(await server.createDatabase(name), { create: true });
      const file = join(folder, `broken-${databases}.db`);
      const sqlite = await openStore(file, { create: true });
      try {
        const empty = await rowCounts(file);
        expect(Object.values(empty).every((count) => count === 0)).toBe(true);
        for (const [target, counts] of [
          [pg, () => rowCounts('', name)],
          [sqlite, () => rowCounts(file)],
        ] as const) {
          await expect(copyRun(breakingOn(source, method, call), target, runId, { pageSize: 100 })).rejects.toThrow(`the source broke at ${method}`);
          expect(await target.getRun(runId)).toBeUndefined();
          expect(await target.listRuns()).toEqual([]);
          expect(await counts()).toEqual(empty);
        }
        const expected = await contents(source, runId);
        expect(await copyRun(source, pg, runId, { pageSize: 100 })).toBe('copied');
        expect(await copyRun(source, sqlite, runId, { pageSize: 100 })).toBe('copied');
        expect(await contents(pg, runId)).toEqual(expected);
        expect(await contents(sqlite, runId)).toEqual(expected);
        expect((await rowCounts(file)).tasks).toBeGreaterThan(4_000);
      } finally {
        await Promise.all([source.close(), pg.close(), sqlite.close()]);
      }
    }, 120_000);
  }
});
