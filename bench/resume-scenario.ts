// Workload 3 and 4: a run of N tasks against a local OpenAI-compatible server is killed with SIGKILL half
// way, then started again. Measured: time from the second `assay run` starting to its first request, and
// how many requests were repeated for tasks whose answers were already stored (must be 0). Then, on the
// finished N-task store, how long `assay inspect state` and `assay quickcheck` take.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { distinctArithmeticDataset, httpConfig } from './fixtures.js';
import { ModelServer } from './support/model-server.js';
import { watch } from './support/watch.js';

const [workDirectory, itemsText, concurrencyText] = process.argv.slice(2);
const items = Number(itemsText);
const concurrency = Number(concurrencyText ?? 256);
const root = fileURLToPath(new URL('..', import.meta.url));
const assay = join(root, 'bin', 'assay.js');
const log = (message: string) => process.stderr.write(`    ${message}\n`);

const server = await new ModelServer(0, { trackPrompts: true }).start();
const dataset = distinctArithmeticDataset(workDirectory!, items);
const store = join(workDirectory!, `resume-${items}.db`);
for (const suffix of ['', '-wal', '-shm']) rmSync(store + suffix, { force: true });
const config = httpConfig(workDirectory!, dataset, store, server.baseURL, concurrency, `resume-${items}`);
const promptOf = (ord: number) => {
  const left = (ord % 997) + 2;
  const right = ((ord * 7) % 991) + 2;
  return `Question ${ord}: what is ${left} + ${right}?`;
};

// First run: killed with SIGKILL once half the requests have been made.
const first = watch(process.execPath, [assay, 'run', config, '--quiet', '--json'], { cwd: workDirectory! });
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    if (server.requests >= items / 2) {
      clearInterval(timer);
      first.child.kill('SIGKILL');
      resolve();
    }
  }, 5);
});
const killed = await first.done;
const requestsBeforeKill = server.requests;
log(`killed after ${requestsBeforeKill} requests (${killed.seconds.toFixed(1)} s)`);

// What the store holds: tasks whose answer is durable.
const db = new Database(store, { readonly: true });
const stored = db.prepare('SELECT ord FROM tasks WHERE next_stage >= 1 AND failed = 0').pluck().all() as number[];
db.close();
const storedPrompts = new Set(stored.map(promptOf));
const askedBefore = new Set(server.prompts!.keys());
log(`${stored.length} answers durable at the kill; ${askedBefore.size - stored.length} were in flight or not yet committed`);

// Second run: from the start of the process to its first request.
server.resetCounters();
const second = watch(process.execPath, [assay, 'run', config, '--quiet', '--json'], { cwd: workDirectory! });
const resumed = await second.done;
if (resumed.code !== 0) throw new Error(`resumed run failed (${resumed.code}): ${resumed.stderr}`);
const summary = JSON.parse(resumed.stdout) as { done: number; status: string; runId: string };
if (summary.done !== items) throw new Error(`resumed run ended ${summary.status} with ${summary.done}/${items} done`);
const firstRequestSeconds = (server.firstAt! - second.startedAt) / 1000;
let repeatedCompleted = 0;
let repeatedInFlight = 0;
for (const [prompt, count] of server.prompts!) {
  if (count < 2) continue;
  if (storedPrompts.has(prompt)) repeatedCompleted += count - 1;
  else repeatedInFlight += count - 1;
}
log(`resumed: first request after ${firstRequestSeconds.toFixed(2)} s, ${server.requests} requests, finished in ${resumed.seconds.toFixed(1)} s`);
await server.stop();

// Reading the finished store: each command three times, the best and the median reported.
async function timed(args: string[]): Promise<{ best: number; median: number }> {
  const times: number[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const run = watch(process.execPath, [assay, ...args], { cwd: workDirectory! });
    const result = await run.done;
    if (result.code !== 0) throw new Error(`assay ${args.join(' ')} failed: ${result.stderr}`);
    times.push(result.seconds * 1000);
  }
  times.sort((a, b) => a - b);
  return { best: times[0]!, median: times[2]! };
}
const runRef = summary.runId.slice(0, 12);
const inspectById = await timed(['inspect', 'state', runRef, '--store', store]);
const quickcheckById = await timed(['quickcheck', runRef, '--store', store]);
const inspectByConfig = await timed(['inspect', 'state', config]);

process.stdout.write(
  JSON.stringify({
    items,
    concurrency,
    requestsBeforeKill,
    storedAtKill: stored.length,
    inFlightAtKill: askedBefore.size - stored.length,
    firstRequestSeconds,
    resumedRequests: server.requests,
    resumedSeconds: resumed.seconds,
    resumedPeakRssMB: resumed.peakRssMB,
    repeatedCompleted,
    repeatedInFlight,
    inspectStateMs: inspectById,
    quickcheckMs: quickcheckById,
    inspectStateByConfigMs: inspectByConfig,
  }),
);
for (const suffix of ['', '-wal', '-shm']) rmSync(store + suffix, { force: true });
