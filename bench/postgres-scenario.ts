// Workload 8: one run on the PostgreSQL store. `fleet TASKS WORKERS BACKEND`: a run of TASKS mock tasks is
// submitted, then WORKERS `assay worker` processes work it to the end (BACKEND sqlite or postgres); wall time
// from the first worker's start to the last one's exit, and each worker's peak RSS. `store-cost`: the store
// alone, one process: claim 256 tasks, append their four events, release, over and over, on both backends.
// `coordination`: the fleet's own operations on PostgreSQL (grant, pause read, heartbeat, list owners).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../src/stores/open-store.js';
import { PostgresServer } from '../src/testing/postgres-server.js';
import type { Store } from '../src/spec/store.js';
import { arithmeticDataset, mockConfig } from './fixtures.js';
import { benchRun, finishedEvents, plainItems } from './support/bench-run.js';
import { watch } from './support/watch.js';

const [workDirectory, mode, ...rest] = process.argv.slice(2);
const bin = join(process.cwd(), 'bin', 'assay.js');
// Durability like SQLite's default (WAL, synchronous=normal): every commit survives a killed process; the
// last ones may be lost on power loss (synchronous_commit=off). fsync stays on.
const server = await PostgresServer.start({ fsync: true });
await server.sql('postgres', 'ALTER SYSTEM SET synchronous_commit = off');
await server.sql('postgres', 'SELECT pg_reload_conf()');
let databases = 0;
const database = () => server.createDatabase(`bench_${++databases}`);

try {
  if (mode === 'fleet') await fleet(Number(rest[0]), Number(rest[1]), rest[2] as 'sqlite' | 'postgres');
  else if (mode === 'store-cost') await storeCost(Number(rest[0] ?? 50_000));
  else if (mode === 'coordination') await coordination();
  else throw new Error(`unknown mode ${mode}`);
} finally {
  server.stop();
}

async function fleet(tasks: number, workers: number, backend: 'sqlite' | 'postgres'): Promise<void> {
  const sqlitePath = join(workDirectory!, 'fleet-sqlite.db');
  for (const suffix of ['', '-wal', '-shm']) rmSync(sqlitePath + suffix, { force: true });
  const store = backend === 'sqlite' ? sqlitePath : await database();
  const dataset = arithmeticDataset(workDirectory!, tasks);
  const config = mockConfig(workDirectory!, dataset, store, 256);
  const env = { ...process.env, ASSAY_STORE: undefined };
  const submitStarted = performance.now();
  const runId = execFileSync(process.execPath, [bin, 'submit', config, '--store', store], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const submitSeconds = (performance.now() - submitStarted) / 1000;
  const started = performance.now();
  const running = Array.from({ length: workers }, () => watch(process.execPath, [bin, 'worker', runId, '--store', store, '--config', config, '--quiet', '--json'], { cwd: workDirectory!, env }));
  const results = await Promise.all(running.map((entry) => entry.done));
  const seconds = (performance.now() - started) / 1000;
  for (const result of results) if (result.code !== 0) throw new Error(`a worker failed: ${result.stderr}`);
  const done = results.map((result) => JSON.parse(result.stdout) as { modelCalls: number });
  process.stdout.write(
    JSON.stringify({
      backend,
      workers,
      tasks,
      submitSeconds,
      seconds,
      tasksPerSecond: tasks / seconds,
      peakRssMB: results.map((result) => result.peakRssMB),
      callsPerWorker: done.map((entry) => entry.modelCalls),
    }),
  );
  for (const suffix of ['', '-wal', '-shm']) rmSync(sqlitePath + suffix, { force: true });
}

/** Microseconds per task through the store alone: claim a batch, append its events, release it. */
async function perTask(store: Store, tasks: number): Promise<number> {
  const run = benchRun(tasks, 'pg', plainItems(tasks));
  await store.createRun(run);
  const owner = `bench-${Math.random()}`;
  await store.registerOwner({ owner, runId: run.runId, host: 'bench', pid: process.pid }, 60_000);
  const started = performance.now();
  for (;;) {
    const claimed = await store.claimTasks({ runId: run.runId, owner, untilStage: 'judge', limit: 256 });
    if (claimed.length === 0) break;
    await store.appendEvents({ runId: run.runId, owner, events: claimed.flatMap((task) => finishedEvents(task.ord)), release: claimed.map((task) => task.ord), leases: new Map(claimed.map((task) => [task.ord, task.token])) });
  }
  return ((performance.now() - started) * 1000) / tasks;
}

async function storeCost(tasks: number): Promise<void> {
  const path = join(workDirectory!, 'cost.db');
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  const sqlite = await openStore(path, { create: true });
  const sqliteMicros = await perTask(sqlite, tasks);
  await sqlite.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  const pg = await openStore(await database(), { create: true });
  const postgresMicros = await perTask(pg, tasks);
  await pg.close();
  process.stdout.write(JSON.stringify({ tasks, batch: 256, sqliteMicros, postgresMicros }));
}

async function time(count: number, operation: (index: number) => Promise<unknown>): Promise<number> {
  for (let index = 0; index < Math.min(200, count); index++) await operation(index);
  const started = performance.now();
  for (let index = 0; index < count; index++) await operation(index);
  return ((performance.now() - started) * 1000) / count;
}

async function coordination(): Promise<void> {
  const store = await openStore(await database(), { create: true });
  const run = benchRun(4096, 'pg', plainItems(4096));
  await store.createRun(run);
  const runId = run.runId;
  const grantMicros = await time(5_000, () => store.reserveCalls({ runId, model: 'm', requests: 32, tokensPerRequest: 300, requestLimit: 1e12, tokenLimit: null, windowMs: 1000 }));
  const pauseReadMicros = await time(5_000, () => store.reserveCalls({ runId, model: 'm', requests: 0, tokensPerRequest: 0, requestLimit: null, tokenLimit: null, windowMs: 1000 }));
  const owners: string[] = [];
  for (let index = 0; index < 16; index++) {
    owners.push(`bench-${index}`);
    await store.registerOwner({ owner: owners[index]!, runId, host: 'bench', pid: index }, 60_000);
  }
  const claimed = await store.claimTasks({ runId, owner: owners[0]!, untilStage: 'judge', limit: 256 });
  const held = new Map(claimed.map((task) => [task.ord, task.token]));
  const heartbeatMicros = await time(2_000, () => store.heartbeat(owners[0]!, 60_000, held));
  const listOwnersMicros = await time(2_000, () => store.listOwners(runId));
  const histogramMicros = await time(2_000, () => store.getStageHistogram(runId));
  await store.close();
  process.stdout.write(JSON.stringify({ grantMicros, grantBlock: 32, pauseReadMicros, heartbeatMicros, heldPerHeartbeat: held.size, listOwnersMicros, histogramMicros, poolSize: 4 }));
}
