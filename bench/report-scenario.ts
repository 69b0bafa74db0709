// `assay report` on a large store. Run with `build ITEMS MODELS REPLICATES` to fill a store with that many
// mock tasks (kept for the next step), then with `report ITEMS MODELS REPLICATES [--by FIELD]` in a fresh
// process, so the peak RSS measured is the report's own.
import { existsSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Experiment, openStore } from '../dist/index.js';
import { buildReport } from '../dist/report/build-report.js';

const [workDirectory, step, itemsText, modelsText, replicatesText, ...rest] = process.argv.slice(2);
const items = Number(itemsText);
const models = Number(modelsText);
const replicates = Number(replicatesText);
const name = `report-${items}x${models}x${replicates}`;
const store = join(workDirectory!, `${name}.db`);
const config = join(workDirectory!, `${name}.yaml`);

/** Items with a subject (20 values) and a passage (groups of 4 items), for --by and --cluster. */
function dataset(): string {
  const path = join(workDirectory!, `report-items-${items}.jsonl`);
  if (existsSync(path)) return path;
  mkdirSync(workDirectory!, { recursive: true });
  const lines: string[] = [];
  for (let index = 0; index < items; index++) {
    const left = (index % 997) + 2;
    const right = ((index * 7) % 991) + 2;
    lines.push(JSON.stringify({ id: `i${index}`, question: `What is ${left} + ${right}?`, answer: String(left + right), subject: `s${index % 20}`, passage: `p${Math.floor(index / 4)}` }));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

if (step === 'build') {
  for (const suffix of ['', '-wal', '-shm']) rmSync(store + suffix, { force: true });
  const mocks = Array.from({ length: models }, (_, index) => `  - { id: mock-${index}, provider: mock, options: { accuracy: ${(0.5 + index * 0.1).toFixed(2)} } }`).join('\n');
  writeFileSync(
    config,
    `name: report-bench
datasets: [{ id: d, path: ${JSON.stringify(dataset())}, input: question, target: answer, idField: id }]
models:
${mocks}
parse: { kind: last-number }
metrics: [{ kind: numeric-match, name: accuracy }]
replicates: ${replicates}
runtime: { concurrency: 256, store: ${JSON.stringify(store)} }
`,
  );
  const started = performance.now();
  const summary = await Experiment.fromConfig(config).run();
  if (summary.status !== 'completed') throw new Error(`run ended ${summary.status}`);
  process.stdout.write(JSON.stringify({ runId: summary.runId, tasks: summary.tasks, buildSeconds: (performance.now() - started) / 1000, storeMB: statSync(store).size / 1e6 }));
} else {
  const by = rest[0] === '--by' ? [rest[1]!] : [];
  const cluster = rest[0] === '--cluster' ? rest[1]! : undefined;
  const opened = await openStore(store, { create: false });
  const [run] = await opened.listRuns();
  const started = performance.now();
  const report = await buildReport(opened, run!.runId, { by, ...(cluster ? { cluster } : {}) });
  const seconds = (performance.now() - started) / 1000;
  await opened.close();
  process.stdout.write(
    JSON.stringify({
      tasks: run!.taskCount,
      seconds,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      groups: report.groups.length,
      comparisons: report.comparisons.length,
      options: by.length > 0 ? `--by ${by[0]}` : cluster ? `--cluster ${cluster}` : '(none)',
    }),
  );
  if (rest.includes('--last')) for (const suffix of ['', '-wal', '-shm']) rmSync(store + suffix, { force: true });
}
