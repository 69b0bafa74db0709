import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testSnapshot } from '../testing/snapshot.js';
import type { AppendRequest, AppendResult, Store } from '../spec/store.js';
import { openStore } from '../stores/open-store.js';
import { WriteBatcher, type BatchWriter, type TaskOutcome } from './write-batcher.js';

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
    store = await openStore(join(directory, 'store.db'), { create: true });
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

  /** A registered owner holding leases on every task, as the engine's lease keeper would. */
  async function leasedWriter(owner = 'writer'): Promise<BatchWriter & { recovered: number }> {
    await store.registerOwner({ owner, runId, host: 'here', pid: 1 }, 60_000);
    const claimed = await store.claimTasks({ runId, owner, untilStage: 'judge', limit: 10 });
    const tokens = new Map(claimed.map((task) => [task.ord, task.token]));
    const writer = {
      owner,
      tokens,
      recovered: 0,
      async recover(error: unknown) {
        writer.recovered++;
        throw error;
      },
    };
    return writer;
  }

  it('writes everything pushed in one turn as one transaction, and reports outcomes only after it committed', async () => {
    const calls: AppendRequest[] = [];
    const committed: TaskOutcome[] = [];
    let durable = 0;
    const batcher = new WriteBatcher({ store: countingStore(store, calls), runId, writer: await leasedWriter(), maxEvents: 100, onCommitted: (outcomes) => committed.push(...outcomes), onFailure: () => undefined });
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
    const batcher = new WriteBatcher({ store: countingStore(store, calls), runId, writer: await leasedWriter(), maxEvents: 3, onCommitted: () => undefined, onFailure: () => undefined });
    expect(batcher.push([event(0)])).toBeUndefined();
    expect(batcher.push([event(1)])).toBeUndefined();
    const wait = batcher.push([event(2)]);
    expect(wait).toBeInstanceOf(Promise);
    await wait;
    expect(calls).toHaveLength(1);
    expect(batcher.pending).toBe(0);
  });

  it('on a refused batch: reports the failure once, frees every slot waiting on durability, and drops later pushes', async () => {
    const failures: unknown[] = [];
    const batcher = new WriteBatcher({ store, runId, writer: await leasedWriter(), maxEvents: 100, onCommitted: () => undefined, onFailure: (error) => failures.push(error) });
    let freed = 0;
    batcher.push([event(99)], undefined, () => freed++);
    batcher.push([event(1)], undefined, () => freed++);
    await expect(batcher.flush()).rejects.toThrow(/task 99 does not exist/);
    expect(failures).toHaveLength(1);
    expect(freed).toBe(2);
    // A push after the failure neither throws nor waits: its slot is given back at once and nothing is written.
    expect(batcher.push([event(2)], undefined, () => freed++)).toBeUndefined();
    expect(freed).toBe(3);
    await expect(batcher.flush()).rejects.toThrow(/task 99 does not exist/);
    expect(failures).toHaveLength(1);
    expect((await store.readTaskEvents(runId, 2)).length).toBe(0);
  });

  it('writes nothing for a task whose current token the writer does not hold, and says which', async () => {
    const writer = await leasedWriter('first');
    // The writer believes it holds task 3 with an older token (the lease was claimed again since).
    const stolen = new Map(writer.tokens);
    stolen.set(3, stolen.get(3)! - 1);
    const rejected: number[] = [];
    const batcher = new WriteBatcher({
      store,
      runId,
      writer: { ...writer, tokens: stolen },
      maxEvents: 100,
      onCommitted: (_outcomes, refused) => rejected.push(...refused),
      onFailure: () => undefined,
    });
    batcher.push([event(2), event(3)]);
    await batcher.flush();
    expect(rejected).toEqual([3]);
    expect((await store.readTaskEvents(runId, 2)).length).toBe(1);
    expect((await store.readTaskEvents(runId, 3)).length).toBe(0);
  });
});
