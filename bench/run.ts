// `npm run bench`: measures assay and writes the figures, with the machine they came from, to docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const work = join(root, 'bench', '.work');
mkdirSync(work, { recursive: true });
const quick = process.argv.includes('--quick');

function scenario(file: string, ...args: (string | number)[]): Record<string, number> {
  const output = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'bench', file), work, ...args.map(String)], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(output) as Record<string, number>;
}

const format = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const sizes = quick ? [10_000, 100_000] : [100_000, 1_000_000];
console.log(`harness overhead: ${sizes.map((size) => format(size)).join(' and ')} mock tasks (generate, parse, score)`);
const harness = sizes.map((size) => {
  const result = scenario('harness-scenario.ts', size, 256);
  console.log(`  ${format(size)} tasks: ${format(result.seconds!, 2)} s, ${format(result.tasksPerSecond!)} tasks/s, peak RSS ${format(result.peakRssMB!)} MB`);
  return result;
});
const raw = sizes.map((size) => {
  const result = scenario('raw-sqlite-scenario.ts', size);
  console.log(`  raw SQLite, same rows, ${format(size)} tasks: ${format(result.tasksPerSecond!)} tasks/s`);
  return result;
});
const growth = harness[1]!.seconds! / harness[0]!.seconds!;
const scale = sizes[1]! / sizes[0]!;
console.log(`  time for ${format(sizes[1]!)} / time for ${format(sizes[0]!)}: ${format(growth, 2)} (linear would be ${scale})`);

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${format(totalmem() / 2 ** 30, 0)} GiB RAM, ${platform()} ${release()}, Node ${process.version}`;
const rows = sizes
  .map((size, index) => {
    const result = harness[index]!;
    const reference = raw[index]!;
    return `| ${format(size)} | ${format(result.seconds!, 2)} s | ${format(result.tasksPerSecond!)} | ${format(result.peakRssMB!)} MB | ${format(result.storeMB!)} MB | ${format(reference.tasksPerSecond!)} | ${format(result.tasksPerSecond! / reference.tasksPerSecond!, 2)} |`;
  })
  .join('\n');

const document = `# Benchmarks

Produced by \`npm run bench\`${quick ? ' --quick' : ''} on ${new Date().toISOString().slice(0, 10)}.
Machine: ${machine}.

These figures are measured, not asserted: tests never depend on wall-clock speed. Each scenario runs in a
fresh process so its peak RSS is its own.

## Harness overhead

The in-process mock model, so nothing but assay itself is measured: load and fingerprint the dataset, create
the run, then generate, reduce, parse and score every task with every result committed to the SQLite store
(concurrency 256). One model, one prompt, one task per dataset row.

| tasks | wall time | tasks/s | peak RSS | store size | raw SQLite tasks/s | share of raw |
|---:|---:|---:|---:|---:|---:|---:|
${rows}

Growth: the ${format(sizes[1]!)}-task run took ${format(growth, 2)}x the time of the ${format(sizes[0]!)}-task run (linear: ${scale}x).

"Raw SQLite" is the physical reference: the same rows per task (one task row created then updated, four
event rows) inserted straight into the same schema with the same pragmas and batch size, with no engine,
no JSON building of results and no dataset loading. "Share of raw" is the harness rate divided by it.
`;
writeFileSync(join(root, 'docs', 'benchmarks.md'), document);
console.log('wrote docs/benchmarks.md');
