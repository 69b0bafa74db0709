import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Experiment } from '../../src/experiment/experiment.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { AppendRequest, Store } from '../../src/spec/store.js';
import { openSqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
import { runCli } from '../support/cli.js';
import { FakeOpenAIServer, solve } from '../support/openai-server.js';
import { httpConfig, Workspace } from '../support/workspace.js';

/** Mounting a small tmpfs needs root; without it the disk tests are skipped (CI runs as root). */
const canMount = process.getuid?.() === 0;

function mount(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
}
const remount = (dir: string, options: string) => execFileSync('mount', ['-o', `remount,${options}`, dir]);
const unmount = (dir: string) => execFileSync('umount', ['-l', dir]);

/** One line on stderr, the error line, and no stack trace. */
function expectOneErrorLine(stderr: string): string {
  const lines = stderr.trim().split('\n').filter((line) => !line.startsWith('assay: warning:'));
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^assay: error: /);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe('a store that refuses writes stops the run cleanly', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;
  const mounts: string[] = [];

  beforeEach(async () => {
    workspace = new Workspace();
    // Long answers, so that a few hundred of them outgrow a small disk.
    server = await new FakeOpenAIServer((request) => ({ kind: 'answer', text: `${'Let me think about it step by step. '.repeat(60)}${solve(request.prompt)}` })).start();
  });
  afterEach(async () => {
    for (const dir of mounts.splice(0)) unmount(dir);
    await server.stop();
    workspace.remove();
  });

  it.runIf(canMount)('disk full: exits 1 with one line naming the store; once space is freed the same command finishes, asking only what was lost', async () => {
    const disk = workspace.path('disk');
    mount(disk, '900k');
    mounts.push(disk);
    workspace.arithmetic('questions.jsonl', 400);
    workspace.write('exp.yaml', httpConfig(server.baseURL, { concurrency: 8 }).replace('store: store.db', `store: ${disk}/store.db`));

    const full = await runCli(['run', 'exp.yaml', '--quiet'], { cwd: workspace.dir });
    expect(full.code, full.stderr).toBe(1);
    const line = expectOneErrorLine(full.stderr);
    expect(line).toContain(`disk full at ${disk}/store.db`);
    expect(line).toMatch(/\d+ of 400 tasks are done and saved/);
    expect(line).toContain('free space and run the same command again');
    const askedBefore = server.requests.length;
    expect(askedBefore).toBeLessThan(400);

    remount(disk, 'size=64m');
    const again = await runCli(['run', 'exp.yaml', '--json'], { cwd: workspace.dir });
    expect(again.code, again.stderr).toBe(0);
    const summary = JSON.parse(again.stdout);
    expect(summary).toMatchObject({ status: 'completed', done: 400 });
    // Every question was answered; the ones asked twice are those whose answers the full disk refused.
    const counts = server.countsByPrompt();
    expect(counts.size).toBe(400);
    const repeated = [...counts.values()].filter((count) => count > 1).length;
    expect(repeated).toBeLessThanOrEqual(askedBefore);
    expect(summary.scores[0].mean).toBe(1);
  });

  it.runIf(canMount)('a read-only store: exits 1 with one line and leaves its bytes alone', async () => {
    const disk = workspace.path('disk');
    mount(disk, '16m');
    mounts.push(disk);
    workspace.arithmetic('questions.jsonl', 10);
    workspace.write('exp.yaml', httpConfig(server.baseURL).replace('store: store.db', `store: ${disk}/store.db`));
    expect((await runCli(['run', 'exp.yaml', '--until-stage', 'generate', '--quiet'], { cwd: workspace.dir })).code).toBe(0);
    const before = readFileSync(`${disk}/store.db`);
    remount(disk, 'ro');
    const result = await runCli(['run', 'exp.yaml', '--quiet'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(1);
    expect(expectOneErrorLine(result.stderr)).toMatch(/read-only|I\/O error/);
    expect(readFileSync(`${disk}/store.db`).equals(before)).toBe(true);
    remount(disk, 'rw');
    const resumed = await runCli(['run', 'exp.yaml', '--json'], { cwd: workspace.dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: 'completed', done: 10 });
  });

  it('a store file replaced by garbage: exits 1 with one line and is not overwritten', async () => {
    workspace.arithmetic('questions.jsonl', 5);
    workspace.write('exp.yaml', httpConfig(server.baseURL));
    expect((await runCli(['run', 'exp.yaml', '--quiet'], { cwd: workspace.dir })).code).toBe(0);
    rmSync(workspace.path('store.db-wal'), { force: true });
    rmSync(workspace.path('store.db-shm'), { force: true });
    const garbage = Buffer.alloc(64 * 1024, 0x5a);
    writeFileSync(workspace.path('store.db'), garbage);
    for (const command of [['run', 'exp.yaml'], ['quickcheck', 'exp.yaml'], ['runs', '--store', 'store.db']]) {
      const result = await runCli(command, { cwd: workspace.dir });
      expect(result.code, `${command.join(' ')}: ${result.stderr}`).toBe(1);
      expect(expectOneErrorLine(result.stderr)).toContain('store.db');
    }
    expect(readFileSync(workspace.path('store.db')).equals(garbage)).toBe(true);
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
    const store = openSqliteStore(workspace.path('store.db'));
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
});
