// `assay store copy` of a large run: `TASKS [back]` builds a SQLite store holding one run of TASKS finished
// mock tasks (written straight through the store, 10,000 tasks a batch: cheap), then copies it to a fresh
// PostgreSQL database with the CLI in its own process (wall time and its peak RSS: the copy's own memory);
// with `back`, copies it from there into a new SQLite file as well.
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskEvent } from '../src/spec/event.js';
import type { StoredItem } from '../src/spec/store.js';
import { openStore } from '../src/stores/open-store.js';
import { PostgresServer } from '../src/testing/postgres-server.js';
import { benchRun, finishedEvents } from './support/bench-run.js';
import { watch } from './support/watch.js';

const [workDirectory, tasksText, back] = process.argv.slice(2);
const tasks = Number(tasksText);
const bin = join(process.cwd(), 'bin', 'assay.js');
const source = join(workDirectory!, `copy-${tasks}.db`);
const returned = join(workDirectory!, `copy-${tasks}-back.db`);
const BATCH = 10_000;

function* items(): Generator<StoredItem> {
  for (let ord = 0; ord < tasks; ord++) yield { ord, datasetId: 'ds', itemId: `i${ord}`, input: `What is ${ord} + 1?`, target: String(ord + 1), fields: { id: `i${ord}`, q: `What is ${ord} + 1?`, a: String(ord + 1) } };
}

async function build(): Promise<{ runId: string; seconds: number; storeMB: number }> {
  for (const path of [source, returned]) for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  const started = performance.now();
  const run = benchRun(tasks, 'copy', items());
  const { runId } = run;
  const store = await openStore(source, { create: true });
  try {
    await store.createRun(run);
    for (let start = 0; start < tasks; start += BATCH) {
      const events: TaskEvent[] = [];
      for (let ord = start; ord < Math.min(tasks, start + BATCH); ord++) events.push(...finishedEvents(ord));
      await store.appendEvents({ runId, owner: null, events, release: [] });
    }
    await store.setRunStatus(runId, 'completed', 'score');
  } finally {
    await store.close();
  }
  return { runId, seconds: (performance.now() - started) / 1000, storeMB: statSync(source).size / 1e6 };
}

async function copy(from: string, to: string): Promise<{ seconds: number; peakRssMB: number; outcome: string }> {
  const result = await watch(process.execPath, [bin, 'store', 'copy', from, to, '--json'], { cwd: workDirectory!, env: { ...process.env, ASSAY_STORE: undefined } }).done;
  if (result.code !== 0) throw new Error(`the copy failed: ${result.stderr}`);
  return { seconds: result.seconds, peakRssMB: result.peakRssMB, outcome: (JSON.parse(result.stdout) as { runs: { outcome: string }[] }).runs[0]!.outcome };
}

const server = await PostgresServer.start({ fsync: true });
try {
  const built = await build();
  process.stderr.write(`   built ${tasks} tasks in ${built.seconds.toFixed(1)} s (${built.storeMB.toFixed(0)} MB)\n`);
  const url = await server.createDatabase('copy_bench');
  const toPostgres = await copy(source, url);
  process.stderr.write(`   SQLite -> PostgreSQL: ${toPostgres.seconds.toFixed(1)} s, peak RSS ${toPostgres.peakRssMB.toFixed(0)} MB\n`);
  const toSqlite = back === 'back' ? await copy(url, returned) : null;
  if (toSqlite) process.stderr.write(`   PostgreSQL -> SQLite: ${toSqlite.seconds.toFixed(1)} s, peak RSS ${toSqlite.peakRssMB.toFixed(0)} MB\n`);
  process.stdout.write(JSON.stringify({ tasks, build: built, toPostgres, toSqlite }));
} finally {
  server.stop();
  for (const path of [source, returned]) for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
}
