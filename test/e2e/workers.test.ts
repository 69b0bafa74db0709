import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/spec/store.js';
import { runCli, startCli, waitFor, type CliResult } from '../support/cli.js';
import { FleetScenario } from '../support/fleet.js';
import { solve, type FakeOpenAIServer } from '../support/openai-server.js';
import type { Workspace } from '../support/workspace.js';

/**
 * Several processes on one run: `assay run`, `assay worker` and `assay run --workers`, over real HTTP to a
 * local server that counts requests. The store is a parameter: an SQLite file in the test's folder by
 * default, or the store at $ASSAY_TEST_WORKER_STORE (a PostgreSQL URL, say), where every test makes its own run
 * (a dataset of its own) and names it, so runs of other tests sharing the store are never touched.
 */
const SHARED_STORE = process.env.ASSAY_TEST_WORKER_STORE;

let scenario: FleetScenario;
let workspace: Workspace;
let server: FakeOpenAIServer;
let location: string;

beforeEach(async () => {
  scenario = await FleetScenario.start(30);
  ({ workspace, server, location } = scenario);
});

afterEach(() => scenario.stop());

const experiment = (tasks: number, options?: Parameters<FleetScenario['experiment']>[1]) => scenario.experiment(tasks, options);
const submit = () => scenario.submit();
const worker = (runId: string, ...extra: string[]) => scenario.worker(runId, ...extra);

function modelCalls(result: CliResult): number {
  expect(result.code, result.stderr).toBe(0);
  const parsed = JSON.parse(result.stdout) as { modelCalls: number };
  return parsed.modelCalls;
}

const withStore = <T>(use: (store: Store) => Promise<T>): Promise<T> => scenario.withStore(use);

/** The run's final status and the most answers stored for one task (1 when nothing was written twice). */
async function stored(runId: string, tasks: number): Promise<{ status: string; maxAnswers: number; minAnswers: number; owners: number }> {
  return withStore(async (store) => {
    let maxAnswers = 0;
    let minAnswers = Number.POSITIVE_INFINITY;
    for (let ord = 0; ord < tasks; ord++) {
      const answers = (await store.readTaskEvents(runId, ord)).filter((event) => event.type === 'generate-completed').length;
      maxAnswers = Math.max(maxAnswers, answers);
      minAnswers = Math.min(minAnswers, answers);
    }
    return { status: (await store.getRun(runId))!.status, maxAnswers, minAnswers, owners: (await store.listOwners(runId)).length };
  });
}

function askedCounts(): number[] {
  return [...server.countsByPrompt().values()];
}

describe('workers on one run', () => {
  it('one `assay run` and two `assay worker` share a run: every task done once, each process did work', async () => {
    // Each process names itself in a header; the server holds every answer until all three have asked
    // something, so none can take every task before the others have started, however slow their start.
    let release!: () => void;
    const allStarted = new Promise<void>((resolve) => (release = resolve));
    const byProcess = new Map<string, number>();
    server.behaviour = (request) => {
      const name = String(request.headers['x-test-process']);
      byProcess.set(name, (byProcess.get(name) ?? 0) + 1);
      if (byProcess.size === 3) release();
      return { kind: 'answer', text: solve(request.prompt), delayMs: 30, after: allStarted };
    };
    experiment(150, { model: '    headersFromEnv: { x-test-process: TEST_PROCESS }\n' });
    const runId = await submit();
    const as = (name: string) => ({ cwd: workspace.dir, env: { TEST_PROCESS: name } });
    const run = startCli(['run', 'exp.yaml', '--store', location, '--json'], as('run'));
    const workers = ['w1', 'w2'].map((name) => startCli(['worker', runId, '--store', location, '--json'], as(name)));
    const results = await Promise.all([run.done, ...workers.map((child) => child.done)]);
    const calls = results.map(modelCalls);
    for (const count of calls) expect(count).toBeGreaterThan(0);
    expect(calls.reduce((sum, count) => sum + count, 0)).toBe(150);
    expect([...byProcess.keys()].sort()).toEqual(['run', 'w1', 'w2']);
    expect([byProcess.get('run'), byProcess.get('w1'), byProcess.get('w2')]).toEqual(calls);
    const asked = askedCounts();
    expect(asked.length).toBe(150);
    expect(Math.max(...asked)).toBe(1);
    expect(await stored(runId, 150)).toEqual({ status: 'completed', maxAnswers: 1, minAnswers: 1, owners: 0 });
  });

  it('a worker killed with kill -9 mid-run: the others finish, repeating at most the calls it had in flight', async () => {
    const concurrency = 4;
    experiment(150, { concurrency });
    const runId = await submit();
    const doomed = worker(runId);
    await waitFor(() => server.requests.length >= 20, 30_000, 'the first worker to answer');
    const others = [startCli(['run', 'exp.yaml', '--store', location, '--json'], { cwd: workspace.dir }), worker(runId)];
    const before = server.requests.length;
    await waitFor(() => server.requests.length >= before + 20, 30_000, 'the others to answer');
    doomed.child.kill('SIGKILL');
    const killed = await doomed.done;
    expect(killed.signal).toBe('SIGKILL');
    const results = await Promise.all(others.map((child) => child.done));
    // The others finish the run between them (which of them took what depends on their pace).
    expect(results.map(modelCalls).reduce((sum, count) => sum + count, 0)).toBeGreaterThan(0);
    const asked = askedCounts();
    expect(asked.length).toBe(150);
    expect(asked.filter((count) => count > 1).length).toBeLessThanOrEqual(concurrency);
    expect(await stored(runId, 150)).toEqual({ status: 'completed', maxAnswers: 1, minAnswers: 1, owners: 0 });
  });

  it('two workers, one killed with kill -9: the survivor finishes the run, the dead one’s claimed tasks included', async () => {
    // Found by review 21: the survivor removed the dead worker (its pid gone on this machine), which freed its
    // leases, then stopped without claiming them, and marked the run interrupted (user).
    const concurrency = 4;
    experiment(200, { concurrency });
    const runId = await submit();
    const doomed = worker(runId, '--quiet');
    const survivor = worker(runId, '--quiet');
    await waitFor(() => server.requests.length >= 40, 30_000, 'both workers to answer');
    doomed.child.kill('SIGKILL');
    expect((await doomed.done).signal).toBe('SIGKILL');
    const result = await survivor.done;
    expect(result.code, result.stderr).toBe(0);
    const summary = (JSON.parse(result.stdout) as { runs: { status: string; interruptReason: string | null; done: number; tasks: number }[] }).runs[0]!;
    expect({ status: summary.status, interruptReason: summary.interruptReason, done: summary.done, tasks: summary.tasks }).toEqual({ status: 'completed', interruptReason: null, done: 200, tasks: 200 });
    // Every task asked; the dead worker's calls in flight at most twice, nothing else twice.
    const asked = askedCounts();
    expect(asked.length).toBe(200);
    expect(Math.max(...asked)).toBeLessThanOrEqual(2);
    expect(asked.filter((count) => count > 1).length).toBeLessThanOrEqual(concurrency);
    expect(await stored(runId, 200)).toEqual({ status: 'completed', maxAnswers: 1, minAnswers: 1, owners: 0 });
  });

  it('a worker stopped past its lease and continued: its writes are refused, nothing is paid twice beyond its calls in flight', async () => {
    const concurrency = 4;
    experiment(120, { concurrency, runtime: '  leaseMs: 1000\n' });
    const runId = await submit();
    const paused = worker(runId);
    await waitFor(() => server.requests.length >= 3 * concurrency, 30_000, 'the first worker to answer');
    paused.child.kill('SIGSTOP');
    const askedBeforePause = server.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const second = worker(runId);
    await waitFor(() => server.requests.length >= askedBeforePause + 20, 30_000, 'the second worker to take over');
    paused.child.kill('SIGCONT');
    const [first, other] = await Promise.all([paused.done, second.done]);
    expect(modelCalls(first)).toBeGreaterThan(0);
    expect(modelCalls(other)).toBeGreaterThan(0);
    expect(first.stderr).toMatch(/longer than its lease|took over/);
    const asked = askedCounts();
    expect(asked.length).toBe(120);
    expect(asked.filter((count) => count > 1).length).toBeLessThanOrEqual(concurrency);
    expect(Math.max(...asked)).toBeLessThanOrEqual(2);
    expect(await stored(runId, 120)).toEqual({ status: 'completed', maxAnswers: 1, minAnswers: 1, owners: 0 });
  });

  it('three workers with requestsPerMinute on the model never pass it at the server, in any window', async () => {
    const limit = 8;
    const windowMs = 2000;
    // Each worker alone would start up to `limit` calls per window: three would reach three times the limit.
    experiment(24, { concurrency: 8, model: `    rateLimit: { requestsPerMinute: ${limit}, windowSeconds: ${windowMs / 1000} }\n` });
    const runId = await submit();
    const workers = [worker(runId), worker(runId), worker(runId)];
    const results = await Promise.all(workers.map((child) => child.done));
    expect(results.map(modelCalls).reduce((sum, count) => sum + count, 0)).toBe(24);
    const arrivals = server.requests.map((request) => request.at).sort((left, right) => left - right);
    expect(arrivals.length).toBe(24);
    // The most requests the server saw within any window of the model's length (a sliding window over arrivals).
    let most = 0;
    for (let first = 0, last = 0; last < arrivals.length; last++) {
      while (arrivals[last]! - arrivals[first]! >= windowMs) first++;
      most = Math.max(most, last - first + 1);
    }
    expect(most).toBeLessThanOrEqual(limit);
    expect(most).toBeGreaterThan(1);
    expect((await stored(runId, 24)).status).toBe('completed');
  });

  it('assay run --workers 2 completes a run, both workers doing work', async () => {
    // Every answer is held until more requests wait than one worker may have in flight (4): both have asked.
    let release!: () => void;
    const bothAsking = new Promise<void>((resolve) => (release = resolve));
    server.behaviour = (request) => {
      if (server.requests.length > 4) release();
      return { kind: 'answer', text: solve(request.prompt), delayMs: 30, after: bothAsking };
    };
    experiment(150);
    const result = await runCli(['run', 'exp.yaml', '--store', location, '--workers', '2', '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { runId: string; status: string; modelCalls: number; done: number; workers: { modelCalls: number }[] };
    expect(summary.status).toBe('completed');
    expect(summary.done).toBe(150);
    expect(summary.workers).toHaveLength(2);
    for (const child of summary.workers) expect(child.modelCalls).toBeGreaterThan(0);
    expect(summary.modelCalls).toBe(150);
    const asked = askedCounts();
    expect(asked.length).toBe(150);
    expect(Math.max(...asked)).toBe(1);
    expect(await stored(summary.runId, 150)).toEqual({ status: 'completed', maxAnswers: 1, minAnswers: 1, owners: 0 });
    // Without --json the summary has a line for the workers, their calls adding up to the run's.
    experiment(20);
    const text = await runCli(['run', 'exp.yaml', '--store', location, '--workers', '2'], { cwd: workspace.dir });
    expect(text.code, text.stderr).toBe(0);
    const line = /^ {2}workers: 1 \(pid \d+\) (\d+) calls · 2 \(pid \d+\) (\d+) calls$/m.exec(text.stdout);
    expect(line, text.stdout).not.toBeNull();
    expect(Number(line![1]) + Number(line![2])).toBe(20);
  });

  it('a worker whose config names other models than the run is refused with one line, and nothing is written', async () => {
    experiment(10);
    const runId = await submit();
    workspace.write('other.yaml', readFileSync(workspace.path('exp.yaml'), 'utf8').replace('temperature: 0,', 'temperature: 0.7,'));
    const before = SHARED_STORE ? null : readFileSync(location);
    const result = await runCli(['worker', runId, '--store', location, '--config', 'other.yaml'], { cwd: workspace.dir });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^assay: error: model 'local' in .*other\.yaml is not the model run [0-9a-f]{12} was made with \(its params differ\); use the config the run was made with$/);
    if (before) expect(readFileSync(location).equals(before)).toBe(true);
    if (!SHARED_STORE) expect(existsSync(`${location}-wal`) ? readFileSync(`${location}-wal`).length : 0).toBe(0);
    expect(server.requests).toHaveLength(0);
    expect(await withStore(async (store) => [(await store.getRun(runId))!.status, (await store.listOwners(runId)).length, (await store.readTaskEvents(runId, 0)).length])).toEqual(['created', 0, 0]);
  });

  it('assay status shows the leases a worker holds from its first claim on, not only after a quarter lease', async () => {
    // The default lease is 300 s, so the periodic heartbeat comes 75 s in; the answers are held until status has
    // been read, so the worker sits on its first claimed batch meanwhile.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    server.behaviour = (request) => ({ kind: 'answer', text: solve(request.prompt), after: held });
    experiment(40, { concurrency: 4 });
    const runId = await submit();
    const running = worker(runId);
    try {
      await waitFor(() => server.requests.length >= 4, 30_000, 'the worker to call the model');
      const heldTasks = async () => {
        const result = await runCli(['status', runId, '--store', location, '--json'], { cwd: workspace.dir });
        expect(result.code, result.stderr).toBe(0);
        const workers = (JSON.parse(result.stdout) as { workers: { heldTasks: number; live: boolean }[] }).workers;
        return workers.length === 1 && workers[0]!.live ? workers[0]!.heldTasks : -1;
      };
      await expect.poll(heldTasks, { timeout: 20_000, interval: 200 }).toBeGreaterThanOrEqual(4);
      expect(await heldTasks()).toBeLessThanOrEqual(40);
    } finally {
      release();
    }
    expect(modelCalls(await running.done)).toBe(40);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('assay worker stopped by %s (no --follow): exit %i, what it finished saved, its leases released', async (signal, code) => {
    server.behaviour = (request) => ({ kind: 'answer', text: solve(request.prompt), delayMs: 100 });
    experiment(60, { concurrency: 2 });
    const runId = await submit();
    const running = worker(runId);
    await waitFor(() => server.requests.length >= 4, 30_000, 'the worker to call the model');
    running.child.kill(signal);
    const result = await running.done;
    expect(result.code, result.stderr).toBe(code);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(/^stopped: every finished result is saved and this worker's leases are released; continue with: assay worker --store /);
    const state = await stored(runId, 60);
    expect(state.owners).toBe(0);
    expect(state.maxAnswers).toBe(1);
  });

  it('assay run stopped while a worker goes on says the run is still running and who sets its status; the worker finishes it', async () => {
    server.behaviour = (request) => ({ kind: 'answer', text: solve(request.prompt), delayMs: 60 });
    experiment(120, { concurrency: 2 });
    const runId = await submit();
    const other = worker(runId);
    await waitFor(() => server.requests.length >= 4, 30_000, 'the worker to call the model');
    const run = startCli(['run', 'exp.yaml', '--store', location], { cwd: workspace.dir });
    await waitFor(() => run.output().stderr.includes('this one will share the remaining tasks'), 30_000, 'assay run to join the run');
    const before = server.requests.length;
    await waitFor(() => server.requests.length >= before + 6, 30_000, 'more calls');
    run.child.kill('SIGINT');
    const stopped = await run.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stdout.split('\n')[0]).toBe(`run ${runId.slice(0, 12)} (http-test): running (other processes are still on it; they set its final status)`);
    const finished = await other.done;
    expect(finished.code, finished.stderr).toBe(0);
    expect((await stored(runId, 120)).status).toBe('completed');
  });

  it('assay worker with nothing to do exits 0 and calls nothing', async () => {
    experiment(5);
    const runId = await submit();
    expect(modelCalls(await worker(runId).done)).toBe(5);
    const asked = server.requests.length;
    expect(modelCalls(await worker(runId).done)).toBe(0);
    if (!SHARED_STORE) {
      const result = await runCli(['worker', '--store', location], { cwd: workspace.dir });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^nothing to do: no unfinished run in /);
    }
    expect(server.requests.length).toBe(asked);
  });

  it.skipIf(SHARED_STORE !== undefined)('assay submit says what it did: created, already there (with its progress), or replaced by an empty run', async () => {
    experiment(4);
    const submitted = async (...policy: string[]) => {
      const result = await runCli(['submit', 'exp.yaml', '--store', location, ...policy], { cwd: workspace.dir });
      expect(result.code, result.stderr).toBe(0);
      return result.stderr.trim();
    };
    const first = await runCli(['submit', 'exp.yaml', '--store', location], { cwd: workspace.dir });
    const id = first.stdout.trim();
    expect(first.stderr.trim()).toBe(`run ${id.slice(0, 12)} (http-test, 4 tasks) created in ${location}; work it with: assay worker ${id.slice(0, 12)} --store ${location}`);
    expect(modelCalls(await worker(id).done)).toBe(4);
    expect(await submitted()).toMatch(new RegExp(`^run ${id.slice(0, 12)} \\(http-test, 4 tasks\\) already there \\(completed, 4 of 4 done\\) in `));
    expect(await submitted('--existing-run-policy', 'rerun')).toMatch(new RegExp(`^run ${id.slice(0, 12)} \\(http-test, 4 tasks\\) replaced by a new, empty one \\(the results it held are gone\\) in `));
    expect(await stored(id, 4)).toMatchObject({ status: 'created' });
    expect(await withStore(async (store) => (await store.readResults(id, -1, 10)).filter((row) => row.nextStage > 0).length)).toBe(0);
  });

  it.skipIf(SHARED_STORE !== undefined)('with no run named, a worker skips the runs its config has not the models of, says so, works the others, and exits 1', async () => {
    experiment(6);
    const other = await submit();
    workspace.write('other.yaml', readFileSync(workspace.path('exp.yaml'), 'utf8').replace('temperature: 0,', 'temperature: 0.7,'));
    const mine = (await runCli(['submit', 'other.yaml', '--store', location], { cwd: workspace.dir })).stdout.trim();
    const result = await runCli(['worker', '--store', location, '--config', 'other.yaml', '--quiet'], { cwd: workspace.dir });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^assay: error: skipped run ${other.slice(0, 12)} \\(http-test\\): model 'local' in .*other\\.yaml is not the model run ${other.slice(0, 12)} was made with \\(its params differ\\)`));
    expect((await stored(mine, 6)).status).toBe('completed');
    expect((await stored(other, 6)).status).toBe('created');
    expect(server.requests).toHaveLength(6);
    // Again, with only the other run left: the worker says it skipped it, not that there was nothing to do.
    const again = await runCli(['worker', '--store', location, '--config', 'other.yaml', '--quiet'], { cwd: workspace.dir });
    expect(again.code).toBe(1);
    expect(again.stdout.trim()).toBe(`nothing done: the one unfinished run in ${location} skipped (see below)`);
    const json = await runCli(['worker', '--store', location, '--config', 'other.yaml', '--json'], { cwd: workspace.dir });
    expect(json.code).toBe(1);
    const summary = JSON.parse(json.stdout) as { runs: unknown[]; skipped: { runId: string; name: string; reason: string }[]; modelCalls: number };
    expect(summary.runs).toEqual([]);
    expect(summary.modelCalls).toBe(0);
    expect(summary.skipped).toHaveLength(1);
    expect(summary.skipped[0]).toMatchObject({ runId: other, name: 'http-test' });
    expect(summary.skipped[0]!.reason).toMatch(/^model 'local' in .*other\.yaml is not the model run /);
    expect(server.requests).toHaveLength(6);
  });

  it.skipIf(SHARED_STORE !== undefined)('assay worker --follow works runs as they are submitted, and a SIGTERM ends it cleanly with its leases released', async () => {
    experiment(20);
    // An empty store first: the follower waits for work.
    const seed = await runCli(['submit', 'exp.yaml', '--store', location], { cwd: workspace.dir });
    expect(seed.code, seed.stderr).toBe(0);
    const follower = startCli(['worker', '--store', location, '--follow', '--poll-seconds', '1', '--json'], { cwd: workspace.dir });
    await waitFor(() => server.requests.length >= 20, 30_000, 'the follower to work the first run');
    experiment(15);
    const second = await submit();
    await waitFor(() => server.requests.length >= 35, 30_000, 'the follower to work the run submitted later');
    await expect.poll(async () => (await stored(second, 15)).status, { timeout: 20_000 }).toBe('completed');
    follower.child.kill('SIGTERM');
    const result = await follower.done;
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { runs: { runId: string; status: string }[]; stopped: boolean };
    expect(summary.stopped).toBe(true);
    expect(summary.runs.map((run) => run.status)).toEqual(['completed', 'completed']);
    expect((await stored(second, 15)).owners).toBe(0);
  });
});
