import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresServer, postgresBinaries, PG_TEST_PASSWORD } from '../../src/testing/postgres-server.js';
import { runCli, startCli, waitFor, type RunningCli } from '../support/cli.js';
import { FakeOpenAIServer, solve } from '../support/openai-server.js';
import { httpConfig, Workspace } from '../support/workspace.js';

/**
 * `assay view --store postgres://...` end to end, through the viewer's JSON API and its report page (the
 * browser pages themselves are driven on SQLite in view.test.ts: they are the same code over Store): the run
 * is listed, a filter narrows the task table (queryTasks in SQL), a task shows its answer, the report is built
 * by the worker thread over its own read-only connection, the password is never printed, and the viewer
 * writes nothing to the database.
 */
const binaries = postgresBinaries();

/** The answer to odd questions is wrong ("What is 11 + 10?" is q1), so a fail filter has something to find. */
function reply(prompt: string): string {
  const left = Number(/What is (\d+)/.exec(prompt)?.[1] ?? 0);
  return left % 2 === 1 ? 'The answer is 0.' : solve(prompt);
}

describe.skipIf(!binaries)(`assay view on PostgreSQL (${binaries ?? 'no binaries'})`, () => {
  let pg: PostgresServer;
  let model: FakeOpenAIServer;
  let workspace: Workspace;
  let url: string;
  let runId: string;

  beforeAll(async () => {
    pg = await PostgresServer.start();
    model = await new FakeOpenAIServer((request) => ({ kind: 'answer', text: reply(request.prompt) })).start();
    workspace = new Workspace();
    workspace.arithmetic('questions.jsonl', 10);
    workspace.write('exp.yaml', httpConfig(model.baseURL, { concurrency: 2 }).replace('  store: store.db\n', ''));
    url = await pg.createDatabase('viewed');
    const result = await runCli(['run', 'exp.yaml', '--store', url, '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    runId = (JSON.parse(result.stdout) as { runId: string }).runId;
  }, 120_000);

  afterAll(async () => {
    await model?.stop();
    pg?.stop();
    workspace?.remove();
  });

  /** What a write would change: row counts, the newest event, the run's update time, and the server's tuple counters. */
  async function footprint(): Promise<unknown> {
    // A backend reports its tuple counts when it ends or within a second: wait for them to settle.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const rows = await pg.sql(
      'viewed',
      `SELECT (SELECT count(*)::int FROM assay.runs) AS runs, (SELECT count(*)::int FROM assay.tasks) AS tasks, (SELECT count(*)::int FROM assay.events) AS events,
         (SELECT max(seq)::text FROM assay.events) AS last_seq, (SELECT string_agg(updated_at || status, ',') FROM assay.runs) AS updated,
         (SELECT count(*)::int FROM assay.task_scores) AS task_scores`,
    );
    await pg.sql('viewed', 'SELECT pg_stat_clear_snapshot()');
    const stats = await pg.sql('viewed', "SELECT sum(n_tup_ins)::text AS ins, sum(n_tup_upd)::text AS upd, sum(n_tup_del)::text AS del FROM pg_stat_user_tables WHERE schemaname = 'assay'");
    return { ...rows.rows[0], ...stats.rows[0] };
  }

  async function startView(...args: string[]): Promise<{ cli: RunningCli; url: string }> {
    const cli = startCli(['view', '--store', url, '--port', '0', ...args], { cwd: workspace.dir });
    await waitFor(() => /https?:\/\/\S+/.test(cli.output().stdout) || cli.child.exitCode !== null, 30_000, 'assay view to listen');
    const shown = args.includes('--json') ? (JSON.parse(cli.output().stdout) as { url: string }).url : /assay view: (\S+)/.exec(cli.output().stdout)![1]!;
    return { cli, url: shown };
  }

  async function stop(cli: RunningCli): Promise<void> {
    if (cli.child.exitCode === null) {
      cli.child.kill('SIGTERM');
      await cli.done;
    }
  }

  const json = async (base: string, path: string): Promise<any> => {
    const response = await fetch(new URL(path, base));
    expect(response.status, path).toBe(200);
    return response.json();
  };

  it('lists the run, filters its tasks in SQL, shows a task and builds the report, writing nothing and never printing the password', async () => {
    const before = await footprint();
    const view = await startView();
    try {
      const runs = (await json(view.url, '/api/runs')) as { runId: string }[];
      expect(runs.map((run) => run.runId)).toEqual([runId]);

      const all = await json(view.url, `/api/runs/${runId}/tasks?limit=50`);
      expect(all.rows.map((row: { ord: number }) => row.ord)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // Odd left operands (q1, q3, ...: tasks 0, 2, 4, 6, 8) were answered wrong.
      const failing = await json(view.url, `/api/runs/${runId}/tasks?score=accuracy&pass=no&limit=50`);
      expect(failing.rows.map((row: { ord: number }) => row.ord)).toEqual([0, 2, 4, 6, 8]);
      const sorted = await json(view.url, `/api/runs/${runId}/tasks?sort=accuracy&desc=yes&limit=3`);
      expect(sorted.rows.map((row: { ord: number }) => row.ord)).toEqual([9, 7, 5]);
      expect(sorted.more).toBe(true);
      const searched = await json(view.url, `/api/runs/${runId}/tasks?q=${encodeURIComponent('what is 12 +')}`);
      expect(searched.rows.map((row: { ord: number }) => row.ord)).toEqual([1]);

      const task = await json(view.url, `/api/runs/${runId}/tasks/1`);
      expect(task.item.input).toBe('What is 12 + 13?');
      expect(task.artifacts.candidates[0].text).toBe('The answer is 25.');

      const run = await json(view.url, `/api/runs/${runId}`);
      expect(JSON.stringify(run)).toContain('accuracy');
      const report = await fetch(new URL(`/runs/${runId}/report.html`, view.url));
      expect(report.status).toBe(200);
      const html = await report.text();
      expect(html).toContain('accuracy');
      expect(html).not.toMatch(/No report yet/);
      expect(html).not.toContain(PG_TEST_PASSWORD);
    } finally {
      await stop(view.cli);
    }
    const printed = view.cli.output();
    expect(printed.stdout).toContain('127.0.0.1');
    expect(printed.stdout + printed.stderr).not.toContain(PG_TEST_PASSWORD);
    expect(await footprint()).toEqual(before);

    const quiet = await startView('--json');
    try {
      const shown = JSON.parse(quiet.cli.output().stdout) as { store: string };
      expect(shown.store).toMatch(/^postgres(ql)?:\/\/.*127\.0\.0\.1/);
      expect(shown.store).not.toContain(PG_TEST_PASSWORD);
    } finally {
      await stop(quiet.cli);
    }
  }, 120_000);

  it('its footprint check sees a write that changes no value: the tuple counters catch it', async () => {
    const before = await footprint();
    await pg.sql('viewed', 'UPDATE assay.tasks SET next_stage = next_stage WHERE ord = 0');
    expect(await footprint()).not.toEqual(before);
  }, 60_000);
});
