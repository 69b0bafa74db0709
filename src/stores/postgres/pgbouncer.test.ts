import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../spec/event.js';
import { PgBouncer, pgbouncerBinary } from '../../testing/pgbouncer-server.js';
import { PostgresServer, postgresBinaries } from '../../testing/postgres-server.js';
import { openStore } from '../open-store.js';
import { createPool, IDLE_IN_TRANSACTION_MS } from './pg-pool.js';
import { candidate, describeStoreContract, downstream, newRun } from '../store-contract.test-suite.js';

const binaries = postgresBinaries();
const bouncerBinary = pgbouncerBinary();
const missing = !binaries ? 'no PostgreSQL binaries in /usr/lib/postgresql/*/bin' : !bouncerBinary ? 'no pgbouncer binary (apt-get install pgbouncer)' : null;
const suite = missing ? describe.skip : describe;

// A login not named after assay's schema: the server's default search_path ("$user", public) finds no assay
// table through it, so a session whose search_path was not set up would show.
const USER = 'fleet';
const PASSWORD = 'fleet-test-secret-7c1d';

let server: PostgresServer | undefined;
let session: PgBouncer | undefined;
let transaction: PgBouncer | undefined;
let narrow: PgBouncer | undefined;
let crowded: PgBouncer | undefined;
let statement: PgBouncer | undefined;
let databases = 0;

/** A new database owned by USER; its name. */
async function database(): Promise<string> {
  const name = `bouncer_${++databases}`;
  await server!.createDatabase(name);
  await server!.sql('postgres', `ALTER DATABASE ${name} OWNER TO ${USER}`);
  return name;
}

function direct(name: string): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${server!.port}/${name}`;
}

suite(`postgres store through PgBouncer (${missing ?? bouncerBinary})`, () => {
  beforeAll(async () => {
    server = await PostgresServer.start();
    await server.sql('postgres', `CREATE ROLE ${USER} LOGIN PASSWORD '${PASSWORD}'`);
    const users = { [USER]: PASSWORD };
    session = await PgBouncer.start({ serverPort: server.port, poolMode: 'session', users });
    // One server connection: every client's session set-up lands on the same server session.
    transaction = await PgBouncer.start({ serverPort: server.port, poolMode: 'transaction', users, poolSize: 1 });
    narrow = await PgBouncer.start({ serverPort: server.port, poolMode: 'session', users, poolSize: 1 });
    statement = await PgBouncer.start({ serverPort: server.port, poolMode: 'statement', users });
    crowded = await PgBouncer.start({ serverPort: server.port, poolMode: 'session', users, poolSize: 1, queryWaitSeconds: 1 });
  }, 120_000);
  afterAll(() => {
    crowded?.stop();
    statement?.stop();
    narrow?.stop();
    transaction?.stop();
    session?.stop();
    server?.stop();
  });

  describeStoreContract('postgres through PgBouncer (pool_mode = session)', {
    async create() {
      return openStore(session!.url(USER, PASSWORD, await database()), { create: true });
    },
  });

  it('a connection gets the same session settings directly and through PgBouncer in session mode', async () => {
    const name = await database();
    const settings = async (url: string, readonly: boolean) => {
      const pool = createPool(url, { readonly });
      try {
        const { rows } = await pool.query("SELECT current_setting('search_path') AS path, current_setting('idle_in_transaction_session_timeout') AS idle, current_setting('default_transaction_read_only') AS ro");
        return rows[0];
      } finally {
        await pool.end();
      }
    };
    for (const url of [direct(name), session!.url(USER, PASSWORD, name)]) {
      expect(await settings(url, false)).toEqual({ path: 'assay', idle: `${IDLE_IN_TRANSACTION_MS / 1000}s`, ro: 'off' });
      expect(await settings(url, true)).toEqual({ path: 'assay', idle: `${IDLE_IN_TRANSACTION_MS / 1000}s`, ro: 'on' });
    }
  });

  it('in session mode, a run worked through PgBouncer is in the assay schema: the same run a direct connection reads', async () => {
    const name = await database();
    const through = await openStore(session!.url(USER, PASSWORD, name), { create: true });
    const run = newRun({ items: 3 });
    try {
      await through.createRun(run);
      await through.registerOwner({ owner: 'worker', runId: run.runId, host: 'test', pid: 1 }, 60_000);
      const claimed = await through.claimTasks({ runId: run.runId, owner: 'worker', untilStage: 'score', limit: 10 });
      expect(claimed).toHaveLength(6);
      const events = claimed.flatMap((task): TaskEvent[] => [candidate(task.ord), ...downstream(task.ord, task.ord % 2)]);
      const leases = new Map(claimed.map((task) => [task.ord, task.token]));
      const written = await through.appendEvents({ runId: run.runId, owner: 'worker', leases, events, release: claimed.map((task) => task.ord) });
      expect(written.rejectedOrds).toEqual([]);
      await through.setRunStatus(run.runId, 'completed', 'score');
    } finally {
      await through.close();
    }
    const tables = await server!.sql(name, "SELECT schemaname, count(*)::int AS n FROM pg_tables WHERE schemaname IN ('assay', 'public') GROUP BY 1 ORDER BY 1");
    expect(tables.rows.map((row) => row.schemaname)).toEqual(['assay']);
    const reader = await openStore(direct(name), { create: false, readonly: true });
    try {
      expect(await reader.getRun(run.runId)).toMatchObject({ status: 'completed', completedThroughStage: 'score', taskCount: 6 });
      const totals = await reader.getScoreTotals(run.runId);
      expect(totals.reduce((sum, row) => sum + row.count, 0)).toBe(6);
    } finally {
      await reader.close();
    }
  });

  it('in session mode, a reader opened through PgBouncer is kept from writing by the server', async () => {
    const name = await database();
    await (await openStore(direct(name), { create: true })).close();
    const reader = await openStore(session!.url(USER, PASSWORD, name), { create: false, readonly: true });
    try {
      await expect(reader.createRun(newRun({ items: 1 }))).rejects.toThrow(/read-only/);
    } finally {
      await reader.close();
    }
  });

  it('in session mode with a single server connection, the store still opens and works (its check at open gives up waiting)', async () => {
    const name = await database();
    const store = await openStore(narrow!.url(USER, PASSWORD, name), { create: true });
    try {
      const run = newRun({ items: 2 });
      expect(await store.createRun(run)).toBe(true);
      expect(await store.getRun(run.runId)).toMatchObject({ status: 'created', taskCount: 4 });
    } finally {
      await store.close();
    }
  }, 30_000);

  it('in session mode with every server connection taken, opening the store says to size the pool', async () => {
    const name = await database();
    const holder = new pg.Client({ connectionString: crowded!.url(USER, PASSWORD, name) });
    await holder.connect();
    try {
      await expect(openStore(crowded!.url(USER, PASSWORD, name), { create: true })).rejects.toMatchObject({
        message: expect.stringMatching(/bouncer_\d+: PgBouncer found no free server connection for assay in time \(query_wait_timeout\)/),
        hint: expect.stringMatching(/raise the database's default_pool_size .* or lower ASSAY_PG_POOL_SIZE/),
      });
    } finally {
      await holder.end();
    }
  }, 30_000);

  it('in transaction mode, opening the store is refused with what to do, and nothing is written', async () => {
    const name = await database();
    await expect(openStore(transaction!.url(USER, PASSWORD, name), { create: true })).rejects.toMatchObject({
      message: expect.stringMatching(/bouncer_\d+: its connections do not each keep one PostgreSQL session .*PgBouncer with pool_mode = transaction/),
      hint: expect.stringMatching(/through a PgBouncer database with pool_mode = session/),
    });
    const schemas = await server!.sql(name, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname IN ('assay', 'public')");
    expect(schemas.rows[0].n).toBe(0);
  });

  it('in statement mode, opening the store is refused with what to do, and nothing is written', async () => {
    const name = await database();
    await expect(openStore(statement!.url(USER, PASSWORD, name), { create: true })).rejects.toMatchObject({
      message: expect.stringMatching(/bouncer_\d+: its connections do not each keep one PostgreSQL session \(a pooler in statement mode in between: transaction blocks not allowed in statement pooling mode\)/),
      hint: expect.stringMatching(/through a PgBouncer database with pool_mode = session/),
    });
    expect((await server!.sql(name, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname IN ('assay', 'public')")).rows[0].n).toBe(0);
  });

  it('in transaction mode, a store opened by another process sharing the server session is refused at its next transaction', async () => {
    const name = await database();
    await (await openStore(direct(name), { create: true })).close();
    // Each opened with a pool of one connection (no check at open), as two workers in one transaction pool.
    const previous = process.env.ASSAY_PG_POOL_SIZE;
    process.env.ASSAY_PG_POOL_SIZE = '1';
    const first = await openStore(transaction!.url(USER, PASSWORD, name), { create: false });
    const second = await openStore(transaction!.url(USER, PASSWORD, name), { create: false });
    if (previous === undefined) delete process.env.ASSAY_PG_POOL_SIZE;
    else process.env.ASSAY_PG_POOL_SIZE = previous;
    try {
      await expect(first.createRun(newRun({ items: 1 }))).rejects.toThrow(/do not each keep one PostgreSQL session/);
      expect((await server!.sql(name, 'SELECT count(*)::int AS n FROM assay.runs')).rows[0].n).toBe(0);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
