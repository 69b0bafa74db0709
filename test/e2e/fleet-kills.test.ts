import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { redactText } from '../../src/core/redact.js';
import { ASSAY_BIN, runCli, startCli, waitFor, type CliResult } from '../support/cli.js';
import { FleetScenario } from '../support/fleet.js';
import type { FakeOpenAIServer } from '../support/openai-server.js';
import type { Workspace } from '../support/workspace.js';

/**
 * `assay run --workers N` and its `assay worker` children when a process goes away: the parent killed (its
 * workers stop as on SIGTERM, docs/commands/worker.md), one worker killed (one line, not an internal error),
 * Ctrl+C while the workers start or while the run is created (exit 130, the interrupted line), a reader of
 * a worker's stderr that goes away (the work goes on). Real processes over real HTTP, on an SQLite store (or
 * the store at $ASSAY_TEST_WORKER_STORE, as in workers.test.ts: fleet-kills-postgres.test.ts).
 */
let scenario: FleetScenario;
let workspace: Workspace;
let server: FakeOpenAIServer;
let location: string;

beforeEach(async () => {
  scenario = await FleetScenario.start(30);
  ({ workspace, server, location } = scenario);
});

afterEach(() => scenario.stop());

async function runState(runId: string): Promise<{ status: string; owners: number }> {
  return scenario.withStore(async (store) => ({ status: (await store.getRun(runId))!.status, owners: (await store.listOwners(runId)).length }));
}

/** The run of exp.yaml (`assay submit` names it, and creates nothing when it is there). */
const runOfConfig = () => scenario.submit();

/** The pids of a process's children (none: ps exits 1). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((child) => child > 0);
  } catch {
    return [];
  }
}

/** Running (a zombie nobody reaped counts as gone: in a container, PID 1 may never reap the orphans). */
function processAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The last line after a Ctrl+C (a store URL is named without its password). */
const interruptedLine = () => `interrupted: every finished result is saved; resume with: assay run exp.yaml --store ${redactText(location)}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('assay run --workers when a process of the fleet goes away', () => {
  it('the parent killed with kill -9: both workers stop within the grace period, leases released, nothing paid is lost', async () => {
    const concurrency = 4;
    scenario.experiment(400, { concurrency, runtime: '  gracePeriodMs: 10000\n' });
    const parent = startCli(['run', 'exp.yaml', '--store', location, '--workers', '2'], { cwd: workspace.dir });
    await waitFor(() => server.requests.length >= 40, 30_000, 'the workers to answer');
    const children = childrenOf(parent.child.pid!);
    expect(children).toHaveLength(2);
    parent.child.kill('SIGKILL');
    await parent.done;
    // Each worker notices (its report pipe breaks, it gets another parent) and stops: well within the grace period.
    await expect.poll(() => children.filter(processAlive).length, { timeout: 15_000, interval: 100 }).toBe(0);
    const asked = server.requests.length;
    expect(asked).toBeLessThan(400);
    await sleep(1000);
    expect(server.requests.length).toBe(asked);
    const runId = await runOfConfig();
    const status = await runCli(['status', runId, '--store', location, '--json'], { cwd: workspace.dir });
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { workers: { live: boolean }[] }).workers.filter((owner) => owner.live)).toEqual([]);
    // Released, not left to lapse: the next process takes every task at once.
    expect((await runState(runId)).owners).toBe(0);
    const again = await runCli(['run', 'exp.yaml', '--store', location, '--json'], { cwd: workspace.dir });
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { status: string; done: number }).status).toBe('completed');
    const counts = [...server.countsByPrompt().values()];
    expect(counts).toHaveLength(400);
    // The calls in flight when the parent died finished and were saved: none of them is asked again.
    expect(counts.filter((count) => count > 1).length).toBeLessThanOrEqual(0);
  }, 90_000);

  it('one worker killed with kill -9: one line naming it, not an internal error; the other worker finishes the run, exit 0', async () => {
    scenario.experiment(300, { concurrency: 4, runtime: '  leaseMs: 3000\n' });
    const parent = startCli(['run', 'exp.yaml', '--store', location, '--workers', '2', '--json'], { cwd: workspace.dir });
    await waitFor(() => server.requests.length >= 40, 30_000, 'the workers to answer');
    const children = childrenOf(parent.child.pid!);
    expect(children).toHaveLength(2);
    const victim = children[0]!;
    process.kill(victim, 'SIGKILL');
    const result = await parent.done;
    expect(result.stderr).not.toMatch(/internal error|InternalError|\n\s+at /);
    const summary = JSON.parse(result.stdout) as { runId: string; status: string; done: number; tasks: number; workers: { worker: number; pid: number; killedBy: string | null }[] };
    const dead = summary.workers.find((entry) => entry.pid === victim)!;
    expect(dead.killedBy).toBe('SIGKILL');
    expect(summary.workers.filter((entry) => entry.killedBy !== null)).toHaveLength(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toContain(`[assay] worker ${dead.worker} of 2 (pid ${victim}) was killed by SIGKILL: what it finished is saved, and its unfinished tasks go back to the other workers`);
    // The other worker takes the dead one's tasks (it finds the process gone) and finishes the run.
    expect(summary.status, result.stderr).toBe('completed');
    expect(summary.done).toBe(300);
    expect(result.code, result.stderr).toBe(0);
    const counts = [...server.countsByPrompt().values()];
    expect(counts).toHaveLength(300);
    expect(counts.filter((count) => count > 1).length).toBeLessThanOrEqual(4);
  }, 90_000);

  it('both workers killed with kill -9: the run is left incomplete, said in one last line, exit 1; the same command continues it', async () => {
    scenario.experiment(300, { concurrency: 4 });
    const parent = startCli(['run', 'exp.yaml', '--store', location, '--workers', '2', '--json'], { cwd: workspace.dir });
    await waitFor(() => server.requests.length >= 40, 30_000, 'the workers to answer');
    const children = childrenOf(parent.child.pid!);
    expect(children).toHaveLength(2);
    for (const pid of children) process.kill(pid, 'SIGKILL');
    const result = await parent.done;
    expect(result.stderr).not.toMatch(/internal error|InternalError|\n\s+at /);
    expect(result.code, result.stderr).toBe(1);
    const summary = JSON.parse(result.stdout) as { runId: string; done: number; tasks: number; workers: { worker: number; pid: number; killedBy: string | null }[] };
    expect(summary.workers.map((entry) => entry.killedBy)).toEqual(['SIGKILL', 'SIGKILL']);
    expect(summary.done).toBeLessThan(300);
    expect(result.stderr.trim().split('\n').at(-1)).toBe(
      `run ${summary.runId.slice(0, 12)} is not complete: worker 1 (pid ${summary.workers[0]!.pid}) was killed by SIGKILL, worker 2 (pid ${summary.workers[1]!.pid}) was killed by SIGKILL; ${summary.done} of ${summary.tasks} tasks are done and saved; continue with: assay run exp.yaml --store ${redactText(location)}`,
    );
    const again = await runCli(['run', 'exp.yaml', '--store', location, '--json'], { cwd: workspace.dir });
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { status: string }).status).toBe('completed');
    // What the dead workers had in flight is asked again, nothing else: at most 4 calls each.
    expect([...server.countsByPrompt().values()].filter((count) => count > 1).length).toBeLessThanOrEqual(8);
  }, 90_000);

  it('Ctrl+C as the workers start (before they handle signals): exit 130 and the interrupted line, not an internal error', async () => {
    scenario.experiment(300, { concurrency: 4 });
    const parent = startCli(['run', 'exp.yaml', '--store', location, '--workers', '2'], { cwd: workspace.dir });
    // The moment the workers exist (before their own Node has started), the user presses Ctrl+C.
    await waitFor(() => childrenOf(parent.child.pid!).length > 0, 30_000, 'the workers to be started');
    parent.child.kill('SIGINT');
    const result = await parent.done;
    expect(result.stderr).not.toMatch(/internal error/);
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr.trim().split('\n').at(-1)).toBe(interruptedLine());
    const runId = await runOfConfig();
    expect((await runState(runId)).owners).toBe(0);
    // Resumed, it finishes.
    const again = await runCli(['run', 'exp.yaml', '--store', location, '--workers', '2', '--json'], { cwd: workspace.dir });
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { status: string }).status).toBe('completed');
  }, 60_000);

  // The moment is told by the SQLite file appearing; the check is the same whatever the store.
  it.skipIf(process.env.ASSAY_TEST_WORKER_STORE !== undefined).each([
    ['assay run --workers 2', ['--workers', '2']],
    ['assay run in one process', []],
  ])('%s: Ctrl+C while the run is created (a big dataset being read) makes no model call (no worker started), exit 130 and the interrupted line', async (_name, extra) => {
    scenario.experiment(200_000, { concurrency: 4 });
    const run = startCli(['run', 'exp.yaml', '--store', location, ...extra], { cwd: workspace.dir });
    // While the rows are written to the store (the SQLite file exists from then on).
    await waitFor(() => existsSync(location), 30_000, 'the store to be created');
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.stderr).not.toMatch(/internal error/);
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr.trim().split('\n').at(-1)).toBe(interruptedLine());
    // The signal came while the rows were read: the run is stopped before its first claim, not after it.
    expect(server.requests).toHaveLength(0);
  }, 90_000);

  it('--no-reuse reaches the workers: every task calls the model, as assay run --no-reuse in one process', async () => {
    scenario.experiment(40, { concurrency: 4 });
    // Another run in the same store asked the same calls (it differs only in its metric's name).
    workspace.write('other.yaml', readFileSync(workspace.path('exp.yaml'), 'utf8').replace('name: accuracy', 'name: accuracy2'));
    const first = await runCli(['run', 'other.yaml', '--store', location, '--quiet'], { cwd: workspace.dir });
    expect(first.code, first.stderr).toBe(0);
    expect(server.requests).toHaveLength(40);
    const result = await runCli(['run', 'exp.yaml', '--store', location, '--workers', '2', '--no-reuse', '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { status: string; modelCalls: number; reusedGenerations: number };
    expect(summary.status).toBe('completed');
    expect(summary.reusedGenerations).toBe(0);
    expect(summary.modelCalls).toBe(40);
    expect(server.requests).toHaveLength(80);
  });

  it('assay worker --no-reuse calls the model where another run already has the answer', async () => {
    scenario.experiment(20, { concurrency: 4 });
    workspace.write('other.yaml', readFileSync(workspace.path('exp.yaml'), 'utf8').replace('name: accuracy', 'name: accuracy2'));
    expect((await runCli(['run', 'other.yaml', '--store', location, '--quiet'], { cwd: workspace.dir })).code).toBe(0);
    const runId = await scenario.submit();
    const result = await scenario.worker(runId, '--no-reuse', '--quiet').done;
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { modelCalls: number; runs: { reusedGenerations: number }[] };
    expect(summary.modelCalls).toBe(20);
    expect(summary.runs[0]!.reusedGenerations).toBe(0);
    expect(server.requests).toHaveLength(40);
  });

  it('--workers with --no-work is refused with one line, nothing created', async () => {
    scenario.experiment(10);
    const result = await runCli(['run', 'exp.yaml', '--store', location, '--workers', '2', '--no-work'], { cwd: workspace.dir });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual(['assay: error: --no-work and --workers are alternatives: --no-work works none of the run, --workers works it with N processes; drop one of them']);
    expect(result.stdout).toBe('');
  });
});

describe('a process whose stderr reader goes away', () => {
  it.each([
    ['assay worker', (runId: string) => ['worker', runId, '--store', location, '--json']],
    ['assay run', () => ['run', 'exp.yaml', '--store', location, '--json']],
  ])('%s 2>&1 | head: it keeps working to the end and exits 0, not mid-run', async (_name, args) => {
    scenario.experiment(300, { concurrency: 4 });
    const runId = await scenario.submit();
    const child = spawn(process.execPath, [ASSAY_BIN, ...args(runId)], {
      cwd: workspace.dir,
      env: { ...process.env, ASSAY_PROGRESS_INTERVAL_MS: '100' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    // The reader takes the first progress line and goes (as head does).
    await new Promise<void>((resolve) => child.stderr.once('data', () => resolve()));
    child.stderr.destroy();
    const result = await new Promise<Pick<CliResult, 'code' | 'signal'>>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    expect(result).toEqual({ code: 0, signal: null });
    expect((JSON.parse(stdout) as { modelCalls: number }).modelCalls).toBe(300);
    expect(await runState(runId)).toEqual({ status: 'completed', owners: 0 });
  }, 60_000);
});
