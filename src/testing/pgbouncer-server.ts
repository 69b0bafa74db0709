import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './postgres-server.js';

/** The PgBouncer binary (Debian: /usr/sbin/pgbouncer, or one on PATH), or null when none is installed. */
export function pgbouncerBinary(): string | null {
  const folders = ['/usr/sbin', '/usr/bin', '/usr/local/bin', ...(process.env.PATH ?? '').split(delimiter)];
  return folders.map((folder) => join(folder, 'pgbouncer')).find((file) => existsSync(file)) ?? null;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface PgBouncerOptions {
  /** The PostgreSQL server behind it (every database name is passed through to it). */
  readonly serverPort: number;
  readonly poolMode: 'session' | 'transaction' | 'statement';
  /** Logins it accepts, by user name, with their passwords (the same as on the server). */
  readonly users: Readonly<Record<string, string>>;
  /** Server connections per (user, database). */
  readonly poolSize?: number;
  /** How long a client may wait for a server connection before PgBouncer gives up on it (its default: 120 s). */
  readonly queryWaitSeconds?: number;
  /** Aliases in session mode whatever `poolMode` says (PgBouncer's per-database pool_mode): alias to database. */
  readonly sessionAliases?: Readonly<Record<string, string>>;
}

/**
 * A throwaway PgBouncer for tests, in front of a PostgresServer: its ini and user list in a temp folder,
 * listening on a free loopback port, run as the `postgres` user when run as root (it refuses root), with
 * PgBouncer's defaults otherwise (no `ignore_startup_parameters`). Stopped, and its folder removed, by `stop`.
 */
export class PgBouncer {
  private constructor(
    readonly port: number,
    private readonly folder: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(options: PgBouncerOptions): Promise<PgBouncer> {
    const binary = pgbouncerBinary();
    if (!binary) throw new Error('no pgbouncer binary (apt-get install pgbouncer)');
    const asUser = userInfo().uid === 0 ? 'postgres' : null;
    const folder = mkdtempSync(join(tmpdir(), 'assay-pgbouncer-'));
    const port = await freePort();
    const users = Object.entries(options.users).map(([user, password]) => `"${user}" "${password}"\n`);
    writeFileSync(join(folder, 'userlist.txt'), users.join(''), { mode: 0o600 });
    writeFileSync(
      join(folder, 'pgbouncer.ini'),
      [
        '[databases]',
        ...Object.entries(options.sessionAliases ?? {}).map(([alias, database]) => `${alias} = host=127.0.0.1 port=${options.serverPort} dbname=${database} pool_mode=session`),
        `* = host=127.0.0.1 port=${options.serverPort}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = scram-sha-256',
        `auth_file = ${join(folder, 'userlist.txt')}`,
        `pool_mode = ${options.poolMode}`,
        `default_pool_size = ${options.poolSize ?? 4}`,
        ...(options.queryWaitSeconds === undefined ? [] : [`query_wait_timeout = ${options.queryWaitSeconds}`]),
        `logfile = ${join(folder, 'pgbouncer.log')}`,
        '',
      ].join('\n'),
    );
    if (asUser) execFileSync('chown', ['-R', asUser, folder]);
    const [file, argv] = asUser ? ['runuser', ['-u', asUser, '--', binary, join(folder, 'pgbouncer.ini')]] : [binary, [join(folder, 'pgbouncer.ini')]];
    // Its own process group, so that stop ends PgBouncer and not only runuser.
    const child = spawn(file, argv, { stdio: 'ignore', detached: true });
    const bouncer = new PgBouncer(port, folder, child);
    process.once('exit', () => bouncer.stop());
    for (let attempt = 0; !(await accepts(port)); attempt++) {
      if (attempt >= 100 || child.exitCode !== null) {
        bouncer.stop();
        throw new Error(`pgbouncer did not start on port ${port}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return bouncer;
  }

  url(user: string, password: string, database: string): string {
    return `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${this.port}/${database}`;
  }

  private stopped = false;

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    try {
      if (this.child.pid !== undefined) process.kill(-this.child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
    rmSync(this.folder, { recursive: true, force: true });
  }
}
