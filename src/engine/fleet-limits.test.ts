import { describe, expect, it } from 'vitest';
import { MemoryCallWindows } from '../stores/call-grants.js';
import type { CallReservation, Store } from '../spec/store.js';
import { FleetLimits } from './fleet-limits.js';
import type { CallableModel } from './model-caller.js';

/** The part of a Store the fleet limits use, over the in-memory windows every backend's rule is tested against. */
function sharedStore(live = 1) {
  const windows = new MemoryCallWindows();
  const reservations: CallReservation[] = [];
  const store = {
    reserveCalls: async (request: CallReservation) => {
      if (request.requests > 0) reservations.push(request);
      return windows.reserve(request);
    },
    pauseModel: async (runId: string, model: string, pauseMs: number) => windows.pause(runId, model, pauseMs),
    listOwners: async () => Array.from({ length: live }, () => ({ live: true })),
  } as unknown as Store;
  return { store, reservations };
}

function model(rateLimit?: CallableModel['rateLimit']): ReadonlyMap<string, CallableModel> {
  return new Map([['m', { model: {} as CallableModel['model'], params: {}, concurrency: undefined, rateLimit }]]);
}

const never = new AbortController().signal;

describe('fleet limits', () => {
  it('admits calls to a model without limits at once, with no store round trip', () => {
    const { store, reservations } = sharedStore();
    const fleet = new FleetLimits({ store, runId: 'r', models: model() });
    for (let index = 0; index < 1000; index++) expect(fleet.acquire('m', 100, never)).toBe(true);
    expect(reservations).toHaveLength(0);
    fleet.dispose();
  });

  it('serves every call waiting at one moment with one reservation, and never grants more than the limit per window', async () => {
    const { store, reservations } = sharedStore();
    const limit = { requestsPerMinute: 40, windowSeconds: 60 };
    const fleet = new FleetLimits({ store, runId: 'r', models: model(limit) });
    const waiting = Array.from({ length: 10 }, () => fleet.acquire('m', 50, never));
    expect(await Promise.all(waiting)).toEqual(new Array(10).fill(true));
    // As a group commit: the first call asks alone, the nine that arrive meanwhile go in the next round trip.
    expect(reservations.map((request) => request.requests)).toEqual([1, 9]);
    expect(reservations[1]).toMatchObject({ requestLimit: 40, tokensPerRequest: 50 });
    expect(reservations[0]!.windowMs).toBeGreaterThan(60_000);
    // Two processes sharing the store: between them, no more than 40 in the window.
    const other = new FleetLimits({ store, runId: 'r', models: model(limit) });
    let admitted = 10;
    const more = [...Array.from({ length: 30 }, () => fleet.acquire('m', 50, never)), ...Array.from({ length: 30 }, () => other.acquire('m', 50, never))];
    for (const pending of more) void Promise.resolve(pending).then((ok) => (admitted += ok ? 1 : 0));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(admitted).toBe(40);
    fleet.dispose();
    other.dispose();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(admitted).toBe(40);
  });

  it('a rate limit seen by one process pauses the model for another, which learns it at its next sync', async () => {
    const { store } = sharedStore();
    const first = new FleetLimits({ store, runId: 'r', models: model(), syncMs: 20 });
    const second = new FleetLimits({ store, runId: 'r', models: model(), syncMs: 20 });
    await second.start();
    expect(second.acquire('m', 1, never)).toBe(true);
    first.rateLimited('m', 300);
    await new Promise((resolve) => setTimeout(resolve, 60));
    const started = performance.now();
    const pending = second.acquire('m', 1, never);
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toBe(true);
    expect(performance.now() - started).toBeGreaterThan(100);
    first.dispose();
    second.dispose();
  });

  it('splits the number of live processes for the engine, and lets a cancelled wait go', async () => {
    const { store } = sharedStore(3);
    const seen: number[] = [];
    const fleet = new FleetLimits({ store, runId: 'r', models: model({ requestsPerMinute: 1, windowSeconds: 60 }), onOwners: (live) => seen.push(live) });
    await fleet.start();
    expect(seen).toEqual([3]);
    expect(await fleet.acquire('m', 1, never)).toBe(true);
    const cancel = new AbortController();
    const waiting = fleet.acquire('m', 1, cancel.signal);
    cancel.abort();
    expect(await waiting).toBe(false);
    fleet.dispose();
  });
});
