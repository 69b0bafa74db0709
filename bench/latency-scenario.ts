// Workload 2: a local OpenAI-compatible server that answers after a fixed delay; `assay run` (the CLI, in its
// own process) sends one request per item at a given concurrency. The physical limit is concurrency / delay
// requests per second; the figure is how close assay gets.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distinctArithmeticDataset, httpConfig } from './fixtures.js';
import { ModelServer } from './support/model-server.js';
import { watch } from './support/watch.js';

const [workDirectory, itemsText, delayText, concurrencyText, workersText] = process.argv.slice(2);
// With workers, `assay run --workers N` splits the same concurrency among N worker processes.
const workers = Number(workersText ?? 0);
const items = Number(itemsText);
const delayMs = Number(delayText);
const concurrency = Number(concurrencyText);
const root = fileURLToPath(new URL('..', import.meta.url));

const server = await new ModelServer(delayMs).start();
const dataset = distinctArithmeticDataset(workDirectory!, items);
const store = join(workDirectory!, `latency-${items}-${delayMs}.db`);
for (const suffix of ['', '-wal', '-shm']) rmSync(store + suffix, { force: true });
const config = httpConfig(workDirectory!, dataset, store, server.baseURL, concurrency, `latency-${items}-${delayMs}`);

const fleet = workers > 0 ? ['--workers', String(workers), '--concurrency', String(Math.ceil(concurrency / workers))] : [];
const run = watch(process.execPath, [join(root, 'bin', 'assay.js'), 'run', config, '--quiet', '--json', ...fleet], { cwd: workDirectory! });
const result = await run.done;
await server.stop();
if (result.code !== 0) throw new Error(`assay run failed (${result.code}): ${result.stderr}`);
const summary = JSON.parse(result.stdout) as { done: number; status: string; workers?: { modelCalls: number }[] };
if (summary.done !== items) throw new Error(`run ended ${summary.status} with ${summary.done}/${items} done`);
process.stdout.write(
  JSON.stringify({
    items,
    delayMs,
    concurrency,
    requests: server.requests,
    seconds: result.seconds,
    startupSeconds: (server.firstAt! - run.startedAt) / 1000,
    ...server.throughput(concurrency),
    endToEndRequestsPerSecond: server.requests / result.seconds,
    firstSecondRequestsPerSecond: server.rateBetween(0, 1),
    afterThreeSecondsRequestsPerSecond: server.rateBetween(3),
    peakRssMB: result.peakRssMB,
    workers,
    callsByWorker: summary.workers?.map((entry) => entry.modelCalls) ?? null,
  }),
);
for (const suffix of ['', '-wal', '-shm']) rmSync(store + suffix, { force: true });
