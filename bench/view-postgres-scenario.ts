// `assay view` on PostgreSQL: the report section's experiment (ITEMS items x 2 mock models, the same dataset
// file) run into a local PostgreSQL server, then the task queries of view-scenario.ts through the viewer's
// JSON API on it (the pages in chromium are measured on SQLite only). The password goes by PGPASSWORD, so
// no URL with it is ever on a command line or in an error.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Experiment } from '../dist/index.js';
import { PostgresServer, PG_TEST_PASSWORD } from '../src/testing/postgres-server.js';

const [workDirectory, itemsText] = process.argv.slice(2);
const items = Number(itemsText);
const root = join(import.meta.dirname, '..');
// As section 8: commits survive a killed process (synchronous_commit=off, fsync on).
const server = await PostgresServer.start({ fsync: true });
try {
  await server.sql('postgres', 'ALTER SYSTEM SET synchronous_commit = off');
  await server.sql('postgres', 'SELECT pg_reload_conf()');
  const url = (await server.createDatabase('bench_view')).replace(`:${encodeURIComponent(PG_TEST_PASSWORD)}@`, '@');
  process.env.PGPASSWORD = PG_TEST_PASSWORD;
  const config = join(workDirectory!, 'view-postgres.yaml');
  const mocks = [0, 1].map((index) => `  - { id: mock-${index}, provider: mock, options: { accuracy: ${(0.5 + index * 0.1).toFixed(2)} } }`).join('\n');
  writeFileSync(
    config,
    `name: report-bench
datasets: [{ id: d, path: ${JSON.stringify(join(workDirectory!, `report-items-${items}.jsonl`))}, input: question, target: answer, idField: id }]
models:
${mocks}
parse: { kind: last-number }
metrics: [{ kind: numeric-match, name: accuracy }]
runtime: { concurrency: 256, store: ${JSON.stringify(url)} }
`,
  );
  const started = performance.now();
  const summary = await Experiment.fromConfig(config).run();
  if (summary.status !== 'completed') throw new Error(`run ended ${summary.status}`);
  const buildSeconds = (performance.now() - started) / 1000;
  await server.sql('bench_view', 'VACUUM ANALYZE');
  const size = await server.sql('bench_view', "SELECT pg_database_size('bench_view')::float8 AS bytes");
  process.stderr.write(`   built ${summary.tasks} tasks in PostgreSQL in ${buildSeconds.toFixed(1)} s (${(size.rows[0].bytes / 1e6).toFixed(0)} MB)\n`);
  const output = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'bench', 'view-scenario.ts'), workDirectory!, url, 'api'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  process.stdout.write(JSON.stringify({ ...JSON.parse(output), buildSeconds, databaseMB: size.rows[0].bytes / 1e6 }));
} finally {
  server.stop();
}
