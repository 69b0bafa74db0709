import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashValue } from '../../core/canonical-json.js';
import type { Provenance } from '../../spec/snapshot.js';
import { PostgresServer, postgresBinaries } from '../../testing/postgres-server.js';
import { testSnapshot } from '../../testing/snapshot.js';
import { openStore } from '../open-store.js';

const binaries = postgresBinaries();
const PROVENANCE: Provenance = {
  toolVersion: 'test',
  nodeVersion: process.version,
  platform: 'test',
  arch: 'test',
  hostname: 'test',
  gitCommit: null,
  configPath: null,
  experimentName: 'churn',
  createdAt: '2026-01-01T00:00:00.000Z',
  runtime: {},
  transport: {},
};

// A claim judges a lease by its owner's row (live or not). Here four stores, each on its own pool, keep
// registering new owners, claiming, giving the tasks back unfinished and leaving, so every claim races the
// others for the same few released rows, held a moment ago by owners that came a moment before.
describe.skipIf(!binaries)('postgres claims while owners come and go', () => {
  let shared: PostgresServer | undefined;
  beforeAll(async () => {
    shared = await PostgresServer.start();
  }, 120_000);
  afterAll(() => shared?.stop());

  it('no claim returns a task that another live owner holds', async () => {
    const url = await shared!.createDatabase('churn');
    const stores = await Promise.all([0, 1, 2, 3].map(() => openStore(url, { create: true })));
    try {
      const tasks = 64;
      const snapshot = testSnapshot({
        datasets: [{ id: 'ds', fingerprint: 'f'.repeat(64), itemCount: tasks, fields: { input: 'q', target: 'a', idField: 'id' }, targetParse: null }],
        models: [{ id: 'm', provider: 'mock', model: 'mock', params: {}, options: {} }],
      });
      const runId = hashValue(snapshot);
      const items = Array.from({ length: tasks }, (_, ord) => ({ ord, datasetId: 'ds', itemId: `i${ord}`, input: 'q', target: 'a', fields: { id: `i${ord}`, q: 'q', a: 'a' } }));
      await stores[0]!.createRun({ runId, name: 'churn', snapshot, provenance: PROVENANCE, items, taskCount: tasks });
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
