import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashValue } from '../core/canonical-json.js';
import type { TaskEvent } from '../spec/event.js';
import type { RunSnapshot } from '../spec/snapshot.js';
import { testProvenance, testSnapshot } from '../testing/snapshot.js';
import { OwnerUnknownError } from '../core/errors.js';
import type { ClaimRequest, ClaimedTask, NewRun, Store, StoredItem } from '../spec/store.js';
import { describeTaskQueryContract } from './task-query-contract.test-suite.js';

/** Creates an empty store; `dispose` removes whatever it left behind. */
export interface StoreFactory {
  create(): Promise<Store>;
  dispose?(): Promise<void>;
  /** A store that holds a single run (the files store) refuses a second one; the suite checks that instead. */
  readonly singleRun?: boolean;
}

const PROVENANCE = testProvenance('contract');

function snapshotFor(options: { items: number; models?: string[]; samples?: number; seed?: number }): RunSnapshot {
  return testSnapshot({
    datasets: [{ id: 'ds', fingerprint: 'f'.repeat(64), itemCount: options.items, fields: { input: 'q', target: 'a', idField: 'id' }, targetParse: null }],
    models: (options.models ?? ['m1', 'm2']).map((id) => ({ id, provider: 'mock', model: 'mock', params: {}, options: {} })),
    prompts: [{ id: 'default', system: null, user: '{{input}}' }],
    samples: options.samples ?? 1,
    seed: options.seed ?? 0,
  });
}

export function newRun(options: { items: number; models?: string[]; samples?: number; seed?: number }): NewRun & { items: StoredItem[] } {
  const snapshot = snapshotFor(options);
  const items: StoredItem[] = Array.from({ length: options.items }, (_, ord) => ({
    ord,
    datasetId: 'ds',
    itemId: `item/${ord}`,
    input: `What is ${ord} + 1?`,
    target: String(ord + 1),
    fields: { id: `item/${ord}`, q: `What is ${ord} + 1?`, a: String(ord + 1) },
  }));
  return { runId: hashValue(snapshot), name: 'contract', snapshot, provenance: PROVENANCE, items, taskCount: options.items * snapshot.models.length };
}

export function candidate(ord: number, sample = 0, text = `The answer is ${ord}.`): TaskEvent {
  return {
    taskOrd: ord,
    type: 'generate-completed',
    payload: { sample, candidate: { text, finishReason: { unified: 'stop', raw: 'stop' }, usage: { inputTokens: 3, outputTokens: 5 }, latencyMs: 1 } },
  };
}

export function downstream(ord: number, value: number): TaskEvent[] {
  return [
    { taskOrd: ord, type: 'reduce-completed', payload: { reduced: { sources: [0] } } },
    { taskOrd: ord, type: 'parse-completed', payload: { outcome: { ok: true, value } } },
    { taskOrd: ord, type: 'score-completed', payload: { scores: { accuracy: { value } } } },
  ];
}

export const failure = (category: 'server_error' | 'timeout' = 'server_error') => ({
  category,
  message: 'scripted',
  attempts: [{ attempt: 1, category, message: 'scripted', at: '2026-01-01T00:00:00.000Z' }],
});

/** Registers an owner; a negative `leaseMs` registers one whose lease has already lapsed. */
async function owner(store: Store, runId: string, name: string, leaseMs = 60_000): Promise<string> {
  const id = `${name}-${Math.random().toString(16).slice(2)}`;
  await store.registerOwner({ owner: id, runId, host: 'contract-host', pid: 1 }, leaseMs);
  return id;
}

/** The fencing tokens each owner holds, from its claims, as the engine's lease keeper keeps them. */
const heldTokens = new Map<string, Map<number, number>>();

async function claim(store: Store, request: ClaimRequest): Promise<ClaimedTask[]> {
  const claimed = await store.claimTasks(request);
  const held = heldTokens.get(request.owner) ?? new Map<number, number>();
  for (const task of claimed) held.set(task.ord, task.token);
  heldTokens.set(request.owner, held);
  return claimed;
}

function leasesOf(owner: string): ReadonlyMap<number, number> {
  return heldTokens.get(owner) ?? new Map();
}

/**
 * The behaviour every Store must have. A backend's test file is a few lines that hand a factory here; a new
 * backend is done when this suite passes.
 */
export function describeStoreContract(name: string, factory: StoreFactory): void {
  describe(`${name} store contract`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await factory.create();
    });
    afterEach(async () => {
      await store.close();
      await factory.dispose?.();
    });

    describe('runs', () => {
      it('creates a run once and reads it back', async () => {
        const run = newRun({ items: 3 });
        expect(await store.createRun(run)).toBe(true);
        expect(await store.createRun(run)).toBe(false);
        const record = await store.getRun(run.runId);
        expect(record).toMatchObject({ runId: run.runId, name: 'contract', status: 'created', completedThroughStage: null, taskCount: 6 });
        expect(record!.snapshot).toEqual(run.snapshot);
        expect(record!.provenance).toEqual(PROVENANCE);
        expect(await store.getRun('0'.repeat(64))).toBeUndefined();
      });

      it('finds runs by id prefix, lists them and deletes one with all it holds', async () => {
        const first = newRun({ items: 2, seed: 1 });
        const second = newRun({ items: 2, seed: 2 });
        await store.createRun(first);
        if (factory.singleRun) {
          await expect(store.createRun(second)).rejects.toThrow(/already holds run/);
        } else {
          await store.createRun(second);
        }
        const others = factory.singleRun ? [] : [second.runId];
        expect((await store.findRuns(first.runId.slice(0, 10), 5)).map((run) => run.runId)).toEqual([first.runId]);
        expect((await store.listRuns()).map((run) => run.runId).sort()).toEqual([first.runId, ...others].sort());
        const me = await owner(store, first.runId, 'a');
        await claim(store, { runId: first.runId, owner: me, untilStage: 'judge', limit: 10});
        await store.appendEvents({ runId: first.runId, owner: me, leases: leasesOf(me), events: [candidate(0)], release: [] });
        await store.deleteRun(first.runId);
        expect(await store.getRun(first.runId)).toBeUndefined();
        expect((await store.listRuns()).map((run) => run.runId)).toEqual(others);
        expect(await store.createRun(first)).toBe(true);
        expect(await store.getStageHistogram(first.runId)).toEqual([{ nextStage: 0, failed: false, count: 4 }]);
        expect(await store.readTaskEvents(first.runId, 0)).toEqual([]);
      });

      it('records status and the stage a run is complete through', async () => {
        const run = newRun({ items: 1 });
        await store.createRun(run);
        await store.setRunStatus(run.runId, 'interrupted', 'generate', 'budget');
        expect(await store.getRun(run.runId)).toMatchObject({ status: 'interrupted', completedThroughStage: 'generate', interruptReason: 'budget' });
        await store.setRunStatus(run.runId, 'completed', 'generate');
        expect(await store.getRun(run.runId)).toMatchObject({ status: 'completed', completedThroughStage: 'generate', interruptReason: null });
      });

      it('keeps the items exactly', async () => {
        const run = newRun({ items: 4 });
        await store.createRun(run);
        expect(await store.loadItems(run.runId)).toEqual(run.items);
      });

      it('reads pages of items with only the fields asked for, every kind of value as it is in the row', async () => {
        const run = newRun({ items: 5 });
        const items = run.items.map((item, ord) => ({ ...item, fields: { ...item.fields, subject: ord % 2 ? 'odd' : 'even', meta: { n: ord, tags: ['x'] }, flag: ord === 3 ? null : true } }));
        await store.createRun({ ...run, items });
        const pages = [await store.readItemFields(run.runId, ['subject', 'meta', 'flag', 'absent'], -1, 3)];
        pages.push(await store.readItemFields(run.runId, ['subject', 'meta', 'flag', 'absent'], pages[0]!.at(-1)!.ord, 3));
        expect(pages.map((page) => page.length)).toEqual([3, 2]);
        const rows = pages.flat();
        expect(rows.map((row) => row.ord)).toEqual([0, 1, 2, 3, 4]);
        expect(rows[1]).toEqual({ ord: 1, datasetId: 'ds', itemId: items[1]!.itemId, values: ['odd', { n: 1, tags: ['x'] }, true, undefined] });
        expect(rows[3]!.values[2]).toBeNull();
        expect(await store.readItemFields(run.runId, [], 4, 10)).toEqual([]);
      });

      it('reads the items at given positions, contiguous or scattered', async () => {
        const run = newRun({ items: 40 });
        await store.createRun(run);
        const contiguous = await store.loadItemsAt(run.runId, [10, 11, 12, 13]);
        expect([...contiguous.keys()].sort((a, b) => a - b)).toEqual([10, 11, 12, 13]);
        expect(contiguous.get(12)).toEqual(run.items[12]);
        const scattered = await store.loadItemsAt(run.runId, [39, 0, 17]);
        expect(new Map([...scattered].sort(([a], [b]) => a - b))).toEqual(new Map([0, 17, 39].map((ord) => [ord, run.items[ord]!])));
        expect((await store.loadItemsAt(run.runId, [])).size).toBe(0);
        expect([...(await store.loadItemsAt(run.runId, [38, 40, 41])).keys()]).toEqual([38]);
      });
    });

    describe('claiming', () => {
      it('leases tasks in manifest order, each to one owner only', async () => {
        const run = newRun({ items: 5 });
        await store.createRun(run);
        const left = await owner(store, run.runId, 'left');
        const right = await owner(store, run.runId, 'right');
        const first = await claim(store, { runId: run.runId, owner: left, untilStage: 'judge', limit: 4});
        expect(first.map((task) => task.ord)).toEqual([0, 1, 2, 3]);
        expect(first[0]).toEqual({ ord: 0, token: expect.any(Number), nextStage: 0, candidateSeqs: [null] });
        const second = await claim(store, { runId: run.runId, owner: right, untilStage: 'judge', limit: 10});
        expect(second.map((task) => task.ord)).toEqual([4, 5, 6, 7, 8, 9]);
        expect(await claim(store, { runId: run.runId, owner: right, untilStage: 'judge', limit: 10})).toEqual([]);
      });

      it('frees the leases of an owner that is released or whose lease lapsed (by the store clock)', async () => {
        const run = newRun({ items: 2 });
        await store.createRun(run);
        const stale = await owner(store, run.runId, 'stale', -1);
        const gone = await owner(store, run.runId, 'gone');
        const live = await owner(store, run.runId, 'live');
        const staleClaim = await claim(store, { runId: run.runId, owner: stale, untilStage: 'judge', limit: 2 });
        expect(staleClaim.map((task) => task.ord)).toEqual([0, 1]);
        // The stale owner's lease has expired: its tasks are free for the next claimer.
        const goneClaim = await claim(store, { runId: run.runId, owner: gone, untilStage: 'judge', limit: 2 });
        expect(goneClaim.map((task) => task.ord)).toEqual([0, 1]);
        const liveClaim = await claim(store, { runId: run.runId, owner: live, untilStage: 'judge', limit: 10 });
        expect(liveClaim.map((task) => task.ord)).toEqual([2, 3]);
        expect(await store.heartbeat(gone, 60_000, leasesOf(gone))).toEqual({ alive: true, lost: [] });
        expect(await claim(store, { runId: run.runId, owner: live, untilStage: 'judge', limit: 10 })).toEqual([]);
        await store.releaseOwner(gone);
        const reclaimed = await claim(store, { runId: run.runId, owner: live, untilStage: 'judge', limit: 10 });
        expect(reclaimed.map((task) => task.ord)).toEqual([0, 1]);
        const owners = await store.listOwners(run.runId);
        expect(owners.map((record) => [record.owner, record.live]).sort()).toEqual([[live, true], [stale, false]].sort());
      });

      it('hands out a larger fencing token with every claim', async () => {
        const run = newRun({ items: 3 });
        await store.createRun(run);
        const me = await owner(store, run.runId, 'me');
        const tokens = [];
        for (let index = 0; index < 3; index++) tokens.push((await claim(store, { runId: run.runId, owner: me, untilStage: 'judge', limit: 2 }))[0]!.token);
        expect(tokens[1]).toBeGreaterThan(tokens[0]!);
        expect(tokens[2]).toBeGreaterThan(tokens[1]!);
      });

      it('refuses the writes of an owner whose lease was taken over, and tells its heartbeat which tasks it lost', async () => {
        const run = newRun({ items: 1 });
        await store.createRun(run);
        const paused = await owner(store, run.runId, 'paused', -1);
        const [first] = await claim(store, { runId: run.runId, owner: paused, untilStage: 'judge', limit: 1 });
        const taker = await owner(store, run.runId, 'taker');
        const [second] = await claim(store, { runId: run.runId, owner: taker, untilStage: 'judge', limit: 1 });
        expect(second!.ord).toBe(first!.ord);
        expect(second!.token).toBeGreaterThan(first!.token);
        // The paused owner wakes up: its late answer is refused, the taker's is kept.
        const late = await store.appendEvents({ runId: run.runId, owner: paused, leases: leasesOf(paused), events: [candidate(0, 0, 'late')], release: [0] });
        expect(late).toEqual({ appended: 0, rejectedOrds: [0] });
        expect(await store.heartbeat(paused, 60_000, leasesOf(paused))).toEqual({ alive: true, lost: [0] });
        const kept = await store.appendEvents({ runId: run.runId, owner: taker, leases: leasesOf(taker), events: [candidate(0, 0, 'kept')], release: [0] });
        expect(kept).toEqual({ appended: 1, rejectedOrds: [] });
        const events = await store.readTaskEvents(run.runId, 0);
        expect(events.map((event) => (event.payload as { candidate: { text: string } }).candidate.text)).toEqual(['kept']);
      });

      it('treats an unknown owner as an error, and lets a re-registered one keep the leases nobody took', async () => {
        const run = newRun({ items: 1 });
        await store.createRun(run);
        await expect(store.claimTasks({ runId: run.runId, owner: 'never-registered', untilStage: 'judge', limit: 1 })).rejects.toSatisfy(OwnerUnknownError.isInstance);
        await expect(store.appendEvents({ runId: run.runId, owner: 'never-registered', events: [candidate(0)], release: [] })).rejects.toSatisfy(OwnerUnknownError.isInstance);
        expect(await store.heartbeat('never-registered', 60_000, new Map())).toEqual({ alive: false, lost: [] });

        const evicted = await owner(store, run.runId, 'evicted');
        await claim(store, { runId: run.runId, owner: evicted, untilStage: 'judge', limit: 1 });
        await store.releaseOwner(evicted);
        expect((await store.heartbeat(evicted, 60_000, leasesOf(evicted))).alive).toBe(false);
        await expect(store.appendEvents({ runId: run.runId, owner: evicted, leases: leasesOf(evicted), events: [candidate(0)], release: [] })).rejects.toSatisfy(OwnerUnknownError.isInstance);
        // Registered again under a new id, with its old tokens: nobody took task 0, so it is still its own.
        const again = await owner(store, run.runId, 'again');
        expect(await store.heartbeat(again, 60_000, leasesOf(evicted))).toEqual({ alive: true, lost: [] });
        const other = await owner(store, run.runId, 'other');
        expect((await claim(store, { runId: run.runId, owner: other, untilStage: 'judge', limit: 10 })).map((task) => task.ord)).not.toContain(0);
        expect(await store.appendEvents({ runId: run.runId, owner: again, leases: leasesOf(evicted), events: [candidate(0)], release: [0] })).toEqual({ appended: 1, rejectedOrds: [] });
      });

      it('refuses events from an owner that does not hold the task, and accepts them once it claims it', async () => {
        const run = newRun({ items: 1 });
        await store.createRun(run);
        const holder = await owner(store, run.runId, 'holder');
        const intruder = await owner(store, run.runId, 'intruder');
        await claim(store, { runId: run.runId, owner: holder, untilStage: 'judge', limit: 1 });
        const refused = await store.appendEvents({ runId: run.runId, owner: intruder, leases: leasesOf(intruder), events: [candidate(0)], release: [0] });
        expect(refused.rejectedOrds).toEqual([0]);
        expect(await store.readTaskEvents(run.runId, 0)).toEqual([]);
        await store.appendEvents({ runId: run.runId, owner: holder, leases: leasesOf(holder), events: [], release: [0] });
        await claim(store, { runId: run.runId, owner: intruder, untilStage: 'judge', limit: 1 });
        const accepted = await store.appendEvents({ runId: run.runId, owner: intruder, leases: leasesOf(intruder), events: [candidate(0)], release: [0] });
        expect(accepted).toEqual({ appended: 1, rejectedOrds: [] });
      });

      it('claims only tasks with work at or before the requested stage, and not failed ones until reset', async () => {
        const run = newRun({ items: 2, models: ['m1'] });
        await store.createRun(run);
        const me = await owner(store, run.runId, 'me');
        await claim(store, { runId: run.runId, owner: me, untilStage: 'generate', limit: 2});
        await store.appendEvents({
          runId: run.runId,
          owner: me,
          leases: leasesOf(me),
          events: [candidate(0), { taskOrd: 1, type: 'generate-failed', payload: { sample: 0, failure: failure() } }],
          release: [0, 1],
        });
        expect(await claim(store, { runId: run.runId, owner: me, untilStage: 'generate', limit: 10})).toEqual([]);
        expect(await store.countPastStageByModel(run.runId, 'generate')).toEqual([1]);
        expect(await store.countPastStageByModel(run.runId, 'reduce')).toEqual([0]);
        const downstreamWork = await claim(store, { runId: run.runId, owner: me, untilStage: 'score', limit: 10});
        expect(downstreamWork).toEqual([{ ord: 0, token: expect.any(Number), nextStage: 1, candidateSeqs: [expect.any(Number)] }]);
        expect(await store.resetFailures(run.runId, 'generate')).toBe(1);
        const retried = await claim(store, { runId: run.runId, owner: me, untilStage: 'generate', limit: 10});
        expect(retried.map((task) => task.ord)).toEqual([1]);
      });
    });

    describe('fleet limits', () => {
      const reservation = (runId: string, requests: number, extra: Partial<{ requestLimit: number | null; tokenLimit: number | null; tokensPerRequest: number; windowMs: number; model: string }> = {}) => ({
        runId,
        model: extra.model ?? 'm1',
        requests,
        tokensPerRequest: extra.tokensPerRequest ?? 10,
        requestLimit: extra.requestLimit === undefined ? 5 : extra.requestLimit,
        tokenLimit: extra.tokenLimit === undefined ? null : extra.tokenLimit,
        windowMs: extra.windowMs ?? 60_000,
      });

      it('grants calls up to the request limit of the window, then none, saying when to ask again', async () => {
        const run = newRun({ items: 2 });
        await store.createRun(run);
        expect(await store.reserveCalls(reservation(run.runId, 3))).toEqual({ granted: 3, retryAfterMs: 0 });
        const partial = await store.reserveCalls(reservation(run.runId, 3));
        expect(partial.granted).toBe(2);
        expect(partial.retryAfterMs).toBeGreaterThan(50_000);
        expect(partial.retryAfterMs).toBeLessThanOrEqual(60_000);
        expect((await store.reserveCalls(reservation(run.runId, 1))).granted).toBe(0);
        // Another model of the run has its own window.
        expect((await store.reserveCalls(reservation(run.runId, 5, { model: 'm2' }))).granted).toBe(5);
      });

      it('forgets grants once they leave the window', async () => {
        const run = newRun({ items: 2 });
        await store.createRun(run);
        expect((await store.reserveCalls(reservation(run.runId, 5, { windowMs: 40 }))).granted).toBe(5);
        expect((await store.reserveCalls(reservation(run.runId, 1, { windowMs: 40 }))).granted).toBe(0);
        await new Promise((resolve) => setTimeout(resolve, 60));
        expect((await store.reserveCalls(reservation(run.runId, 5, { windowMs: 40 }))).granted).toBe(5);
      });

      it('keeps the tokens of the window within the token limit, letting one call larger than the limit go alone', async () => {
        const run = newRun({ items: 2 });
        await store.createRun(run);
        const tokens = { requestLimit: null, tokenLimit: 100, tokensPerRequest: 30 };
        expect((await store.reserveCalls(reservation(run.runId, 10, tokens))).granted).toBe(3);
        expect((await store.reserveCalls(reservation(run.runId, 1, tokens))).granted).toBe(0);
        expect((await store.reserveCalls(reservation(run.runId, 2, { ...tokens, model: 'big', tokensPerRequest: 500 }))).granted).toBe(1);
        expect((await store.reserveCalls(reservation(run.runId, 1, { ...tokens, model: 'big', tokensPerRequest: 500 }))).granted).toBe(0);
        expect((await store.reserveCalls(reservation(run.runId, 7, { requestLimit: null, tokenLimit: null, model: 'free' }))).granted).toBe(7);
      });

      it('pauses a model for every caller after a rate limit, keeping the longer of two pauses', async () => {
        const run = newRun({ items: 2 });
        await store.createRun(run);
        expect(await store.reserveCalls(reservation(run.runId, 0))).toEqual({ granted: 0, retryAfterMs: 0 });
        await store.pauseModel(run.runId, 'm1', 30_000);
        await store.pauseModel(run.runId, 'm1', 1_000);
        const paused = await store.reserveCalls(reservation(run.runId, 2));
        expect(paused.granted).toBe(0);
        expect(paused.retryAfterMs).toBeGreaterThan(25_000);
        expect((await store.reserveCalls(reservation(run.runId, 0))).retryAfterMs).toBeGreaterThan(25_000);
        expect((await store.reserveCalls(reservation(run.runId, 2, { model: 'm2' }))).granted).toBe(2);
        await store.pauseModel(run.runId, 'm2', 30);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect((await store.reserveCalls(reservation(run.runId, 2, { model: 'm2' }))).granted).toBe(2);
      });

      it('tells how many leases each owner held at its last heartbeat', async () => {
        const run = newRun({ items: 3 });
        await store.createRun(run);
        const me = await owner(store, run.runId, 'me');
        expect((await store.listOwners(run.runId))[0]!.heldTasks).toBe(0);
        await claim(store, { runId: run.runId, owner: me, untilStage: 'judge', limit: 4 });
        await store.heartbeat(me, 60_000, leasesOf(me));
        expect((await store.listOwners(run.runId)).map((record) => record.heldTasks)).toEqual([leasesOf(me).size]);
        expect(leasesOf(me).size).toBe(4);
      });
    });

    describe('imports and reruns', () => {
      it('imports in one step: creates the run, writes every event and sets the status', async () => {
        const run = newRun({ items: 2 });
        const events = [candidate(0), ...downstream(0, 1), candidate(1), ...downstream(1, 1), candidate(2), ...downstream(2, 0), candidate(3), ...downstream(3, 1)];
        expect(await store.importRun({ runId: run.runId, create: run, events })).toEqual({ createdRun: true, appended: events.length });
        expect(await store.getRun(run.runId)).toMatchObject({ status: 'completed', completedThroughStage: 'judge' });
        expect(await store.getStageHistogram(run.runId)).toEqual([{ nextStage: 5, failed: false, count: 4 }]);
        expect(await store.countPastStageByModel(run.runId, 'judge')).toEqual([2, 2]);
        // Again, into the run it created: no second run, the same events appended once more are late duplicates.
        expect((await store.importRun({ runId: run.runId, create: run, events: [] })).createdRun).toBe(false);
      });

      it('counts the tasks past a stage per answering model, from their positions', async () => {
        const run = newRun({ items: 3, models: ['m1', 'm2'] });
        // Tasks 1, 3 and 5 are m2's (one per item), task 0 is m1's.
        await store.importRun({ runId: run.runId, create: run, events: [candidate(1), candidate(3), ...downstream(3, 1), candidate(5), candidate(0)] });
        expect(await store.countPastStageByModel(run.runId, 'generate')).toEqual([1, 3]);
        expect(await store.countPastStageByModel(run.runId, 'score')).toEqual([0, 1]);
      });

      it('leaves the store as it was when an import fails part-way', async () => {
        const run = newRun({ items: 2 });
        await expect(store.importRun({ runId: run.runId, create: run, events: [candidate(0), candidate(99)] })).rejects.toThrow(/task 99 does not exist/);
        if (!factory.singleRun) expect(await store.getRun(run.runId)).toBeUndefined();
        await store.createRun(run);
        await expect(store.importRun({ runId: run.runId, rewind: { stage: 'generate', ords: [0] }, events: [candidate(1), candidate(99)] })).rejects.toThrow(/task 99 does not exist/);
        if (!factory.singleRun) expect(await store.readTaskEvents(run.runId, 1)).toEqual([]);
      });

      it('refuses an import or a rerun while a process holds a live lease on the run', async () => {
        const run = newRun({ items: 1 });
        await store.createRun(run);
        const busy = await owner(store, run.runId, 'busy');
        await claim(store, { runId: run.runId, owner: busy, untilStage: 'judge', limit: 1 });
        await expect(store.importRun({ runId: run.runId, events: [candidate(1)] })).rejects.toThrow(/is being executed by pid 1 on contract-host/);
        await expect(store.createRun(run, { replace: true })).rejects.toThrow(/is being executed by pid 1 on contract-host/);
        expect(await store.readTaskEvents(run.runId, 1)).toEqual([]);
        await store.releaseOwner(busy);
        expect((await store.importRun({ runId: run.runId, events: [candidate(1)] })).appended).toBe(1);
      });

      it('a rerun replaces the run whole: its events and state go, its id stays', async () => {
        const run = newRun({ items: 2 });
        await store.importRun({ runId: run.runId, create: run, events: [candidate(0), candidate(1)] });
        expect(await store.createRun(run, { replace: true })).toBe(true);
        expect(await store.getRun(run.runId)).toMatchObject({ status: 'created', completedThroughStage: null });
        expect(await store.getStageHistogram(run.runId)).toEqual([{ nextStage: 0, failed: false, count: 4 }]);
        expect(await store.readTaskEvents(run.runId, 0)).toEqual([]);
      });
    });

    describe('events and state', () => {
      it('moves tasks through the stages and keeps counters without scanning', async () => {
        const run = newRun({ items: 3 });
        await store.createRun(run);
        const me = await owner(store, run.runId, 'me');
        await claim(store, { runId: run.runId, owner: me, untilStage: 'judge', limit: 6});
        await store.appendEvents({
          runId: run.runId,
          owner: me,
          leases: leasesOf(me),
          events: [candidate(0), ...downstream(0, 1), candidate(1), ...downstream(1, 0), candidate(3), ...downstream(3, 1), candidate(2)],
          release: [0, 1, 3],
        });
        await store.appendEvents({ runId: run.runId, owner: me, leases: leasesOf(me), events: [{ taskOrd: 4, type: 'generate-failed', payload: { sample: 0, failure: failure('timeout') } }], release: [4] });
        const histogram = await store.getStageHistogram(run.runId);
        const byKey = Object.fromEntries(histogram.map((row) => [`${row.nextStage}${row.failed ? 'F' : ''}`, row.count]));
        expect(byKey).toEqual({ '5': 3, '1': 1, '0F': 1, '0': 1 });
        // Task 0 and 3 belong to model m1 (index 0), task 1 to m2: ords go item-major, model-minor.
        const totals = await store.getScoreTotals(run.runId);
        expect(totals).toEqual([
          { modelIndex: 0, promptIndex: 0, metric: 'accuracy', sum: 1, sumOfSquares: 1, count: 1 },
          { modelIndex: 1, promptIndex: 0, metric: 'accuracy', sum: 1, sumOfSquares: 1, count: 2 },
        ]);
        expect(await store.countFailures(run.runId)).toEqual([{ stage: 'generate', category: 'timeout', count: 1 }]);
        const failures = await store.listFailures(run.runId, 10);
        expect(failures).toEqual([{ taskKey: 'ds/item%2F2/m1/default/0', stage: 'generate', failure: failure('timeout') }]);
      });

      it('completes generation only when every sample has an answer', async () => {
        const run = newRun({ items: 1, models: ['m1'], samples: 3 });
        await store.createRun(run);
        const me = await owner(store, run.runId, 'me');
        await claim(store, { runId: run.runId, owner: me, untilStage: 'judge', limit: 1});
        await store.appendEvents({ runId: run.runId, owner: me, leases: leasesOf(me), events: [candidate(0, 2), candidate(0, 0)], release: [] });
        expect(await store.getStageHistogram(run.runId)).toEqual([{ nextStage: 0, failed: false, count: 1 }]);
        await store.appendEvents({ runId: run.runId, owner: me, leases: leasesOf(me), events: [{ taskOrd: 0, type: 'generate-failed', payload: { sample: 1, failure: failure() } }], release: [0] });
        expect(await store.getStageHistogram(run.runId)).toEqual([{ nextStage: 0, failed: true, count: 1 }]);
        await store.resetFailures(run.runId, 'judge');
        const [task] = await claim(store, { runId: run.runId, owner: me, untilStage: 'judge', limit: 1});
        expect(task!.candidateSeqs.map((seq) => seq !== null)).toEqual([true, false, true]);
        await store.appendEvents({ runId: run.runId, owner: me, leases: leasesOf(me), events: [candidate(0, 1)], release: [0] });
        expect(await store.getStageHistogram(run.runId)).toEqual([{ nextStage: 1, failed: false, count: 1 }]);
        const artifacts = (await store.loadArtifacts(run.runId, [0])).get(0)!;
        expect(artifacts.candidates.map((entry) => entry?.text)).toEqual(['The answer is 0.', 'The answer is 0.', 'The answer is 0.']);
      });

      it('resolves current artifacts and keeps the full history of a task', async () => {
        const run = newRun({ items: 1, models: ['m1'] });
        await store.createRun(run);
        const me = await owner(store, run.runId, 'me');
        await claim(store, { runId: run.runId, owner: me, untilStage: 'judge', limit: 1});
        await store.appendEvents({ runId: run.runId, owner: me, leases: leasesOf(me), events: [candidate(0, 0, 'It is 7.'), ...downstream(0, 1)], release: [0] });
        const artifacts = (await store.loadArtifacts(run.runId, [0])).get(0)!;
        expect(artifacts.candidates[0]).toMatchObject({ text: 'It is 7.', usage: { inputTokens: 3, outputTokens: 5 } });
        expect(artifacts.reduced).toEqual({ text: 'It is 7.', sources: [0] });
        expect(artifacts.parsed).toEqual({ ok: true, value: 1 });
        expect(artifacts.scores).toEqual({ accuracy: { value: 1 } });
        const history = await store.readTaskEvents(run.runId, 0);
        expect(history.map((event) => event.type)).toEqual(['generate-completed', 'reduce-completed', 'parse-completed', 'score-completed']);
        expect(history.map((event) => event.seq)).toEqual([...history.map((event) => event.seq)].sort((left, right) => left - right));
        const record = await store.getTask(run.runId, 'ds/item%2F0/m1/default/0');
        expect(record).toMatchObject({ ord: 0, itemOrd: 0, modelIndex: 0, key: 'ds/item%2F0/m1/default/0', progress: { nextStage: 5, failed: false } });
        expect(await store.getTask(run.runId, 'ds/missing/m1/default/0')).toBeUndefined();
      });

      it('reads the events of many tasks in one batch, each as reading that task alone gives them', async () => {
        const run = newRun({ items: 4, models: ['m1'], seed: 1 });
        const other = newRun({ items: 4, models: ['m1'], seed: 2 });
        await store.createRun(run);
        // Tasks' events interleaved in the log; task 2 has none, task 3 is not asked for, and another run has
        // events at the same positions: none of those may show up.
        await store.appendEvents({ runId: run.runId, owner: null, events: [candidate(0), candidate(3), candidate(1), ...downstream(0, 1)], release: [] });
        if (!factory.singleRun) {
          await store.createRun(other);
          await store.appendEvents({ runId: other.runId, owner: null, events: [candidate(1, 0, 'other run'), candidate(2, 0, 'other run')], release: [] });
        }
        await store.appendEvents({ runId: run.runId, owner: null, events: [candidate(0, 0, 'late'), candidate(3, 0, 'late')], release: [] });
        const batch = await store.readTaskEventsAt(run.runId, [2, 0, 1]);
        expect([...batch.keys()].sort()).toEqual([0, 1, 2]);
        for (const ord of [0, 1, 2]) expect(batch.get(ord)).toEqual(await store.readTaskEvents(run.runId, ord));
        expect(batch.get(2)).toEqual([]);
        const text = (event: { payload: unknown }) => (event.payload as { candidate?: { text: string } }).candidate?.text ?? null;
        expect(batch.get(0)!.map((event) => [event.taskOrd, event.type, text(event)])).toEqual([
          [0, 'generate-completed', 'The answer is 0.'],
          [0, 'reduce-completed', null],
          [0, 'parse-completed', null],
          [0, 'score-completed', null],
          [0, 'generate-completed', 'late'],
        ]);
        expect(batch.get(0)!.map((event) => event.seq)).toEqual([...batch.get(0)!.map((event) => event.seq)].sort((left, right) => left - right));
        expect(batch.get(1)!.map((event) => [event.runId, event.taskOrd, text(event)])).toEqual([[run.runId, 1, 'The answer is 1.']]);
        expect(await store.readTaskEventsAt(run.runId, [])).toEqual(new Map());
      });

      it('accepts events for a task nobody claimed (imports) and creates its state', async () => {
        const run = newRun({ items: 3 });
        await store.createRun(run);
        const result = await store.appendEvents({ runId: run.runId, owner: null, events: [candidate(4)], release: [4] });
        expect(result).toEqual({ appended: 1, rejectedOrds: [] });
        expect(await store.getTask(run.runId, 'ds/item%2F2/m1/default/0')).toMatchObject({ progress: { nextStage: 1 } });
        const me = await owner(store, run.runId, 'me');
        const claimed = await claim(store, { runId: run.runId, owner: me, untilStage: 'judge', limit: 10});
        expect(claimed.map((task) => task.ord).sort((left, right) => left - right)).toEqual([0, 1, 2, 3, 4, 5]);
        expect(claimed.find((task) => task.ord === 4)).toMatchObject({ nextStage: 1 });
        await expect(store.appendEvents({ runId: run.runId, owner: null, events: [candidate(99)], release: [] })).rejects.toThrow(/task 99 does not exist/);
      });

      it('ignores a late duplicate for a stage already passed, but keeps it in the log', async () => {
        const run = newRun({ items: 1, models: ['m1'] });
        await store.createRun(run);
        await store.appendEvents({ runId: run.runId, owner: null, events: [candidate(0), ...downstream(0, 1)], release: [] });
        await store.appendEvents({ runId: run.runId, owner: null, events: [candidate(0, 0, 'late')], release: [] });
        expect((await store.loadArtifacts(run.runId, [0])).get(0)!.candidates[0]!.text).toBe('The answer is 0.');
        expect(await store.readTaskEvents(run.runId, 0)).toHaveLength(5);
        expect(await store.getScoreTotals(run.runId)).toEqual([{ modelIndex: 0, promptIndex: 0, metric: 'accuracy', sum: 1, sumOfSquares: 1, count: 1 }]);
      });

      it('rewinds to a stage: current results from it on are cleared, history and upstream kept', async () => {
        const run = newRun({ items: 2, models: ['m1'] });
        await store.createRun(run);
        await store.appendEvents({ runId: run.runId, owner: null, events: [candidate(0), ...downstream(0, 1), candidate(1)], release: [] });
        expect(await store.rewind(run.runId, 'parse')).toBe(1);
        const histogram = Object.fromEntries((await store.getStageHistogram(run.runId)).map((row) => [row.nextStage, row.count]));
        expect(histogram).toEqual({ 1: 1, 2: 1 });
        expect(await store.getScoreTotals(run.runId)).toEqual([]);
        const artifacts = (await store.loadArtifacts(run.runId, [0])).get(0)!;
        expect(artifacts.reduced?.text).toBe('The answer is 0.');
        expect(artifacts.parsed).toBeNull();
        expect(artifacts.scores).toBeNull();
        expect(await store.readTaskEvents(run.runId, 0)).toHaveLength(4);
        const me = await owner(store, run.runId, 'me');
        const claimed = await claim(store, { runId: run.runId, owner: me, untilStage: 'judge', limit: 10});
        expect(claimed.map((task) => [task.ord, task.nextStage])).toEqual([[1, 1], [0, 2]]);
      });

      it('sums tokens per model and stage, skips reused answers, and keeps what was spent through a rewind', async () => {
        const run = newRun({ items: 2 });
        await store.createRun(run);
        const reused: TaskEvent = {
          taskOrd: 3,
          type: 'generate-completed',
          payload: { sample: 0, candidate: { text: 'The answer is 2.', finishReason: { unified: 'stop', raw: null }, usage: { inputTokens: 3, outputTokens: 5 }, latencyMs: 1, reusedFrom: 'f'.repeat(64) } },
        };
        const judged: TaskEvent = {
          taskOrd: 0,
          type: 'parse-completed',
          payload: {
            outcome: { ok: true, value: 1 },
            calls: [
              { model: 'reader', usage: { inputTokens: 100, outputTokens: 7 }, latencyMs: 3 },
              { model: 'reader', usage: { inputTokens: 50, outputTokens: null }, latencyMs: 3 },
            ],
          },
        };
        await store.appendEvents({
          runId: run.runId,
          owner: null,
          events: [candidate(0), { taskOrd: 0, type: 'reduce-completed', payload: { reduced: { sources: [0] } } }, judged, candidate(1), candidate(2), reused],
          release: [],
        });
        const expected = [
          { model: 'm1', stage: 'generate', calls: 2, inputTokens: 6, outputTokens: 10 },
          { model: 'm2', stage: 'generate', calls: 1, inputTokens: 3, outputTokens: 5 },
          { model: 'reader', stage: 'parse', calls: 2, inputTokens: 150, outputTokens: 7 },
        ];
        const sorted = async () => (await store.getUsageTotals(run.runId)).sort((left, right) => left.model.localeCompare(right.model) || left.stage.localeCompare(right.stage));
        expect(await sorted()).toEqual(expected);
        // Rewinding clears results, not money: the calls were made and paid for.
        await store.rewind(run.runId, 'parse');
        expect(await sorted()).toEqual(expected);
      });

      it('reads results page by page in manifest order: score values, failures and latency, no texts', async () => {
        const run = newRun({ items: 3, models: ['m1'] });
        await store.createRun(run);
        const failedGenerate: TaskEvent = { taskOrd: 1, type: 'generate-failed', payload: { sample: 0, failure: failure('timeout') } };
        const slow: TaskEvent = { ...candidate(2), payload: { sample: 0, candidate: { ...(candidate(2).payload as { candidate: object }).candidate, latencyMs: 250 } } } as TaskEvent;
        await store.appendEvents({ runId: run.runId, owner: null, events: [candidate(0), ...downstream(0, 1), failedGenerate, slow, ...downstream(2, 0)], release: [] });
        const rows = [];
        let after = -1;
        for (;;) {
          const page = await store.readResults(run.runId, after, 2);
          expect(page.length).toBeLessThanOrEqual(2);
          if (page.length === 0) break;
          rows.push(...page);
          after = page[page.length - 1]!.ord;
        }
        const touched = rows.filter((row) => row.ord <= 2);
        expect(touched.map((row) => row.ord)).toEqual([0, 1, 2]);
        expect(touched[0]).toEqual({ ord: 0, nextStage: 5, failed: false, failure: null, scores: { accuracy: 1 }, judgeScores: null, ratings: null, latencyMs: 1 });
        expect(touched[1]).toMatchObject({ ord: 1, nextStage: 0, failed: true, failure: { stage: 'generate', category: 'timeout' }, scores: null, latencyMs: null });
        expect(touched[2]).toMatchObject({ scores: { accuracy: 0 }, latencyMs: 250 });
        // Tasks nobody touched are pending at generate, whether or not the store keeps a row for them.
        for (const row of rows.filter((entry) => entry.ord > 2)) expect(row).toMatchObject({ nextStage: 0, failed: false, scores: null });
        expect(JSON.stringify(rows)).not.toContain('The answer is');
        await store.rewind(run.runId, 'score', [0]);
        expect((await store.readResults(run.runId, -1, 1))[0]).toMatchObject({ ord: 0, scores: null, latencyMs: 1 });
      });

      it('finds an evaluator reply by its request key, in any run, the first accepted one only', async () => {
        const run = newRun({ items: 2, models: ['m1'] });
        await store.createRun(run);
        const reply = (ord: number, key: string, text: string, accepted: boolean): TaskEvent => ({
          taskOrd: ord,
          type: 'call-completed',
          payload: { stage: 'judge', key, model: 'judge', accepted, result: { text, finishReason: { unified: 'stop', raw: 'stop' }, usage: { inputTokens: 1, outputTokens: 1 }, latencyMs: 1 } },
        });
        await store.appendEvents({ runId: run.runId, owner: null, events: [reply(0, 'k-rejected', 'off format', false), reply(0, 'k1', 'first', true), reply(1, 'k1', 'second', true)], release: [] });
        const found = await store.findCallReplies(['k1', 'k-rejected', 'unknown']);
        expect([...found.keys()]).toEqual(['k1']);
        expect(found.get('k1')).toMatchObject({ runId: run.runId, call: { key: 'k1', accepted: true, result: { text: 'first' } } });
        // A rewind keeps history: the reply is still there for the next attempt.
        await store.rewind(run.runId, 'generate');
        expect((await store.findCallReplies(['k1'])).get('k1')?.call.result.text).toBe('first');
      });

      it('rewinds only the tasks it is given', async () => {
        const run = newRun({ items: 2, models: ['m1'] });
        await store.createRun(run);
        await store.appendEvents({ runId: run.runId, owner: null, events: [candidate(0), ...downstream(0, 1), candidate(1), ...downstream(1, 0)], release: [] });
        expect(await store.rewind(run.runId, 'score', [1])).toBe(1);
        const histogram = Object.fromEntries((await store.getStageHistogram(run.runId)).map((row) => [row.nextStage, row.count]));
        expect(histogram).toEqual({ 3: 1, 5: 1 });
        expect(await store.getScoreTotals(run.runId)).toEqual([{ modelIndex: 0, promptIndex: 0, metric: 'accuracy', sum: 1, sumOfSquares: 1, count: 1 }]);
      });
    });

    describeTaskQueryContract(() => store);
  });
}

