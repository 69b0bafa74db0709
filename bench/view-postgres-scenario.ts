// `assay view` on PostgreSQL: the SQLite store report-scenario.ts `build` made (`STORE_PATH`) copied into a
// local PostgreSQL server by `assay store copy`, then the task queries of view-scenario.ts through the
// viewer's JSON API on the copy (the pages in chromium are measured on SQLite only).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PostgresServer } from '../src/testing/postgres-server.js';

const [workDirectory, storePath] = process.argv.slice(2);
const root = join(import.meta.dirname, '..');
// As section 8: commits survive a killed process (synchronous_commit=off, fsync on).
const server = await PostgresServer.start({ fsync: true });
try {
  await server.sql('postgres', 'ALTER SYSTEM SET synchronous_commit = off');
  await server.sql('postgres', 'SELECT pg_reload_conf()');
  const url = await server.createDatabase('bench_view');
  const started = performance.now();
  execFileSync(process.execPath, [join(root, 'bin', 'assay.js'), 'store', 'copy', storePath!, url, '--json'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], env: process.env });
  const copySeconds = (performance.now() - started) / 1000;
  await server.sql('bench_view', 'VACUUM ANALYZE');
  const size = await server.sql('bench_view', "SELECT pg_database_size('bench_view')::float8 AS bytes");
  process.stderr.write(`   copied into PostgreSQL in ${copySeconds.toFixed(1)} s (${(size.rows[0].bytes / 1e6).toFixed(0)} MB)\n`);
  const output = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'bench', 'view-scenario.ts'), workDirectory!, url, 'api'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  process.stdout.write(JSON.stringify({ ...JSON.parse(output), copySeconds, databaseMB: size.rows[0].bytes / 1e6 }));
} finally {
  server.stop();
}
