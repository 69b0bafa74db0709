import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStoreContract } from '../store-contract.test-suite.js';
import { openStore } from '../open-store.js';
import { PostgresServer, postgresBinaries } from '../../testing/postgres-server.js';

const binaries = postgresBinaries();
let server: PostgresServer | undefined;
let databases = 0;

const suite = binaries ? describe : describe.skip;

suite(`postgres store (a PostgreSQL server from ${binaries ?? 'nowhere: no binaries in /usr/lib/postgresql/*/bin'})`, () => {
  beforeAll(async () => {
    server = await PostgresServer.start();
  }, 120_000);
  afterAll(() => server?.stop());

  describeStoreContract('postgres', {
    async create() {
      const url = await server!.createDatabase(`contract_${++databases}`);
      return openStore(url, { create: true });
    },
  });

  it('redacts the password in its location', async () => {
    const url = await server!.createDatabase('redaction');
    const store = await openStore(url, { create: true });
    try {
      expect(store.kind).toBe('postgres');
      expect(store.location).not.toContain('pg-test-secret');
      expect(store.location).toContain('127.0.0.1');
    } finally {
      await store.close();
    }
  });
});
