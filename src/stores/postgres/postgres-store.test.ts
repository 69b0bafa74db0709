import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashValue } from '../../core/canonical-json.js';
import type { TaskEvent } from '../../spec/event.js';
import type { Store } from '../../spec/store.js';
import { testProvenance, testSnapshot } from '../../testing/snapshot.js';
import { candidate, describeStoreContract, downstream, failure, newRun } from '../store-contract.test-suite.js';
import { openStore } from '../open-store.js';
import { PostgresServer, postgresBinaries } from '../../testing/postgres-server.js';

const binaries = postgresBinaries();
const PROVENANCE = testProvenance('concurrent');
/** Creates a run of `tasks` one-item tasks on one mock model in `store`; returns its id. */
async function createPlainRun(store: Store, name: string, tasks: number): Promise<string> {
  const snapshot = testSnapshot({
    datasets: [{ id: 'ds', fingerprint: 'f'.repeat(64), itemCount: tasks, fields: { input: 'q', target: 'a', idField: 'id' }, targetParse: null }],
    models: [{ id: 'm', provider: 'mock', model: 'mock', params: {}, options: {} }],
  });
  const runId = hashValue(snapshot);
  const items = Array.from({ length: tasks }, (_, ord) => ({ ord, datasetId: 'ds', itemId: `i${ord}`, input: 'q', target: 'a', fields: { id: `i${ord}`, q: 'q', a: 'a' } }));
  await store.createRun({ runId, name, snapshot, provenance: PROVENANCE, items, taskCount: tasks });
  return runId;
}

let server: PostgresServer | undefined;
let databases = 0;

const suite = binaries ? describe : describe.skip;

suite(`postgres store (a PostgreSQL server from ${binaries ?? 'nowhere: no binaries in /usr/lib/postgresql/*/bin'})`, () => {
  beforeAll(async () => {
    server = await PostgresServer.start();
  }, 120_000);
  afterAll(() => server?.stop());

  describeStoreContract('postgres', {
    async create() {
      const url = await server!.createDatabase(`contract_${++databases}`);
      return openStore(url, { create: true });
    },
  });

  it('upgrades a schema-1 store: the scores already stored become queryable, the new indexes exist', async () => {
    const url = await server!.createDatabase('upgrade');
    const run = newRun({ items: 3 });
    const writer = await openStore(url, { create: true });
    await writer.createRun(run);
    const events = [candidate(0), ...downstream(0, 1), candidate(1), ...downstream(1, 0), { taskOrd: 2, type: 'generate-failed', payload: { sample: 0, failure: failure('timeout') } }] as TaskEvent[];
    await writer.appendEvents({ runId: run.runId, owner: null, events, release: [] });
    await writer.close();
    await server!.sql('upgrade', 'DROP TABLE assay.task_scores; DROP INDEX assay.tasks_by_failure; DROP INDEX assay.tasks_by_stage; UPDATE assay.schema_version SET version = 1');
    // Read-only, an older schema is refused with what to do, and nothing is changed.
    await expect(openStore(url, { create: false, readonly: true })).rejects.toThrow(/schema 1 and is opened read-only here/);
    expect((await server!.sql('upgrade', 'SELECT version FROM assay.schema_version')).rows[0].version).toBe(1);
    const store = await openStore(url, { create: false });
    try {
      const ords = async (query: Parameters<typeof store.queryTasks>[1]) => (await store.queryTasks(run.runId, query)).rows.map((row) => row.ord);
      expect(await ords({ filter: { score: { name: 'accuracy', pass: true } }, limit: 10 })).toEqual([0]);
      expect(await ords({ sort: { by: 'score', name: 'accuracy', descending: true }, limit: 3 })).toEqual([0, 1, 5]);
      expect(await ords({ filter: { failureCategory: 'timeout' }, limit: 10 })).toEqual([2]);
      const indexes = await server!.sql('upgrade', "SELECT indexname FROM pg_indexes WHERE schemaname = 'assay' AND indexname IN ('task_scores_by_value', 'tasks_by_failure', 'tasks_by_stage') ORDER BY 1");
      expect(indexes.rows.map((row) => row.indexname)).toEqual(['task_scores_by_value', 'tasks_by_failure', 'tasks_by_stage']);
      expect((await server!.sql('upgrade', 'SELECT version FROM assay.schema_version')).rows[0].version).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('keeps task_scores with the current scores: a later score replaces, a rewind clears, a delete removes', async () => {
    const url = await server!.createDatabase('task_scores');
    const run = newRun({ items: 2 });
    const store = await openStore(url, { create: true });
    try {
      await store.createRun(run);
      await store.appendEvents({ runId: run.runId, owner: null, events: [candidate(0), ...downstream(0, 0.25), candidate(1), ...downstream(1, 1)] as TaskEvent[], release: [] });
      const rows = async () => (await server!.sql('task_scores', 'SELECT ord, kind, name, value FROM assay.task_scores ORDER BY ord, kind, name')).rows;
      expect(await rows()).toEqual([
        { ord: 0, kind: 0, name: 'accuracy', value: 0.25 },
        { ord: 1, kind: 0, name: 'accuracy', value: 1 },
      ]);
      await store.rewind(run.runId, 'score', [0]);
      expect(await rows()).toEqual([{ ord: 1, kind: 0, name: 'accuracy', value: 1 }]);
      await store.appendEvents({ runId: run.runId, owner: null, events: [{ taskOrd: 0, type: 'score-completed', payload: { scores: { accuracy: { value: 0.75 }, f1: { value: 0.5 } } } }] as TaskEvent[], release: [] });
      expect(await rows()).toEqual([
        { ord: 0, kind: 0, name: 'accuracy', value: 0.75 },
        { ord: 0, kind: 0, name: 'f1', value: 0.5 },
        { ord: 1, kind: 0, name: 'accuracy', value: 1 },
      ]);
      await store.deleteRun(run.runId);
      expect(await rows()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('redacts the password in its location', async () => {
    const url = await server!.createDatabase('redaction');
    const store = await openStore(url, { create: true });
    try {
      expect(store.kind).toBe('postgres');
      expect(store.location).not.toContain('pg-test-secret');
      expect(store.location).toContain('127.0.0.1');
    } finally {
      await store.close();
    }
  });
});

describe.skipIf(!binaries)('postgres store, many processes at once', () => {
  let shared: PostgresServer | undefined;
  beforeAll(async () => {
    shared = await PostgresServer.start();
  }, 120_000);
  afterAll(() => shared?.stop());

  it('three stores claiming and writing one run at once: every task claimed once, counters summed over their slots', async () => {
    const url = await shared!.createDatabase('concurrent');
    // Opened at once on a new database: the schema is created once, under the migration lock.
    const opened = await Promise.allSettled([0, 1, 2].map(() => openStore(url, { create: true })));
    const stores = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    try {
      expect(opened.filter((result) => result.status === 'rejected')).toEqual([]);
      const tasks = 1500;
      const runId = await createPlainRun(stores[0]!, 'concurrent', tasks);
      const claimedBy = new Map<number, number>();
      await Promise.all(
        stores.map(async (store, index) => {
          const owner = `owner-${index}`;
          await store.registerOwner({ owner, runId, host: 'test', pid: index }, 60_000);
          for (;;) {
            const claimed = await store.claimTasks({ runId, owner, untilStage: 'judge', limit: 37 });
            if (claimed.length === 0) return;
            for (const task of claimed) {
              expect(claimedBy.has(task.ord), `task ${task.ord} claimed twice`).toBe(false);
              claimedBy.set(task.ord, index);
            }
            const events = claimed.flatMap((task) => [
              { taskOrd: task.ord, type: 'generate-completed', payload: { sample: 0, candidate: { text: 'x 1', finishReason: { unified: 'stop', raw: 'stop' }, usage: { inputTokens: 2, outputTokens: 3 }, latencyMs: 1 } } },
              { taskOrd: task.ord, type: 'reduce-completed', payload: { reduced: { sources: [0] } } },
              { taskOrd: task.ord, type: 'parse-completed', payload: { outcome: { ok: true, value: 1 } } },
              { taskOrd: task.ord, type: 'score-completed', payload: { scores: { accuracy: { value: task.ord % 2 } } } },
            ]) as TaskEvent[];
            const result = await store.appendEvents({ runId, owner, events, release: claimed.map((task) => task.ord), leases: new Map(claimed.map((task) => [task.ord, task.token])) });
            expect(result.rejectedOrds).toEqual([]);
          }
        }),
      );
      expect(claimedBy.size).toBe(tasks);
      expect(new Set(claimedBy.values()).size).toBeGreaterThan(1);
      expect(await stores[1]!.getStageHistogram(runId)).toEqual([{ nextStage: 5, failed: false, count: tasks }]);
      const [score] = await stores[2]!.getScoreTotals(runId);
      expect(score).toMatchObject({ metric: 'accuracy', sum: tasks / 2, count: tasks });
      expect(await stores[0]!.getUsageTotals(runId)).toEqual([{ model: 'm', stage: 'generate', calls: tasks, inputTokens: 2 * tasks, outputTokens: 3 * tasks }]);
      // The counters were written by three processes: spread over more than one slot, summed when read.
      const slots = await shared!.sql('concurrent', 'SELECT count(DISTINCT slot)::int AS n FROM assay.stage_histogram');
      expect(slots.rows[0].n).toBeGreaterThan(1);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  // A claim judges a lease by its owner's row (live or not). Here four stores, each on its own pool, keep
  // registering new owners, claiming, giving the tasks back unfinished and leaving, so every claim races the
  // others for the same few released rows, held a moment ago by owners that came a moment before.
  it('no claim returns a task that another live owner holds', async () => {
    const url = await shared!.createDatabase('churn');
    const stores = await Promise.all([0, 1, 2, 3].map(() => openStore(url, { create: true })));
    try {
      const tasks = 64;
      const runId = await createPlainRun(stores[0]!, 'churn', tasks);
      // Who holds each task, as the claims said; a holder forgets its tasks before it gives them back, so a
      // claim that finds a holder here took a task whose lease was live.
      const held = new Map<number, string>();
      const doubles: string[] = [];
      const claimsBy = [0, 0, 0, 0];
      await Promise.all(
        stores.map(async (store, index) => {
          for (let round = 0; round < 300; round++) {
            const owner = `owner-${index}-${round}`;
            await store.registerOwner({ owner, runId, host: 'test', pid: index }, 60_000);
            const claimed = await store.claimTasks({ runId, owner, untilStage: 'judge', limit: 8 });
            claimsBy[index] = claimsBy[index]! + claimed.length;
            for (const task of claimed) {
              const holder = held.get(task.ord);
              if (holder) doubles.push(`task ${task.ord} claimed by ${owner} while ${holder} held it`);
              held.set(task.ord, owner);
            }
            for (const task of claimed) if (held.get(task.ord) === owner) held.delete(task.ord);
            const leases = new Map(claimed.map((task) => [task.ord, task.token]));
            const released = await store.appendEvents({ runId, owner, events: [], release: claimed.map((task) => task.ord), leases });
            expect(released.rejectedOrds).toEqual([]);
            await store.releaseOwner(owner);
          }
        }),
      );
      expect(doubles).toEqual([]);
      // Every store claimed, many times over: the tasks went round between them.
      for (const count of claimsBy) expect(count).toBeGreaterThan(tasks);
      expect(await stores[1]!.getStageHistogram(runId)).toEqual([{ nextStage: 0, failed: false, count: tasks }]);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  }, 300_000);
});
