import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PgBouncer, pgbouncerBinary } from '../../src/testing/pgbouncer-server.js';
import { PostgresServer, postgresBinaries } from '../../src/testing/postgres-server.js';
import { runCli, startCli } from '../support/cli.js';
import { FakeOpenAIServer, solve } from '../support/openai-server.js';
import { httpConfig, Workspace } from '../support/workspace.js';

/**
 * assay through a real PgBouncer, as a fleet behind one would use it: in session mode run, submit, two
 * workers on one run, runs and store copy work, and the run is the one a direct connection reads; in
 * transaction mode every command is refused with one line before anything is written or asked of a model.
 */
const binaries = postgresBinaries();
const bouncerBinary = pgbouncerBinary();
const missing = !binaries ? 'no PostgreSQL binaries' : !bouncerBinary ? 'no pgbouncer binary (apt-get install pgbouncer)' : null;
const suite = missing ? describe.skip : describe;

// A login not named after assay's schema, so the default search_path ("$user", public) cannot find its tables.
const USER = 'fleet';
const PASSWORD = 'fleet-e2e-secret-41ab';

let pg: PostgresServer;
let session: PgBouncer;
let transaction: PgBouncer;
let workspace: Workspace;
let model: FakeOpenAIServer;
let databases = 0;

async function database(): Promise<string> {
  const name = `bouncer_e2e_${++databases}`;
  await pg.createDatabase(name);
  await pg.sql('postgres', `ALTER DATABASE ${name} OWNER TO ${USER}`);
  return name;
}

suite(`assay through PgBouncer (${missing ?? bouncerBinary})`, () => {
  beforeAll(async () => {
    pg = await PostgresServer.start();
    await pg.sql('postgres', `CREATE ROLE ${USER} LOGIN PASSWORD '${PASSWORD}'`);
    const users = { [USER]: PASSWORD };
    session = await PgBouncer.start({ serverPort: pg.port, poolMode: 'session', users, poolSize: 20 });
    // One database of it in session mode, the way a PgBouncer kept in transaction mode for others can serve assay.
    transaction = await PgBouncer.start({ serverPort: pg.port, poolMode: 'transaction', users, sessionAliases: { assay_session: 'bouncer_e2e_shared' } });
  }, 120_000);
  afterAll(() => {
    transaction?.stop();
    session?.stop();
    pg?.stop();
  });

  beforeEach(async () => {
    workspace = new Workspace();
    model = await new FakeOpenAIServer((request) => ({ kind: 'answer', text: solve(request.prompt), delayMs: 20 })).start();
  });
  afterEach(async () => {
    await model.stop();
    workspace.remove();
  });

  function experiment(tasks: number): void {
    workspace.arithmetic('questions.jsonl', tasks);
    workspace.write('exp.yaml', httpConfig(model.baseURL, { concurrency: 4 }).replace('  store: store.db\n', ''));
  }

  it('session mode: run, submit, two workers that finish one run (each task answered once), runs and store copy work, in the store a direct connection reads', async () => {
    const name = await database();
    const url = session.url(USER, PASSWORD, name);
    experiment(8);
    const ran = await runCli(['run', 'exp.yaml', '--store', url, '--json'], { cwd: workspace.dir });
    expect(ran.code, ran.stderr).toBe(0);
    const first = JSON.parse(ran.stdout).runId as string;
    experiment(60);
    const submitted = await runCli(['submit', 'exp.yaml', '--store', url], { cwd: workspace.dir });
    expect(submitted.code, submitted.stderr).toBe(0);
    const runId = submitted.stdout.trim();
    const workers = [startCli(['worker', runId, '--store', url, '--json'], { cwd: workspace.dir }), startCli(['worker', runId, '--store', url, '--json'], { cwd: workspace.dir })];
    for (const done of await Promise.all(workers.map((worker) => worker.done))) expect(done.code, done.stderr).toBe(0);
    // Each task answered once, whichever worker took it.
    expect(model.requests).toHaveLength(8 + 60);
    const direct = `postgres://${USER}:${PASSWORD}@127.0.0.1:${pg.port}/${name}`;
    for (const store of [url, direct]) {
      const runs = await runCli(['runs', '--store', store, '--json'], { cwd: workspace.dir });
      expect(runs.code, runs.stderr).toBe(0);
      const listed = JSON.parse(runs.stdout) as Array<{ runId: string; status: string }>;
      expect(listed.map((run) => [run.runId, run.status]).sort()).toEqual([[first, 'completed'], [runId, 'completed']].sort());
    }
    const tables = await pg.sql(name, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
    expect(tables.rows[0].n).toBe(0);
    const copied = await runCli(['store', 'copy', url, 'copy.db', '--json'], { cwd: workspace.dir });
    expect(copied.code, copied.stderr).toBe(0);
    expect(JSON.parse(copied.stdout).runs).toHaveLength(2);
    const back = await runCli(['store', 'copy', 'copy.db', session.url(USER, PASSWORD, await database()), runId, '--json'], { cwd: workspace.dir });
    expect(back.code, back.stderr).toBe(0);
    expect(JSON.parse(back.stdout).runs).toEqual([{ runId, outcome: 'copied' }]);
  });

  it('transaction mode: run, submit, worker, runs and store copy are refused with one line, nothing written, no model called', async () => {
    const name = await database();
    const url = transaction.url(USER, PASSWORD, name);
    experiment(5);
    for (const args of [['run', 'exp.yaml'], ['submit', 'exp.yaml'], ['worker'], ['runs']]) {
      const result = await runCli([...args, '--store', url], { cwd: workspace.dir });
      expect(result.code, args.join(' ')).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toBe(
        `assay: error: postgres://${USER}@127.0.0.1:${transaction.port}/${name}: its connections do not each keep one PostgreSQL session (a pooler in transaction mode in between, e.g. PgBouncer with pool_mode = transaction); connect to PostgreSQL directly, or through a PgBouncer database with pool_mode = session`,
      );
    }
    const local = await runCli(['run', 'exp.yaml', '--store', 'local.db', '--quiet'], { cwd: workspace.dir });
    expect(local.code, local.stderr).toBe(0);
    const requests = model.requests.length;
    const refused = await runCli(['store', 'copy', 'local.db', url], { cwd: workspace.dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/its connections do not each keep one PostgreSQL session/);
    expect(model.requests).toHaveLength(requests);
    expect((await pg.sql(name, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname IN ('assay', 'public')")).rows[0].n).toBe(0);
  });

  it('a PgBouncer kept in transaction mode serves assay through a database entry with pool_mode = session', async () => {
    await pg.createDatabase('bouncer_e2e_shared');
    await pg.sql('postgres', `ALTER DATABASE bouncer_e2e_shared OWNER TO ${USER}`);
    experiment(5);
    const url = transaction.url(USER, PASSWORD, 'assay_session');
    const ran = await runCli(['run', 'exp.yaml', '--store', url, '--json'], { cwd: workspace.dir });
    expect(ran.code, ran.stderr).toBe(0);
    const runs = await runCli(['runs', '--store', `postgres://${USER}:${PASSWORD}@127.0.0.1:${pg.port}/bouncer_e2e_shared`, '--json'], { cwd: workspace.dir });
    expect(JSON.parse(runs.stdout)).toMatchObject([{ runId: JSON.parse(ran.stdout).runId, status: 'completed' }]);
  });
});
