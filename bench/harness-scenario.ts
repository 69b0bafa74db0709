// One measurement in a fresh process (so peak RSS is this scenario's own): run N mock tasks end to end.
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Experiment } from '../dist/index.js';
import { arithmeticDataset, mockConfig } from './fixtures.js';

const [workDirectory, itemsText, replicatesText, concurrencyText] = process.argv.slice(2);
const itemCount = Number(itemsText);
const replicates = Number(replicatesText ?? 1);
const count = itemCount * replicates;
const concurrency = Number(concurrencyText ?? 256);
const dataset = arithmeticDataset(workDirectory!, itemCount);
const store = join(workDirectory!, `harness-${itemCount}x${replicates}.db`);
for (const suffix of ['', '-wal', '-shm']) rmSync(store + suffix, { force: true });
const config = mockConfig(workDirectory!, dataset, store, concurrency, replicates);

const started = performance.now();
const experiment = Experiment.fromConfig(config);
experiment.compile();
const compiled = performance.now();
let prepared = 0;
const summary = await experiment.run({ onProgress: () => (prepared = performance.now()) });
const finished = performance.now();
if (summary.status !== 'completed' || summary.done !== count) throw new Error(`run ended ${summary.status} with ${summary.done}/${count} done`);

const seconds = (finished - started) / 1000;
process.stdout.write(
  JSON.stringify({
    tasks: count,
    items: itemCount,
    replicates,
    seconds,
    compileSeconds: (compiled - started) / 1000,
    // From the start until the engine takes its first task: config, dataset identity, run creation.
    prepareSeconds: (prepared - started) / 1000,
    engineTasksPerSecond: count / ((finished - prepared) / 1000),
    tasksPerSecond: count / seconds,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    storeMB: statSync(store).size / 1e6,
  }),
);
for (const suffix of ['', '-wal', '-shm']) rmSync(store + suffix, { force: true });
