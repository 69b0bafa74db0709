import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startCli, waitFor, type CliResult } from '../support/cli.js';
import { FleetScenario } from '../support/fleet.js';
import { solve, type FakeOpenAIServer, type RecordedRequest } from '../support/openai-server.js';
import type { Workspace } from '../support/workspace.js';

/**
 * What one worker learns, every worker obeys: a 429 one of them sees pauses the model for all, and the
 * spending cap holds for the fleet's total, not per process. Real processes over real HTTP, on an SQLite
 * store (or the store at $ASSAY_TEST_WORKER_STORE, as in workers.test.ts).
 */
let scenario: FleetScenario;
let server: FakeOpenAIServer;
let location: string;
let workspace: Workspace;

beforeEach(async () => {
  scenario = await FleetScenario.start(40);
  ({ workspace, server, location } = scenario);
});

afterEach(() => scenario.stop());

const experiment = (tasks: number, concurrency: number, model?: string) => scenario.experiment(tasks, { concurrency, ...(model ? { model } : {}) });
const submit = () => scenario.submit();
const worker = (runId: string, ...extra: string[]) => scenario.worker(runId, '--quiet', ...extra);

interface WorkerStatus {
  readonly live: boolean;
}

async function liveWorkers(runId: string): Promise<number> {
  const result = await runCli(['status', runId, '--store', location, '--json'], { cwd: workspace.dir });
  if (result.code !== 0) return 0;
  const status = JSON.parse(result.stdout) as { workers: WorkerStatus[] };
  return status.workers.filter((entry) => entry.live).length;
}

function summary(result: CliResult): { modelCalls: number; status: string } {
  expect([0, 1], `${result.code} ${result.stderr}`).toContain(result.code);
  return JSON.parse(result.stdout) as { modelCalls: number; status: string };
}

describe('signals shared by a fleet', () => {
  it('a 429 seen by one worker pauses the model for every worker until its Retry-After has passed', async () => {
    const retryAfterSeconds = 5;
    experiment(1500, 2);
    const runId = await submit();
    const workers = [worker(runId), worker(runId)];
    // Both workers are live on the run before the server answers one request with a 429.
    await waitFor(() => server.requests.length >= 30, 60_000, 'the workers to call the model');
    await expect.poll(() => liveWorkers(runId), { timeout: 30_000, interval: 100 }).toBe(2);
    let limited: RecordedRequest | undefined;
    server.behaviour = (request) => {
      if (!limited) {
        limited = request;
        return { kind: 'error', status: 429, headers: { 'retry-after': String(retryAfterSeconds) } };
      }
      return { kind: 'answer', text: solve(request.prompt), delayMs: 40 };
    };
    const results = await Promise.all(workers.map((child) => child.done));
    for (const result of results) expect(summary(result).modelCalls).toBeGreaterThan(0);
    expect(limited).toBeDefined();
    const at = limited!.at;
    // The other worker reads the pause from the store at its next sync (every second); from then until the
    // Retry-After is over, no process starts a call. Without a fleet-wide pause the other worker would go on at
    // about 2 calls per 40 ms, some 50 in this window.
    const quiet = server.requests.filter((request) => request.at > at + 2000 && request.at < at + retryAfterSeconds * 1000 - 300);
    expect(quiet.map((request) => request.at - at)).toEqual([]);
    // ... and work was left for after the pause, so the quiet window was the pause, not the run's end.
    expect(server.requests.filter((request) => request.at >= at + retryAfterSeconds * 1000 - 300).length).toBeGreaterThan(20);
    // Every task was answered once, plus the one retried after its 429.
    const counts = [...server.countsByPrompt().values()];
    expect(counts.length).toBe(1500);
    expect(counts.filter((count) => count === 2).length).toBe(1);
    expect(server.requestsFor(limited!.prompt)).toHaveLength(2);
  });

  it('the spending cap holds for the total of every worker on the run, not per worker', async () => {
    // The fake server bills a quarter token per character of prompt and reply: about a cent a question at
    // $1,000 per million tokens, a worst case (prompt plus 64 output tokens) of about seven cents.
    const cap = 0.6;
    experiment(120, 1, '    price: { input: 1000, output: 1000 }\n');
    const runId = await submit();
    // Not --quiet: each worker's notices (the one at the cap) are read below.
    const results = await Promise.all([0, 1].map(() => scenario.worker(runId, '--max-cost', String(cap)).done));
    const calls = results.map((result) => summary(result).modelCalls);
    for (const count of calls) expect(count).toBeGreaterThan(0);
    // Both say they stopped at the cap, and exit 1: the one that stops while the other still runs too.
    for (const result of results) {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/spending cap/);
      expect(JSON.parse(result.stdout).runs[0].stoppedFor).toBe('budget');
    }
    // Each worker alone could spend the whole cap: the two together would reach twice it.
    const report = await runCli(['quickcheck', runId, '--store', location, '--json'], { cwd: workspace.dir });
    expect(report.code, report.stderr).toBe(0);
    const check = JSON.parse(report.stdout) as { status: string; interruptReason: string | null; cost: { total: number }; done: number };
    expect(check.status).toBe('interrupted');
    expect(check.interruptReason).toBe('budget');
    expect(check.cost.total).toBeLessThanOrEqual(cap);
    expect(check.cost.total).toBeGreaterThan(cap / 3);
    expect(check.done).toBeLessThan(120);
    expect(server.requests.length).toBe(calls[0]! + calls[1]!);
    // The notice at the cap gives what the run has spent across the fleet, as the cap counts it (an estimate: the
    // others' spend since the last sync is assumed), not only what this worker spent; at least the worker that
    // stopped first still shared the run, and says so.
    const fleetNotices = results.flatMap((result) => {
      const found = /the next call would pass the run's spending cap of \$0\.6, which 2 processes share \(the run has spent about \$([\d.]+) across them by this one's count, \$([\d.]+) of it here\): no new calls/.exec(result.stderr);
      return found ? [{ run: Number(found[1]), own: Number(found[2]) }] : [];
    });
    expect(fleetNotices.length, results.map((result) => result.stderr).join('\n')).toBeGreaterThan(0);
    for (const notice of fleetNotices) {
      expect(notice.own).toBeGreaterThan(0);
      expect(notice.run).toBeGreaterThan(notice.own);
      expect(notice.run).toBeLessThanOrEqual(cap);
    }
  });
});
