import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { StoreError } from '../../core/errors.js';
import { isConnectionError, isRetryableConflict, sessionNotKept } from './pg-failure.js';
import { PG_MIGRATIONS, PG_NAMESPACE, PG_SCHEMA_VERSION } from './schema.js';
import { redactStoreUrl } from './pg-url.js';

/** bigint, numeric and their sums come back as numbers: every count and sequence number here fits in 2^53. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  },
};

/** How many connections one process keeps (env ASSAY_PG_POOL_SIZE, default 4). */
export function poolSize(): number {
  const value = Number(process.env.ASSAY_PG_POOL_SIZE);
  return Number.isInteger(value) && value > 0 ? value : 4;
}

/** How long the server lets a session sit idle inside a transaction before ending it. */
export const IDLE_IN_TRANSACTION_MS = 2_000;

/**
 * What each pooled connection knows of its session: the random mark it left in it when it connected, and the
 * store it belongs to (for the message when the mark is gone).
 */
const sessions = new WeakMap<pg.ClientBase, { mark: string; location: string }>();

export function createPool(url: string, options: { readonly?: boolean } = {}): pg.Pool {
  const location = redactStoreUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize(),
    types,
    // The session is set up by statements on each new connection, not by startup options: a pooler in front
    // (PgBouncer) refuses the `options` startup parameter, or drops it when told to ignore it, which would
    // leave the tables to be created in and read from another schema.
    onConnect: (client) => setUpSession(client, location, options.readonly ?? false),
    connectionTimeoutMillis: 15_000,
    idleTimeoutMillis: 30_000,
    // Which process a connection belongs to, for pg_stat_activity (and for ending one process's sessions).
    application_name: `assay/${process.pid}`,
  });
  // A pooled connection the server drops while idle (a restart, pg_terminate_backend) is discarded by the
  // pool and replaced on the next query; without a listener its error would end the process.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Sets up a new connection's session, in one statement. Every table is in the assay schema; unqualified names
 * resolve there. A session left idle inside a transaction (its process stopped with SIGSTOP, or hung) is ended
 * by the server after a moment, so its row locks never hold the rest of the fleet back; our own transactions
 * never sit idle that long (and one ended so is rolled back and run again, see inTransaction). A reader
 * (assay view) gets sessions the server itself keeps from writing. A random mark, checked at each BEGIN, tells
 * whether the connection is still this session (see begin).
 */
async function setUpSession(client: pg.ClientBase, location: string, readonly: boolean): Promise<void> {
  const mark = randomUUID();
  const settings: Array<[string, string]> = [
    ['search_path', PG_NAMESPACE],
    ['idle_in_transaction_session_timeout', String(IDLE_IN_TRANSACTION_MS)],
    ...(readonly ? ([['default_transaction_read_only', 'on']] as Array<[string, string]>) : []),
    [SESSION_MARK, mark],
  ];
  const calls = settings.map((_, index) => `set_config($${2 * index + 1}, $${2 * index + 2}, false)`);
  await client.query(`SELECT ${calls.join(', ')}`, settings.flat());
  sessions.set(client, { mark, location });
}

/** A setting of assay's own (a placeholder variable) holding each connection's mark in its session. */
const SESSION_MARK = 'assay.session_mark';

/**
 * BEGIN, and in the same round trip a check that the connection is still the session it set up: behind a
 * pooler that hands each transaction to any server connection (PgBouncer's transaction or statement mode),
 * another client's settings (or none) would be in force, and unqualified names could resolve to other
 * tables. Such a connection is refused rather than used.
 */
async function begin(client: pg.PoolClient): Promise<void> {
  const results = (await client.query(`BEGIN; SELECT current_setting('${SESSION_MARK}', true) AS mark`)) as unknown as Array<pg.QueryResult<{ mark: string | null }>>;
  const session = sessions.get(client);
  if (session && results[1]?.rows[0]?.mark === session.mark) return;
  throw sessionNotKept(session?.location ?? 'postgres', 'a pooler in transaction mode in between, e.g. PgBouncer with pool_mode = transaction');
}

/** The database holds no assay store (and the caller did not ask to create one). */
export class NoStoreError extends StoreError {}

const ignore = () => undefined;

/** A key of the advisory lock that serializes schema migrations across every process opening the database. */
const MIGRATION_LOCK = 0x61737361; // "assa"

/**
 * Runs `work` in one transaction on a pooled connection. A transaction that lost a race (deadlock) or whose
 * connection broke before COMMIT was sent (so the server rolled it back) runs again on another connection; a
 * connection lost during COMMIT is not retried (it may have committed) and surfaces to the caller.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let client: pg.PoolClient | undefined;
    let committing = false;
    try {
      client = await pool.connect();
      // A connection the server ends between two statements of ours would emit 'error' with nobody
      // listening (and end the process): the next statement fails instead, and is handled below.
      client.on('error', ignore);
      await begin(client);
      const result = await work(client);
      committing = true;
      await client.query('COMMIT');
      client.off('error', ignore);
      client.release();
      return result;
    } catch (error) {
      if (client) {
        const broken = isConnectionError(error);
        // Still listening while the ROLLBACK runs: the server may end the session just then (it ended an
        // idle transaction of a stopped process), and an 'error' nobody listens to ends the process.
        if (!broken) await client.query('ROLLBACK').catch(() => undefined);
        client.off('error', ignore);
        client.release(broken ? (error as Error) : undefined);
      }
      const again = attempt < attempts && !committing && (isRetryableConflict(error) || isConnectionError(error));
      if (!again) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt * attempt));
    }
  }
}

/** A single statement outside a transaction, retried on a broken connection (reads, and idempotent writes). */
export async function queryRetrying<Row extends pg.QueryResultRow = pg.QueryResultRow>(pool: pg.Pool, text: string, values?: unknown[], attempts = 4): Promise<pg.QueryResult<Row>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await pool.query<Row>(text, values);
    } catch (error) {
      if (attempt >= attempts || !(isConnectionError(error) || isRetryableConflict(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt * attempt));
    }
  }
}

/**
 * Brings the database to this schema, or refuses it: the version table read (and every step applied) under
 * an advisory lock, so two processes opening a new database at once create it once. Without `create`, a
 * database without assay's tables is refused and nothing is written.
 */
export async function migrate(pool: pg.Pool, location: string, create: boolean, readonly = false): Promise<void> {
  const client = await pool.connect();
  client.on('error', ignore);
  try {
    await refuseSharedSessions(pool, client);
    const version = await readVersion(client);
    if (version === PG_SCHEMA_VERSION) return;
    if (version !== null && version > PG_SCHEMA_VERSION) throw newerSchema(location, version);
    if (version === null && !create) {
      throw new NoStoreError(location, 'this database holds no assay store (no assay schema)', {
        hint: 'create one with `assay run CONFIG --store URL` (or `assay submit`), or check the database name in the URL',
      });
    }
    if (version !== null && readonly) {
      // A read-only session cannot run the upgrade: said plainly rather than as the server's refusal.
      throw new StoreError(location, `this store has schema ${version} and is opened read-only here, so it cannot be upgraded to ${PG_SCHEMA_VERSION}`, {
        hint: `upgrade it once with a command that writes, e.g. \`assay runs --store ${location}\``,
      });
    }
    try {
      await begin(client);
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      const locked = await readVersion(client);
      if (locked !== null && locked > PG_SCHEMA_VERSION) throw newerSchema(location, locked);
      if (locked === null) {
        const other = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [PG_NAMESPACE]);
        if (other.rowCount) {
          throw new StoreError(location, `this database has a schema '${PG_NAMESPACE}' that is not an assay store`, { hint: 'pass the URL of another database' });
        }
        await client.query(`CREATE SCHEMA ${PG_NAMESPACE}`);
        await client.query(`CREATE TABLE ${PG_NAMESPACE}.schema_version (version integer NOT NULL)`);
        await client.query(`INSERT INTO ${PG_NAMESPACE}.schema_version (version) VALUES (0)`);
      }
      for (let step = (locked ?? 0) + 1; step <= PG_SCHEMA_VERSION; step++) {
        await client.query(PG_MIGRATIONS[step]!);
      }
      await client.query(`UPDATE ${PG_NAMESPACE}.schema_version SET version = $1`, [PG_SCHEMA_VERSION]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    client.off('error', ignore);
    client.release();
  }
}

/** How long opening a store waits for its second connection before leaving the check to each BEGIN. */
const PROBE_WAIT_MS = 2_000;

/**
 * Finds a pooler in transaction mode when the store is opened rather than in the middle of a run: a second
 * connection set up while `client` is idle lands, behind such a pooler, on the server session `client` just
 * left (PgBouncer reuses the most recent one), so `client`'s next BEGIN finds another mark and is refused.
 * Directly, or in session mode, each connection is its own session and this costs one connection more. A
 * pooler in session mode with no server connection free would hold the second one back until `client` lets
 * go of its own: after a moment the check is left to each BEGIN.
 */
async function refuseSharedSessions(pool: pg.Pool, client: pg.PoolClient): Promise<void> {
  if ((pool.options.max ?? 10) < 2) return;
  const connecting = pool.connect();
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, PROBE_WAIT_MS, undefined)));
  const second = await Promise.race([connecting, waited]).finally(() => clearTimeout(timer));
  if (!second) {
    connecting.then((late) => late.release(), () => undefined);
    return;
  }
  second.release();
  await begin(client).finally(() => client.query('ROLLBACK').catch(() => undefined));
}

async function readVersion(client: pg.PoolClient): Promise<number | null> {
  // A plain catalog query (a fresh snapshot per statement): it sees a schema another process created while
  // this one waited for the migration lock.
  const table = await client.query("SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = 'schema_version'", [PG_NAMESPACE]);
  if (table.rowCount === 0) return null;
  const row = await client.query<{ version: number }>(`SELECT max(version) AS version FROM ${PG_NAMESPACE}.schema_version`);
  return row.rows[0]?.version ?? 0;
}

function newerSchema(location: string, version: number): StoreError {
  return new StoreError(location, `this store was written by a newer assay (schema ${version}; this one reads up to ${PG_SCHEMA_VERSION})`, { hint: 'upgrade assay' });
}
