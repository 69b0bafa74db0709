// Workload 7: what coordinating a fleet through the store costs, per store operation, on the SQLite store:
// a grant of calls (Store.reserveCalls), the once-a-second pause read, a heartbeat renewing a worker's
// leases, and listing the owners. Several processes can share one file; each operation is one transaction.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../src/stores/open-store.js';
import { benchRun, plainItems } from './support/bench-run.js';

const [workDirectory] = process.argv.slice(2);
const path = join(workDirectory!, 'fleet.db');
for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
const store = await openStore(path, { create: true });
const run = benchRun(4096, 'fleet', plainItems(4096));
const { runId } = run;
await store.createRun(run);

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
