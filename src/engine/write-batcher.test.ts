import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testSnapshot } from '../testing/snapshot.js';
import type { AppendRequest, AppendResult, Store } from '../spec/store.js';
import { openSqliteStore } from '../stores/sqlite/sqlite-store.js';
import { WriteBatcher, type TaskOutcome } from './write-batcher.js';

/** The real SQLite store, with its appendEvents calls counted. */
function countingStore(store: Store, calls: AppendRequest[]): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'appendEvents') {
        return (request: AppendRequest): Promise<AppendResult> => {
          calls.push(request);
          return target.appendEvents(request);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('WriteBatcher', () => {
  let directory: string;
  let store: Store;
  const runId = 'b'.repeat(64);

  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), 'assay-batcher-'));
    store = openSqliteStore(join(directory, 'store.db'));
    await store.createRun({
      runId,
      name: 'batcher',
      snapshot: testSnapshot({ parse: { id: 'exact-text', version: '1', args: {} }, metrics: [] }),
      provenance: {} as never,
      items: Array.from({ length: 10 }, (_, ord) => ({ ord, datasetId: 'd', itemId: `i${ord}`, input: 'x', target: null, fields: {} })),
      taskCount: 10,
    });
  });
  afterEach(async () => {
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  const event = (ord: number) => ({
    taskOrd: ord,
    type: 'generate-completed' as const,
    payload: { sample: 0, candidate: { text: 't', finishReason: { unified: 'stop' as const, raw: null }, usage: { inputTokens: 1, outputTokens: 1 }, latencyMs: 1 } },
  });

  it('writes everything pushed in one turn as one transaction, and reports outcomes only after it committed', async () => {
    const calls: AppendRequest[] = [];
    const committed: TaskOutcome[] = [];
    let durable = 0;
    const batcher = new WriteBatcher({ store: countingStore(store, calls), runId, owner: 'nobody', maxEvents: 100, onCommitted: (outcomes) => committed.push(...outcomes) });
    for (let ord = 0; ord < 5; ord++) batcher.push([event(ord)], { ord, modelIndex: 0, outcome: 'completed' }, () => durable++);
    expect(calls).toHaveLength(0);
    expect(committed).toHaveLength(0);
    expect(durable).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    await batcher.flush();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.events).toHaveLength(5);
    expect(calls[0]!.release).toEqual([0, 1, 2, 3, 4]);
    expect(committed.map((outcome) => outcome.ord)).toEqual([0, 1, 2, 3, 4]);
    expect(durable).toBe(5);
    expect((await store.getStageHistogram(runId)).find((row) => row.nextStage === 1)?.count).toBe(5);
  });

  it('flushes at once when the queue is full and makes the caller wait', async () => {
    const calls: AppendRequest[] = [];
    const batcher = new WriteBatcher({ store: countingStore(store, calls), runId, owner: 'nobody', maxEvents: 3, onCommitted: () => undefined });
    expect(batcher.push([event(0)])).toBeUndefined();
    expect(batcher.push([event(1)])).toBeUndefined();
    const wait = batcher.push([event(2)]);
    expect(wait).toBeInstanceOf(Promise);
    await wait;
    expect(calls).toHaveLength(1);
    expect(batcher.pending).toBe(0);
  });

  it('surfaces a store failure to the next caller instead of losing it', async () => {
    const batcher = new WriteBatcher({ store, runId, owner: 'nobody', maxEvents: 100, onCommitted: () => undefined });
    batcher.push([event(99)]);
    await expect(batcher.flush()).rejects.toThrow(/task 99 does not exist/);
    expect(() => batcher.push([event(1)])).toThrow(/task 99 does not exist/);
  });
});
