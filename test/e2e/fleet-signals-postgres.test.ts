import { afterAll, describe, it } from 'vitest';
import { PostgresServer, postgresBinaries } from '../../src/testing/postgres-server.js';

/**
 * The scenarios of fleet-signals.test.ts (a 429 one worker sees pauses every worker; the spending cap holds
 * for the fleet's total) on a real PostgreSQL 15 started here: the same file, its store a database of this server.
 */
if (postgresBinaries()) {
  const server = await PostgresServer.start();
  afterAll(() => server.stop());
  process.env.ASSAY_TEST_WORKER_STORE = await server.createDatabase('fleet_signals');
  await import('./fleet-signals.test.js');
} else {
  describe.skip('fleet signals on PostgreSQL: skipped, no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (install the postgresql package)', () => {
    it('runs the fleet-signal scenarios on PostgreSQL', () => undefined);
  });
}
