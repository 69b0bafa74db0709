/**
 * Config and dataset mutation chaos: valid experiments (the examples, and configs like the end-to-end tests
 * write, over datasets in every format assay reads) have one file damaged or mutated, in a seeded way, and are
 * run with the real CLI against a store that already holds their run. Whatever the mutation, `assay run` and
 * `assay estimate` must exit 0 or 1; exit 1 is one `assay: error:` line (after any warnings) with no stack
 * trace, and leaves the store's bytes as they were.
 *
 *   node --import tsx test/chaos/input-mutations.ts [--count 1000] [--seed 1]
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli } from '../support/cli.js';
import { runBounded } from './bounded-cli.js';
import { fixtures, type Fixture } from './fixtures.js';
import { mutateFile, type MutationFamily } from './mutations.js';
import { problemsOf, type Problem } from './outcome-check.js';
import { Random } from './random.js';

export interface InputCase {
  readonly index: number;
  readonly fixture: string;
  readonly file: string;
  readonly family: MutationFamily;
  readonly kind: string;
  readonly note: string;
  readonly command: 'run' | 'estimate';
  readonly code: number | null;
  readonly stderr: string;
  readonly problems: readonly (Problem | 'store-changed')[];
}

export interface InputReport {
  readonly seed: number;
  readonly tried: number;
  readonly byFamily: Readonly<Record<string, number>>;
  readonly exitCodes: Readonly<Record<string, number>>;
  readonly failures: readonly InputCase[];
  /** Where the failing cases' inputs were kept, for a look. */
  readonly directory: string;
}

/** A digest of a store folder's files (the shared-memory index is not content). */
function storeDigest(directory: string): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(directory).sort()) {
    if (name.endsWith('-shm')) continue;
    hash.update(name).update('\0').update(readFileSync(join(directory, name))).update('\0');
  }
  return hash.digest('hex');
}

function writeFixture(fixture: Fixture, directory: string, replaced?: { path: string; bytes: Buffer }): void {
  for (const file of fixture.files) {
    const target = join(directory, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, replaced?.path === file.path ? replaced.bytes : file.bytes);
  }
}

/** Runs every fixture once, unmutated, into a store of its own: the store each of its mutated cases starts from. */
async function baselines(directory: string, env: Record<string, string>): Promise<Map<string, string>> {
  const stores = new Map<string, string>();
  for (const fixture of fixtures()) {
    const folder = join(directory, 'baseline', fixture.name);
    mkdirSync(join(folder, 'store'), { recursive: true });
    writeFixture(fixture, folder);
    const result = await runCli(['run', fixture.config, '--store', 'store/store.db', '--quiet'], { cwd: folder, env });
    if (result.code !== 0) throw new Error(`fixture ${fixture.name} does not run unmutated: ${result.stderr}`);
    stores.set(fixture.name, join(folder, 'store'));
  }
  return stores;
}

async function tryCase(index: number, seed: number, directory: string, stores: ReadonlyMap<string, string>, env: Record<string, string>, timeoutMs: number): Promise<InputCase> {
  const random = Random.forInput(seed, index);
  const fixture = random.pick(fixtures());
  const file = random.pick(fixture.files);
  const mutation = mutateFile(file, random);
  const command = random.chance(0.75) ? ('run' as const) : ('estimate' as const);
  const folder = join(directory, `case-${index}`);
  const storeFolder = join(folder, 'store');
  mkdirSync(storeFolder, { recursive: true });
  writeFixture(fixture, folder, { path: file.path, bytes: mutation.bytes });
  const baseline = stores.get(fixture.name)!;
  for (const name of readdirSync(baseline)) copyFileSync(join(baseline, name), join(storeFolder, name));
  const before = storeDigest(storeFolder);
  const args = command === 'run' ? ['run', fixture.config, '--store', 'store/store.db', '--quiet'] : ['estimate', fixture.config, '--store', 'store/store.db'];
  const result = await runBounded(args, { cwd: folder, env, timeoutMs });
  const problems: (Problem | 'store-changed')[] = problemsOf(result);
  if (result.timedOut && !result.interruptedCleanly) problems.push('hang');
  if (result.code === 1 && existsSync(storeFolder) && storeDigest(storeFolder) !== before) problems.push('store-changed');
  const entry: InputCase = {
    index,
    fixture: fixture.name,
    file: file.path,
    family: mutation.family,
    kind: mutation.kind,
    note: mutation.note,
    command,
    code: result.code,
    stderr: result.stderr.slice(0, 2000),
    problems: result.interruptedCleanly ? problems.filter((problem) => problem !== 'other-exit-code') : problems,
  };
  if (entry.problems.length === 0) rmSync(folder, { recursive: true, force: true });
  return entry;
}

/** Mutates inputs `count` times (seeded; input i depends only on the seed and i) and runs each. */
export async function inputMutationCampaign(options: { count: number; seed?: number; parallel?: number; timeoutMs?: number; onCase?: (entry: InputCase) => void }): Promise<InputReport> {
  const seed = options.seed ?? 1;
  const directory = mkdtempSync(join(tmpdir(), 'assay-input-chaos-'));
  const env = { ASSAY_CACHE_DIR: join(directory, 'cache') };
  const stores = await baselines(directory, env);
  const cases: InputCase[] = [];
  let next = 0;
  const worker = async () => {
    while (next < options.count) {
      const entry = await tryCase(next++, seed, directory, stores, env, options.timeoutMs ?? 30_000);
      cases.push(entry);
      options.onCase?.(entry);
    }
  };
  await Promise.all(Array.from({ length: options.parallel ?? 2 }, worker));
  cases.sort((left, right) => left.index - right.index);
  const count = (key: (entry: InputCase) => string) => {
    const counts: Record<string, number> = {};
    for (const entry of cases) counts[key(entry)] = (counts[key(entry)] ?? 0) + 1;
    return counts;
  };
  const failures = cases.filter((entry) => entry.problems.length > 0);
  if (failures.length === 0) rmSync(directory, { recursive: true, force: true });
  return { seed, tried: cases.length, byFamily: count((entry) => entry.family), exitCodes: count((entry) => `exit ${String(entry.code)}`), failures, directory };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argument = (name: string, fallback: number) => {
    const at = process.argv.indexOf(name);
    return at > 0 ? Number(process.argv[at + 1]) : fallback;
  };
  const report = await inputMutationCampaign({
    count: argument('--count', 1000),
    seed: argument('--seed', 1),
    onCase: (entry) => {
      if (entry.problems.length > 0) {
        process.stdout.write(`#${entry.index} ${entry.fixture} ${entry.file} ${entry.family}/${entry.kind} (${entry.note}) ${entry.command}: ${entry.problems.join(', ')}\n  ${entry.stderr.split('\n').slice(0, 3).join('\n  ')}\n`);
      }
    },
  });
  process.stdout.write(`input mutations: ${report.tried} tried (seed ${report.seed}), ${JSON.stringify(report.exitCodes)}, ${report.failures.length} broke a promise\n`);
  if (report.failures.length > 0) process.stdout.write(`cases kept in ${report.directory}\n`);
  process.exitCode = report.failures.length > 0 ? 1 : 0;
}
