import { afterAll, describe, it } from 'vitest';
import { PostgresServer, postgresBinaries } from '../../src/testing/postgres-server.js';

/**
 * The scenarios of fleet-kills.test.ts (the parent of a fleet killed, one worker killed, Ctrl+C as the
 * workers start, --no-reuse through the workers) on a real PostgreSQL 15 started here: the same file, its
 * store a database of this server.
 */
if (postgresBinaries()) {
  const server = await PostgresServer.start();
  afterAll(() => server.stop());
  process.env.ASSAY_TEST_WORKER_STORE = await server.createDatabase('fleet_kills');
  await import('./fleet-kills.test.js');
} else {
  describe.skip('fleet kills on PostgreSQL: skipped, no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (install the postgresql package)', () => {
    it('runs the fleet-kill scenarios on PostgreSQL', () => undefined);
  });
}
