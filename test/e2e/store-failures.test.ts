import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Experiment } from '../../src/experiment/experiment.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { AppendRequest, Store } from '../../src/spec/store.js';
import { openStore } from '../../src/stores/open-store.js';
import { canMount, diskFullScenario, errorLines, garbageStoreScenario, readOnlyScenario } from '../chaos/store-faults.js';
import { FakeOpenAIServer } from '../support/openai-server.js';
import { httpConfig, Workspace } from '../support/workspace.js';

/** One line on stderr, the error line, and no stack trace. */
function expectOneErrorLine(stderr: string): string {
  const { lines, stack } = errorLines(stderr);
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^assay: error: /);
  expect(stack).toBe(false);
  return lines[0]!;
}

describe('a store that refuses writes stops the run cleanly', () => {
  it.runIf(canMount)('disk full: exits 1 with one line naming the store; once space is freed the same command finishes, asking only what was lost', async () => {
    const figures = await diskFullScenario('900k');
    expect(figures.full.code, figures.full.stderr).toBe(1);
    const line = expectOneErrorLine(figures.full.stderr);
    expect(line).toMatch(/disk full at \/.*\/disk\/store\.db/);
    expect(line).toMatch(/\d+ of 400 tasks are done and saved/);
    expect(line).toContain('free space and run the same command again');
    expect(figures.askedBefore).toBeLessThan(400);
    expect(figures.storedBeforeFreeing).toBeGreaterThan(0);
    expect(figures.after.code, figures.after.stderr).toBe(0);
    expect(figures.doneAfter).toBe(400);
    // No answer the store held when the disk filled was asked for again.
    expect(figures.savedAskedAgain).toBe(0);
  });

  it.runIf(canMount)('disk full under a progressive save: exits 1 with one line; --resume finishes the job without asking again for a logged answer', async () => {
    const figures = await diskFullScenario('400k', { progressive: true });
    expect(figures.full.code, figures.full.stderr).toBe(1);
    const line = expectOneErrorLine(figures.full.stderr);
    expect(line).toMatch(/disk full at \/.*\/disk\/results\.json \(ENOSPC\): \d+ of 400 tasks are done and saved/);
    expect(figures.storedBeforeFreeing).toBeGreaterThan(0);
    expect(figures.after.code, figures.after.stderr).toBe(0);
    expect(figures.doneAfter).toBe(400);
    expect(figures.savedAskedAgain).toBe(0);
  });

  it.runIf(canMount)('a read-only store: exits 1 with one line and leaves its bytes alone; writable again, the run goes on', async () => {
    const figures = await readOnlyScenario();
    expect(figures.refused.code, figures.refused.stderr).toBe(1);
    expect(expectOneErrorLine(figures.refused.stderr)).toMatch(/the store is read-only at .*store\.db/);
    expect(figures.bytesUnchanged).toBe(true);
    expect(figures.resumed.code, figures.resumed.stderr).toBe(0);
    expect(JSON.parse(figures.resumed.stdout)).toMatchObject({ status: 'completed', done: 10 });
  });

  it('a store file replaced by garbage: every command exits 1 with one line naming it, and it is not overwritten', async () => {
    const figures = await garbageStoreScenario();
    for (const { command, result } of figures.results) {
      expect(result.code, `${command}: ${result.stderr}`).toBe(1);
      expect(expectOneErrorLine(result.stderr)).toContain('store.db');
    }
    expect(figures.bytesUnchanged).toBe(true);
  });
});

describe('a store failure in the library', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;

  beforeEach(async () => {
    workspace = new Workspace();
    server = await new FakeOpenAIServer().start();
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  /** The real SQLite store, whose appends start failing as a full disk would after `healthy` batches. */
  function failingAfter(store: Store, healthy: number): Store {
    let appends = 0;
    return new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'appendEvents') {
          return (request: AppendRequest) => {
            if (++appends > healthy) return Promise.reject(new StoreUnavailableError(target.location, 'disk_full', { detail: 'SQLITE_FULL' }));
            return target.appendEvents(request);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  it('rejects with the store failure instead of hanging, frees the run for the next session, and loses nothing committed', async () => {
    workspace.arithmetic('questions.jsonl', 200);
    workspace.write('exp.yaml', httpConfig(server.baseURL, { concurrency: 16 }));
    const experiment = Experiment.fromConfig(workspace.path('exp.yaml'));
    const store = await openStore(workspace.path('store.db'), { create: true });
    try {
      const failure = await experiment.run({ store: failingAfter(store, 3) }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(StoreUnavailableError.isInstance(failure)).toBe(true);
      expect((failure as Error).message).toMatch(/^disk full at .*store\.db \(SQLITE_FULL\): \d+ of 200 tasks are done and saved/);
      const runId = experiment.compile().runId;
      const record = await store.getRun(runId);
      expect(record).toMatchObject({ status: 'interrupted', interruptReason: 'store' });
      expect(await store.listOwners(runId)).toEqual([]);
      const artifacts = await store.loadArtifacts(runId, Array.from({ length: 200 }, (_, ord) => ord));
      const saved = [...artifacts.values()].filter((task) => task.candidates[0] !== null).length;
      expect(saved).toBeGreaterThan(0);
      // The next session on a healthy store finishes it, and asks again only what was never committed.
      const summary = await experiment.run({ store });
      expect(summary).toMatchObject({ status: 'completed', done: 200 });
      const counts = server.countsByPrompt();
      expect(counts.size).toBe(200);
      for (const [ord, task] of artifacts) {
        if (task.candidates[0] !== null) expect(counts.get(`What is ${11 + ord} + ${3 * (ord + 1) + 7}?`), `task ${ord}`).toBe(1);
      }
    } finally {
      await store.close();
    }
  });

  it('a store that hands out no task while tasks remain unleased: the run ends interrupted (error) with a notice, not (user), and does not spin', async () => {
    workspace.arithmetic('questions.jsonl', 50);
    workspace.write('exp.yaml', httpConfig(server.baseURL, { concurrency: 4 }));
    const experiment = Experiment.fromConfig(workspace.path('exp.yaml'));
    const store = await openStore(workspace.path('store.db'), { create: true });
    // The first claim is served; every later one comes back empty although nobody holds the tasks left.
    let claims = 0;
    const stingy = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'claimTasks') return (request: Parameters<Store['claimTasks']>[0]) => (++claims === 1 ? target.claimTasks({ ...request, limit: 10 }) : Promise.resolve([]));
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    try {
      const notices: string[] = [];
      const summary = await experiment.run({ store: stingy, onNotice: (message) => notices.push(message) });
      expect(summary).toMatchObject({ status: 'interrupted', interruptReason: 'error', done: 10 });
      expect(notices).toContain('40 unfinished task(s) could not be claimed, and no other process holds them: the run is marked interrupted (error); run it again to finish them (and please report this)');
      // A round of claims that came back empty ends the session: a few claims, not a loop.
      expect(claims).toBeLessThan(20);
      expect((await store.getRun(experiment.compile().runId))!).toMatchObject({ status: 'interrupted', interruptReason: 'error' });
      // The next session, on a store that hands tasks out, finishes the run.
      expect(await experiment.run({ store })).toMatchObject({ status: 'completed', done: 50 });
    } finally {
      await store.close();
    }
  });
});

