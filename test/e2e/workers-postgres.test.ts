import { afterAll, describe, it } from 'vitest';
import { PostgresServer, postgresBinaries } from '../../src/testing/postgres-server.js';

/**
 * The scenarios of workers.test.ts (real `assay run` and `assay worker` processes on one run, a model server
 * that counts requests, kill -9, SIGSTOP past the lease, fleet limits) on a real PostgreSQL 15 started here:
 * the same file, with its store set to a database of this server.
 */
if (postgresBinaries()) {
  const server = await PostgresServer.start();
  afterAll(() => server.stop());
  process.env.ASSAY_TEST_WORKER_STORE = await server.createDatabase('workers');
  await import('./workers.test.js');
} else {
  describe.skip('workers on PostgreSQL: skipped, no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (install the postgresql package)', () => {
    it('runs the worker scenarios on PostgreSQL', () => undefined);
  });
}
