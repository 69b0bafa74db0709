import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** The folder of PostgreSQL's server binaries (Debian: /usr/lib/postgresql/<major>/bin), or null when none is installed. */
export function postgresBinaries(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const majors = readdirSync(root).filter((name) => existsSync(join(root, name, 'bin', 'initdb'))).sort((left, right) => Number(right) - Number(left));
  return majors[0] ? join(root, majors[0], 'bin') : null;
}

/** A TCP port on the loopback interface that nothing listens on now (for a test server). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export const PG_TEST_USER = 'assay';
export const PG_TEST_PASSWORD = 'pg-test-secret-0f3a';

/**
 * A throwaway PostgreSQL server for tests: a new cluster (initdb, as the `postgres` user when run as root,
 * since initdb refuses root) in a temp folder, listening on a free loopback port with password logins, a
 * database per caller, and stopped (and its folder removed) by `stop`.
 */
export class PostgresServer {
  private constructor(
    readonly bin: string,
    readonly folder: string,
    readonly port: number,
    private readonly asUser: string | null,
  ) {}

  static async start(options: { fsync?: boolean } = {}): Promise<PostgresServer> {
    const bin = postgresBinaries();
    if (!bin) throw new Error('no PostgreSQL server binaries in /usr/lib/postgresql/*/bin');
    const asUser = userInfo().uid === 0 ? 'postgres' : null;
    const folder = mkdtempSync(join(tmpdir(), 'assay-pg-'));
    if (asUser) {
      const uid = Number(execFileSync('id', ['-u', asUser]).toString().trim());
      const gid = Number(execFileSync('id', ['-g', asUser]).toString().trim());
      chownSync(folder, uid, gid);
    }
    const port = await freePort();
    const server = new PostgresServer(bin, folder, port, asUser);
    const passwordFile = join(folder, 'password');
    writeFileSync(passwordFile, PG_TEST_PASSWORD, { mode: 0o600 });
    if (asUser) server.run('chown', [asUser, passwordFile], true);
    server.run(join(bin, 'initdb'), ['-D', join(folder, 'data'), '-U', PG_TEST_USER, `--pwfile=${passwordFile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--no-sync']);
    const settings = [`-p ${port}`, '-h 127.0.0.1', `-k ${folder}`, '-c max_connections=200'];
    if (options.fsync === false || options.fsync === undefined) settings.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off');
    server.run(join(bin, 'pg_ctl'), ['-D', join(folder, 'data'), '-l', join(folder, 'log'), '-o', settings.join(' '), '-w', '-t', '60', 'start']);
    // A test process that ends without calling stop (a failed hook, a crash) leaves no server behind.
    process.once('exit', () => server.stop());
    return server;
  }

  private run(command: string, args: string[], plain = false): string {
    const [file, argv] = this.asUser && !plain ? ['runuser', ['-u', this.asUser, '--', command, ...args]] : [command, args];
    return execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  }

  /** The URL of a database on this server (with the password), creating the database first. */
  async createDatabase(name: string): Promise<string> {
    const client = new pg.Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  url(database: string, password = PG_TEST_PASSWORD): string {
    return `postgres://${PG_TEST_USER}:${encodeURIComponent(password)}@127.0.0.1:${this.port}/${database}`;
  }

  /** Runs one statement as the superuser on a database (for tests that reach behind the store). */
  async sql(database: string, text: string, values?: unknown[]): Promise<pg.QueryResult> {
    const client = new pg.Client({ connectionString: this.url(database) });
    await client.connect();
    try {
      return await client.query(text, values);
    } finally {
      await client.end();
    }
  }

  private stopped = false;

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    try {
      this.run(join(this.bin, 'pg_ctl'), ['-D', join(this.folder, 'data'), '-m', 'immediate', '-w', 'stop']);
    } catch {
      // Already stopped.
    }
    rmSync(this.folder, { recursive: true, force: true });
  }
}
