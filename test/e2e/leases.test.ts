import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
import { runCli, startCli, waitFor } from '../support/cli.js';
import { FakeOpenAIServer, solve } from '../support/openai-server.js';
import { httpConfig, Workspace } from '../support/workspace.js';

describe('fenced leases across processes', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;

  beforeEach(async () => {
    workspace = new Workspace();
    server = await new FakeOpenAIServer((request) => ({ kind: 'answer', text: solve(request.prompt), delayMs: 60 })).start();
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  it('a process paused past its lease loses its tasks to another one, writes nothing for them and says so; no result is written twice', async () => {
    const tasks = 120;
    const concurrency = 4;
    workspace.arithmetic('questions.jsonl', tasks);
    workspace.write('exp.yaml', httpConfig(server.baseURL, { concurrency }).replace('runtime:\n', 'runtime:\n  leaseMs: 1000\n'));

    const paused = startCli(['run', 'exp.yaml', '--json'], { cwd: workspace.dir });
    await waitFor(() => server.requests.length >= 12, 30_000, 'the first process to start answering');
    paused.child.kill('SIGSTOP');
    const askedBeforePause = server.requests.length;
    // Well past its 1 s lease by any clock; then a second process joins the run.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const second = startCli(['run', 'exp.yaml', '--json'], { cwd: workspace.dir });
    await waitFor(() => server.requests.length >= askedBeforePause + 20, 30_000, 'the second process to take over');
    paused.child.kill('SIGCONT');
    const [first, other] = await Promise.all([paused.done, second.done]);
    expect(first.code, first.stderr).toBe(0);
    expect(other.code, other.stderr).toBe(0);

    // Both did work, and the woken one said what happened to its leases.
    const summaries = [JSON.parse(first.stdout), JSON.parse(other.stdout)];
    expect(summaries[0].modelCalls).toBeGreaterThan(0);
    expect(summaries[1].modelCalls).toBeGreaterThan(0);
    expect(first.stderr).toMatch(/longer than its lease|took over/);

    // Every question asked; none asked twice beyond what the paused process had in flight.
    const counts = server.countsByPrompt();
    expect(counts.size).toBe(tasks);
    const repeated = [...counts.values()].filter((count) => count > 1);
    expect(repeated.every((count) => count === 2)).toBe(true);
    expect(repeated.length).toBeLessThanOrEqual(concurrency);

    // The store holds exactly one answer per task: the paused process's late answers were refused.
    const store = openSqliteStore(workspace.path('store.db'), { create: false });
    try {
      const [run] = await store.listRuns();
      for (let ord = 0; ord < tasks; ord++) {
        const answers = (await store.readTaskEvents(run!.runId, ord)).filter((event) => event.type === 'generate-completed');
        expect(answers, `task ${ord}`).toHaveLength(1);
      }
      expect(run).toMatchObject({ status: 'completed' });
    } finally {
      await store.close();
    }
  });
});
