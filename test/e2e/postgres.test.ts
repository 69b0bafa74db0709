import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { PostgresServer, postgresBinaries, PG_TEST_PASSWORD, PG_TEST_USER } from '../../src/testing/postgres-server.js';
import { openStore } from '../../src/stores/open-store.js';
import { runCli, startCli, waitFor, type CliResult } from '../support/cli.js';
import { FakeOpenAIServer, solve } from '../support/openai-server.js';
import { httpConfig, Workspace } from '../support/workspace.js';

/**
 * assay on a real PostgreSQL server started here: bad store URLs refused with one line (password never
 * shown, nothing written), a worker whose connections the server ends, the same results as SQLite, and the
 * reading commands on a PostgreSQL store.
 */
const binaries = postgresBinaries();
const suite = binaries ? describe : describe.skip;

let pg: PostgresServer;
let databases = 0;
let workspace: Workspace;
let model: FakeOpenAIServer;

/** A value without what differs between two runs of the same tasks (latencies, times, the store's location). */
function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !/latency|seconds|duration|elapsed|At$|^store$|^location$/i.test(key))
      .map(([key, entry]) => [key, comparable(entry)]),
  );
}

const jsonLines = (text: string) => text.trim().split('\n').map((line) => comparable(JSON.parse(line)));

function oneLine(result: CliResult): string {
  expect(result.code, result.stderr).toBe(1);
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(result.stderr).not.toContain(PG_TEST_PASSWORD);
  return lines[0]!;
}

async function hasAssaySchema(database: string): Promise<boolean> {
  const { rowCount } = await pg.sql(database, "SELECT 1 FROM pg_namespace WHERE nspname = 'assay'");
  return (rowCount ?? 0) > 0;
}

/** A dataset of `tasks` questions and a config for the model server, with no store named (each test passes one). */
function experiment(tasks: number): void {
  workspace.arithmetic('questions.jsonl', tasks);
  workspace.write('exp.yaml', httpConfig(model.baseURL, { concurrency: 4 }).replace('  store: store.db\n', ''));
}

suite(`assay on PostgreSQL (${binaries ?? 'no binaries'})`, () => {
  beforeAll(async () => {
    pg = await PostgresServer.start();
  }, 120_000);
  afterAll(() => pg?.stop());

  let delayMs = 0;
  beforeEach(async () => {
    workspace = new Workspace();
    delayMs = 0;
    model = await new FakeOpenAIServer((request) => ({ kind: 'answer', text: solve(request.prompt), delayMs })).start();
  });
  afterEach(async () => {
    await model.stop();
    workspace.remove();
  });

  async function database(): Promise<{ name: string; url: string }> {
    const name = `e2e_${++databases}`;
    return { name, url: await pg.createDatabase(name) };
  }

  describe('bad store URLs: one line naming the store (password redacted), exit 1, nothing written', () => {
    it('an unreachable server', async () => {
      experiment(3);
      const url = `postgres://assay:${PG_TEST_PASSWORD}@127.0.0.1:1/nowhere`;
      const line = oneLine(await runCli(['run', 'exp.yaml', '--store', url], { cwd: workspace.dir }));
      expect(line).toMatch(/127\.0\.0\.1:1\/nowhere: cannot reach the PostgreSQL server .*check the host and port/);
      expect(model.requests).toHaveLength(0);
    });

    it('a wrong password', async () => {
      const { name } = await database();
      experiment(3);
      const line = oneLine(await runCli(['run', 'exp.yaml', '--store', pg.url(name, 'not-the-password-77')], { cwd: workspace.dir }));
      expect(line).toMatch(/refused the login .*check the user and password/);
      expect(line).not.toContain('not-the-password-77');
      expect(await hasAssaySchema(name)).toBe(false);
      expect(model.requests).toHaveLength(0);
    });

    it('no password given to a server that asks for one (no PGPASSWORD, no ~/.pgpass)', async () => {
      const { name } = await database();
      experiment(3);
      const bare = `postgres://${PG_TEST_USER}@127.0.0.1:${pg.port}/${name}`;
      const env = { PGPASSWORD: undefined, PGPASSFILE: workspace.path('no-such-pgpass'), HOME: workspace.dir };
      for (const args of [['run', 'exp.yaml'], ['worker'], ['submit', 'exp.yaml']]) {
        const result = await runCli([...args, '--store', bare], { cwd: workspace.dir, env });
        const line = oneLine(result);
        expect(line, args.join(' ')).toBe(
          `assay: error: ${bare}: the PostgreSQL server asks for a password and none was given; give it in the URL (user:PASSWORD@host), in PGPASSWORD, or in ~/.pgpass`,
        );
      }
      expect(await hasAssaySchema(name)).toBe(false);
      expect(model.requests).toHaveLength(0);
    });

    it('a database without assay schema, for a command that reads (runs, worker, report)', async () => {
      const { name, url } = await database();
      for (const args of [['runs'], ['worker'], ['report', 'abcdef12']]) {
        const line = oneLine(await runCli([...args, '--store', url], { cwd: workspace.dir }));
        expect(line).toMatch(/holds no assay store .*assay run CONFIG --store URL/);
        expect(line).toContain(`127.0.0.1:${pg.port}/${name}`);
      }
      expect(await hasAssaySchema(name)).toBe(false);
    });

    it('a database written by a newer assay (a higher schema version)', async () => {
      const { name, url } = await database();
      experiment(3);
      expect((await runCli(['run', 'exp.yaml', '--store', url, '--quiet'], { cwd: workspace.dir })).code).toBe(0);
      await pg.sql(name, 'UPDATE assay.schema_version SET version = 99');
      const before = (await pg.sql(name, 'SELECT count(*)::int AS n FROM assay.events')).rows[0].n;
      for (const args of [['runs', '--store', url], ['run', 'exp.yaml', '--store', url]]) {
        expect(oneLine(await runCli(args, { cwd: workspace.dir }))).toMatch(/written by a newer assay \(schema 99; this one reads up to 2\).*upgrade assay/);
      }
      expect((await pg.sql(name, 'SELECT count(*)::int AS n FROM assay.events')).rows[0].n).toBe(before);
    });

    it('a scheme assay does not know is refused, not created as a folder', async () => {
      const line = oneLine(await runCli(['runs', '--store', `mysql://root:${PG_TEST_PASSWORD}@localhost/db`], { cwd: workspace.dir }));
      expect(line).toMatch(/mysql:\/\/ stores are not supported/);
    });
  });

  it('a run stopped by a model that cannot be reached says how to run it again, naming the store without its password', async () => {
    const { name, url } = await database();
    workspace.arithmetic('questions.jsonl', 30);
    // Nothing listens on port 1: every call is refused, and the run stops after enough of them in a row.
    workspace.write('exp.yaml', httpConfig('http://127.0.0.1:1/v1', { concurrency: 2, maxAttempts: 1 }).replace('  store: store.db\n', ''));
    const result = await runCli(['run', 'exp.yaml', '--store', url, '--quiet'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout + result.stderr).not.toContain(PG_TEST_PASSWORD);
    const line = result.stderr.split('\n').find((text) => text.startsWith('model local at http://127.0.0.1:1/v1: '));
    expect(line, result.stderr).toMatch(/calls in a row failed/);
    expect(line).toMatch(new RegExp(`run the same command again: assay run exp\\.yaml --store postgres://${PG_TEST_USER}@127\\.0\\.0\\.1:${pg.port}/${name}$`));
  });

  it('assay worker with nothing to do names the store without its password, in its line and its --json', async () => {
    const { name, url } = await database();
    await (await openStore(url, { create: true })).close();
    for (const args of [['worker'], ['worker', '--json']]) {
      const result = await runCli([...args, '--store', url], { cwd: workspace.dir });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout + result.stderr).not.toContain(PG_TEST_PASSWORD);
      if (args.length === 1) expect(result.stdout.trim()).toBe(`nothing to do: no unfinished run in postgres://${PG_TEST_USER}@127.0.0.1:${pg.port}/${name}`);
    }
  });

  it('a worker whose connections the server ends (pg_terminate_backend) reconnects or stops with one line; nothing is lost and a rerun finishes', async () => {
    const { url } = await database();
    delayMs = 25;
    experiment(120);
    const submitted = await runCli(['submit', 'exp.yaml', '--store', url], { cwd: workspace.dir });
    expect(submitted.code, submitted.stderr).toBe(0);
    const runId = submitted.stdout.trim();
    const victim = startCli(['worker', runId, '--store', url, '--json'], { cwd: workspace.dir });
    const other = startCli(['worker', runId, '--store', url, '--json'], { cwd: workspace.dir });
    await waitFor(() => model.requests.length >= 20, 30_000, 'the workers to answer');
    const ended = await pg.sql('postgres', 'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1', [`assay/${victim.child.pid}`]);
    expect(ended.rows[0].n).toBeGreaterThan(0);
    const [first, second] = await Promise.all([victim.done, other.done]);
    expect(second.code, second.stderr).toBe(0);
    expect(first.stderr).not.toContain(PG_TEST_PASSWORD);
    if (first.code !== 0) {
      expect(first.code).toBe(1);
      expect(first.stderr.trim().split('\n').filter((line) => line.startsWith('assay: error')).length).toBe(1);
    }
    const rerun = await runCli(['worker', runId, '--store', url, '--json'], { cwd: workspace.dir });
    expect(rerun.code, rerun.stderr).toBe(0);
    const store = await openStore(url, { create: false });
    try {
      expect((await store.getRun(runId))!.status).toBe('completed');
      for (let ord = 0; ord < 120; ord++) {
        expect((await store.readTaskEvents(runId, ord)).filter((event) => event.type === 'generate-completed')).toHaveLength(1);
      }
    } finally {
      await store.close();
    }
  });

  it('the same run gives the same results on PostgreSQL as on SQLite, and runs, status, inspect, quickcheck, report and results read it', async () => {
    const { name, url } = await database();
    experiment(12);
    const onSqlite = await runCli(['run', 'exp.yaml', '--store', 'store.db', '--json'], { cwd: workspace.dir });
    const onPg = await runCli(['run', 'exp.yaml', '--store', url, '--json'], { cwd: workspace.dir });
    expect(onSqlite.code, onSqlite.stderr).toBe(0);
    expect(onPg.code, onPg.stderr).toBe(0);
    const runId = JSON.parse(onPg.stdout).runId as string;
    expect(JSON.parse(onSqlite.stdout).runId).toBe(runId);
    expect(JSON.parse(onPg.stdout).store).not.toContain(PG_TEST_PASSWORD);
    // The URL's password reached no record: not the run's provenance, not an event.
    const leaked = await pg.sql(
      name,
      `SELECT (SELECT count(*)::int FROM assay.runs WHERE provenance::text LIKE '%' || $1 || '%' OR snapshot::text LIKE '%' || $1 || '%')
            + (SELECT count(*)::int FROM assay.events WHERE payload::text LIKE '%' || $1 || '%') AS n`,
      [PG_TEST_PASSWORD],
    );
    expect(leaked.rows[0].n).toBe(0);
    // What is kept is the URL without its password, user included: pasteable where PGPASSWORD is set.
    const recorded = await pg.sql(name, "SELECT provenance->'runtime'->>'store' AS store FROM assay.runs");
    expect(recorded.rows[0].store).toBe(`postgres://${PG_TEST_USER}@127.0.0.1:${pg.port}/${name}`);
    expect(JSON.parse(onPg.stdout).store).toBe(`postgres://${PG_TEST_USER}@127.0.0.1:${pg.port}/${name}`);
    const read = async (store: string, ...args: string[]) => {
      const result = await runCli([...args, '--store', store], { cwd: workspace.dir });
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(result.stdout + result.stderr).not.toContain(PG_TEST_PASSWORD);
      return result.stdout;
    };
    const results = await read(url, 'results', runId, '--format', 'jsonl');
    expect(results.trim().split('\n')).toHaveLength(12);
    expect(jsonLines(results)).toEqual(jsonLines(await read('store.db', 'results', runId, '--format', 'jsonl')));
    for (const command of [['report'], ['quickcheck'], ['inspect', 'state']]) {
      const fromPg = comparable(JSON.parse(await read(url, ...command, runId, '--json')));
      expect(fromPg, command.join(' ')).toEqual(comparable(JSON.parse(await read('store.db', ...command, runId, '--json'))));
    }
    const runs = JSON.parse(await read(url, 'runs', '--json')) as { runId: string }[];
    expect(runs.map((run) => run.runId)).toEqual([runId]);
    const status = JSON.parse(await read(url, 'status', runId, '--json'));
    expect(status.runId ?? status.run?.runId).toBe(runId);
  });

  it('assay store copy: SQLite -> PostgreSQL -> SQLite gives the same results, is idempotent, and refuses to overwrite a different run', async () => {
    const { url } = await database();
    experiment(10);
    const ran = await runCli(['run', 'exp.yaml', '--store', 'a.db', '--json'], { cwd: workspace.dir });
    expect(ran.code, ran.stderr).toBe(0);
    const runId = JSON.parse(ran.stdout).runId as string;
    const copy = async (from: string, to: string, ...runs: string[]) => {
      const result = await runCli(['store', 'copy', from, to, ...runs, '--json'], { cwd: workspace.dir });
      expect(result.stdout + result.stderr).not.toContain(PG_TEST_PASSWORD);
      return result;
    };
    const toPg = await copy('a.db', url);
    expect(toPg.code, toPg.stderr).toBe(0);
    expect(JSON.parse(toPg.stdout).runs).toEqual([{ runId, outcome: 'copied' }]);
    const back = await copy(url, 'b.db', runId.slice(0, 10));
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout).runs).toEqual([{ runId, outcome: 'copied' }]);
    const results = async (store: string) => {
      const result = await runCli(['results', runId, '--store', store, '--format', 'jsonl'], { cwd: workspace.dir });
      expect(result.code, result.stderr).toBe(0);
      return result.stdout;
    };
    const original = await results('a.db');
    expect(original.trim().split('\n')).toHaveLength(10);
    expect(await results(url)).toBe(original);
    expect(await results('b.db')).toBe(original);
    const report = async (store: string) => JSON.parse((await runCli(['report', runId, '--store', store, '--json'], { cwd: workspace.dir })).stdout);
    expect(comparable(await report('b.db'))).toEqual(comparable(await report('a.db')));
    // Again: nothing to do.
    const again = await copy('a.db', url);
    expect(JSON.parse(again.stdout).runs).toEqual([{ runId, outcome: 'unchanged' }]);
    // A store holding the run with other results is not overwritten.
    const rewound = await runCli(['run', 'exp.yaml', '--store', 'c.db', '--until-stage', 'generate', '--quiet'], { cwd: workspace.dir });
    expect(rewound.code, rewound.stderr).toBe(0);
    const refused = await copy('a.db', 'c.db');
    expect(oneLine(refused)).toMatch(/already holds run .* with other results .*not overwritten/);
  });

  it('export from PostgreSQL and import into a new PostgreSQL database (its schema created by the import), and compare across stores', async () => {
    const { url } = await database();
    const { name: target, url: targetUrl } = await database();
    experiment(6);
    const ran = await runCli(['run', 'exp.yaml', '--store', url, '--json'], { cwd: workspace.dir });
    expect(ran.code, ran.stderr).toBe(0);
    const runId = JSON.parse(ran.stdout).runId as string;
    const exported = await runCli(['export', 'generation', runId, '--store', url, '-o', 'gen.jsonl'], { cwd: workspace.dir });
    expect(exported.code, exported.stderr).toBe(0);
    // A bundle that does not fit is refused before the schema is created.
    workspace.write('bad.jsonl', 'not a bundle\n');
    expect((await runCli(['import', 'bad.jsonl', '--store', targetUrl], { cwd: workspace.dir })).code).toBe(1);
    expect(await hasAssaySchema(target)).toBe(false);
    const imported = await runCli(['import', 'gen.jsonl', '--store', targetUrl, '--json'], { cwd: workspace.dir });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).not.toContain(PG_TEST_PASSWORD);
    expect(JSON.parse(imported.stdout)).toMatchObject({ runId, createdRun: true, imported: 6 });
    const state = await runCli(['inspect', 'state', runId, '--store', targetUrl, '--json'], { cwd: workspace.dir });
    expect(state.code, state.stderr).toBe(0);
  });
});
