// Workload 7: what coordinating a fleet through the store costs, per store operation, on the SQLite store:
// a grant of calls (Store.reserveCalls), the once-a-second pause read, a heartbeat renewing a worker's
// leases, and listing the owners. Several processes can share one file; each operation is one transaction.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { hashValue } from '../src/core/canonical-json.js';
import { openStore } from '../src/stores/open-store.js';
import { testSnapshot } from '../src/testing/snapshot.js';

const [workDirectory] = process.argv.slice(2);
const path = join(workDirectory!, 'fleet.db');
for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
const store = await openStore(path, { create: true });
const snapshot = testSnapshot({ datasets: [{ id: 'ds', fingerprint: 'f'.repeat(64), itemCount: 4096, fields: { input: 'q', target: 'a', idField: 'id' }, targetParse: null }] });
const runId = hashValue(snapshot);
const provenance = { toolVersion: 'bench', nodeVersion: process.version, platform: 'bench', arch: 'bench', hostname: 'bench', gitCommit: null, configPath: null, experimentName: 'fleet', createdAt: new Date().toISOString(), runtime: {}, transport: {} };
const items = Array.from({ length: 4096 }, (_, ord) => ({ ord, datasetId: 'ds', itemId: `i${ord}`, input: 'q', target: 'a', fields: { id: `i${ord}`, q: 'q', a: 'a' } }));
await store.createRun({ runId, name: 'fleet', snapshot, provenance, items, taskCount: 4096 });

async function time(count: number, operation: (index: number) => Promise<unknown>): Promise<number> {
  for (let index = 0; index < Math.min(200, count); index++) await operation(index); // warm up
  const started = performance.now();
  for (let index = 0; index < count; index++) await operation(index);
  return ((performance.now() - started) * 1000) / count;
}

// Grants: a limit high enough that every request is granted; a block of 32 calls per grant.
const grantMicros = await time(20_000, () => store.reserveCalls({ runId, model: 'm', requests: 32, tokensPerRequest: 300, requestLimit: 1e12, tokenLimit: null, windowMs: 1000 }));
const pauseReadMicros = await time(20_000, () => store.reserveCalls({ runId, model: 'm', requests: 0, tokensPerRequest: 0, requestLimit: null, tokenLimit: null, windowMs: 1000 }));
const owners: string[] = [];
for (let index = 0; index < 16; index++) {
  const owner = `bench-${index}`;
  await store.registerOwner({ owner, runId, host: 'bench', pid: index }, 60_000);
  owners.push(owner);
}
const claimed = await store.claimTasks({ runId, owner: owners[0]!, untilStage: 'judge', limit: 256 });
const held = new Map(claimed.map((task) => [task.ord, task.token]));
const heartbeatMicros = await time(5_000, () => store.heartbeat(owners[0]!, 60_000, held));
const listOwnersMicros = await time(5_000, () => store.listOwners(runId));
await store.close();
for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
process.stdout.write(JSON.stringify({ grantMicros, grantBlock: 32, pauseReadMicros, heartbeatMicros, heldPerHeartbeat: held.size, listOwnersMicros, owners: owners.length }));
