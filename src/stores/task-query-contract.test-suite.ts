import { beforeEach, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../spec/event.js';
import type { Store, TaskQuery } from '../spec/store.js';
import { candidate, downstream, failure, newRun } from './store-contract.test-suite.js';

/**
 * Store.queryTasks, part of the store contract (run by describeStoreContract for every backend). Six items
 * and two models: ord = item * 2 + model. Five tasks have results, the rest were never touched.
 */
export function describeTaskQueryContract(current: () => Store): void {
  describe('task queries', () => {
    let store: Store;
    let runId: string;
    const ords = async (query: Omit<TaskQuery, 'limit'> & { limit?: number }) => {
      const page = await store.queryTasks(runId, { limit: 100, ...query });
      return page.rows.map((row) => row.ord);
    };

    beforeEach(async () => {
      store = current();
      const run = newRun({ items: 6 });
      runId = run.runId;
      await store.createRun(run);
      const events: TaskEvent[] = [
        candidate(0),
        ...downstream(0, 1),
        candidate(1, 0, 'Maybe <img src=x onerror=alert(1)> the NEEDLE.'),
        ...downstream(1, 0),
        { taskOrd: 2, type: 'generate-failed', payload: { sample: 0, failure: failure('timeout') } },
        candidate(3),
        ...downstream(3, 0.5),
        { taskOrd: 4, type: 'generate-failed', payload: { sample: 0, failure: failure('server_error') } },
      ];
      await store.appendEvents({ runId, owner: null, events, release: [] });
    });

    it('pages through every task in order, untouched ones as pending at generate', async () => {
      const first = await store.queryTasks(runId, { limit: 5 });
      expect(first.rows.map((row) => row.ord)).toEqual([0, 1, 2, 3, 4]);
      expect(first.more).toBe(true);
      expect(first.rows[0]).toEqual({ ord: 0, nextStage: 5, failed: false, failure: null, scores: { accuracy: 1 }, judgeScores: null, ratings: null, latencyMs: 1 });
      const last = await store.queryTasks(runId, { limit: 5, offset: 10 });
      expect(last.rows.map((row) => row.ord)).toEqual([10, 11]);
      expect(last.more).toBe(false);
      expect(last.rows[1]).toEqual({ ord: 11, nextStage: 0, failed: false, failure: null, scores: null, judgeScores: null, ratings: null, latencyMs: null });
      expect(await ords({ offset: 12 })).toEqual([]);
      const exact = await store.queryTasks(runId, { limit: 12 });
      expect([exact.rows.length, exact.more]).toEqual([12, false]);
    });

    it('filters by model, prompt and dataset, and pages within the filter', async () => {
      expect(await ords({ filter: { modelIndex: 1 } })).toEqual([1, 3, 5, 7, 9, 11]);
      expect(await ords({ filter: { modelIndex: 1 }, offset: 2, limit: 2 })).toEqual([5, 7]);
      expect((await store.queryTasks(runId, { filter: { modelIndex: 1 }, offset: 2, limit: 2 })).more).toBe(true);
      expect(await ords({ filter: { promptIndex: 0 } })).toHaveLength(12);
      expect(await ords({ filter: { promptIndex: 1 } })).toEqual([]);
      expect(await ords({ filter: { datasetId: 'ds', modelIndex: 0 } })).toEqual([0, 2, 4, 6, 8, 10]);
      expect(await ords({ filter: { datasetId: 'other' } })).toEqual([]);
    });

    it('filters by the stage reached and by failure and its category', async () => {
      expect(await ords({ filter: { nextStage: 5 } })).toEqual([0, 1, 3]);
      expect(await ords({ filter: { nextStage: 0 } })).toEqual([2, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(await ords({ filter: { nextStage: 0, failed: false } })).toEqual([5, 6, 7, 8, 9, 10, 11]);
      expect(await ords({ filter: { failed: true } })).toEqual([2, 4]);
      expect(await ords({ filter: { failureCategory: 'timeout' } })).toEqual([2]);
      expect(await ords({ filter: { failureCategory: 'timeout', modelIndex: 1 } })).toEqual([]);
      const [row] = (await store.queryTasks(runId, { filter: { failureCategory: 'server_error' }, limit: 1 })).rows;
      expect(row).toMatchObject({ ord: 4, failed: true, failure: { stage: 'generate', category: 'server_error' } });
    });

    it('filters by a score: pass, fail and an inclusive range; tasks without it never match', async () => {
      expect(await ords({ filter: { score: { name: 'accuracy', pass: true } } })).toEqual([0]);
      expect(await ords({ filter: { score: { name: 'accuracy', pass: false } } })).toEqual([1, 3]);
      expect(await ords({ filter: { score: { name: 'accuracy', min: 0.5, max: 1 } } })).toEqual([0, 3]);
      expect(await ords({ filter: { score: { name: 'accuracy', min: 0.4, max: 0.6 } } })).toEqual([3]);
      expect(await ords({ filter: { score: { name: 'accuracy' } } })).toEqual([0, 1, 3]);
      expect(await ords({ filter: { score: { name: 'f1' } } })).toEqual([]);
      // A rewind clears the current scores: the filter follows.
      await store.rewind(runId, 'score', [0]);
      expect(await ords({ filter: { score: { name: 'accuracy', pass: true } } })).toEqual([]);
      await store.appendEvents({ runId, owner: null, events: [{ taskOrd: 0, type: 'score-completed', payload: { scores: { accuracy: { value: 0.25 } } } }], release: [] });
      expect(await ords({ filter: { score: { name: 'accuracy', max: 0.3 } } })).toEqual([0, 1]);
    });

    it('searches the item input and the answer, ASCII letters in any case', async () => {
      expect(await ords({ filter: { text: 'needle' } })).toEqual([1]);
      expect(await ords({ filter: { text: '<IMG src=x' } })).toEqual([1]);
      // Item 1's input: its two tasks, one failed; item 3's: two tasks nobody touched.
      expect(await ords({ filter: { text: 'what is 1 +' } })).toEqual([2, 3]);
      expect(await ords({ filter: { text: 'WHAT IS 3 + 1?' } })).toEqual([6, 7]);
      expect(await ords({ filter: { text: 'The answer is 3.' } })).toEqual([3]);
      expect(await ords({ filter: { text: 'needle', modelIndex: 0 } })).toEqual([]);
      expect(await ords({ filter: { text: 'nowhere at all' } })).toEqual([]);
      // LIKE's wildcards are plain characters here: 'is_1' is not 'is 1'.
      expect(await ords({ filter: { text: 'is_1' } })).toEqual([]);
      expect(await ords({ filter: { text: 'is%1' } })).toEqual([]);
      // A needle with characters JSON escapes is still found exactly.
      await store.appendEvents({ runId, owner: null, events: [candidate(5, 0, 'say "hi" \\ there')], release: [] });
      expect(await ords({ filter: { text: '"hi" \\' } })).toEqual([5]);
      expect(await ords({ filter: { text: 'What is', failed: true } })).toEqual([2, 4]);
    });

    it('pages through text matches across stored and untouched tasks, in either direction; only current answers count', async () => {
      // Every input has 'What is': stored rows (0-4) then untouched ones (5-11).
      const page = await store.queryTasks(runId, { filter: { text: 'what IS' }, offset: 3, limit: 4 });
      expect([page.rows.map((row) => row.ord), page.more]).toEqual([[3, 4, 5, 6], true]);
      expect(await ords({ filter: { text: 'what IS' }, offset: 10 })).toEqual([10, 11]);
      expect(await ords({ filter: { text: 'what IS' }, sort: { by: 'ord', descending: true }, offset: 5, limit: 4 })).toEqual([6, 5, 4, 3]);
      expect(await ords({ filter: { text: 'what IS' }, sort: { by: 'score', name: 'accuracy' }, limit: 4 })).toEqual([1, 3, 0, 2]);
      expect(await ords({ filter: { text: 'what IS', modelIndex: 1 }, offset: 1, limit: 2 })).toEqual([3, 5]);
      // A rewound answer is no longer searched, though its event is still stored.
      await store.rewind(runId, 'generate', [1]);
      await store.appendEvents({ runId, owner: null, events: [candidate(1, 0, 'a plain answer')], release: [] });
      expect(await ords({ filter: { text: 'needle' } })).toEqual([]);
      expect(await ords({ filter: { text: 'PLAIN' } })).toEqual([1]);
    });

    it('sorts by position or by a score (tasks without it last), ties by position in the same direction', async () => {
      expect(await ords({ sort: { by: 'ord', descending: true }, limit: 3 })).toEqual([11, 10, 9]);
      expect(await ords({ sort: { by: 'ord', descending: true }, offset: 9 })).toEqual([2, 1, 0]);
      expect(await ords({ sort: { by: 'score', name: 'accuracy', descending: true }, limit: 5 })).toEqual([0, 3, 1, 11, 10]);
      expect(await ords({ sort: { by: 'score', name: 'accuracy', descending: true }, offset: 9 })).toEqual([5, 4, 2]);
      expect(await ords({ sort: { by: 'score', name: 'accuracy' }, limit: 4 })).toEqual([1, 3, 0, 2]);
      // A tie (two tasks scored 1) is ordered by position, reversed with the sort.
      await store.appendEvents({ runId, owner: null, events: [candidate(6), ...downstream(6, 1)], release: [] });
      expect(await ords({ sort: { by: 'score', name: 'accuracy', descending: true }, limit: 3 })).toEqual([6, 0, 3]);
      expect(await ords({ sort: { by: 'score', name: 'accuracy' }, limit: 4 })).toEqual([1, 3, 0, 6]);
      expect(await ords({ sort: { by: 'score', name: 'accuracy' }, offset: 4, limit: 3 })).toEqual([2, 4, 5]);
      expect(await ords({ sort: { by: 'score', name: 'accuracy', descending: true }, offset: 4, limit: 3 })).toEqual([11, 10, 9]);
      expect(await ords({ sort: { by: 'score', name: 'accuracy' }, filter: { modelIndex: 1 } })).toEqual([1, 3, 5, 7, 9, 11]);
      expect(await ords({ sort: { by: 'score', name: 'accuracy' }, offset: 10 })).toEqual([10, 11]);
    });

    it('refuses a limit below 1 and a negative offset', async () => {
      await expect(store.queryTasks(runId, { limit: 0 })).rejects.toThrow(/limit/);
      await expect(store.queryTasks(runId, { limit: 1, offset: -1 })).rejects.toThrow(/offset/);
    });
  });
}
