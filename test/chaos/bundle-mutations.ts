/**
 * Bundle mutation chaos: real exported bundles (every kind, plain and gzipped) are damaged or forged in many
 * seeded ways and fed to `assay import` against a store that holds the run. Whatever the mutation, the CLI
 * must exit 0 or 1; a refusal is one `assay: error: ...` line with no stack trace and leaves the store's bytes
 * as they were; an accepted bundle leaves a store that `assay quickcheck` still reads.
 *
 *   node --import tsx test/chaos/bundle-mutations.ts [--count 300] [--seed 1]
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { hashValue } from '../../src/core/canonical-json.js';
import { sealBundleHeader } from '../../src/bundles/bundle-file.js';
import { exportBundle } from '../../src/bundles/export-bundle.js';
import { ARTIFACT_KINDS, type ArtifactKind } from '../../src/core/records.js';
import { Experiment } from '../../src/experiment/experiment.js';
import { openStore } from '../../src/stores/open-store.js';
import { runCli } from '../support/cli.js';
import { Random } from './random.js';

const ARITHMETIC = fileURLToPath(new URL('../../examples/data/arithmetic.jsonl', import.meta.url));

/** A source bundle: its file bytes and, decompressed, its lines. */
interface SourceBundle {
  readonly kind: ArtifactKind;
  readonly gz: boolean;
  readonly bytes: Buffer;
  readonly lines: readonly string[];
}

interface Mutant {
  readonly description: string;
  readonly bytes: Buffer;
}

const WRONG_VALUES: readonly unknown[] = [42, -1, 1.5, 1e308, 'x', '', null, true, [], {}, [1, 2], { nested: { deeper: [null] } }];
const HUGE_NUMBERS: readonly number[] = [1e308, -1e308, 1e21, 2 ** 53 + 2, -1, 0.5, 0, 4294967296, -2147483649];

function encode(bundle: SourceBundle, text: string | Buffer): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  return bundle.gz ? gzipSync(bytes) : bytes;
}

const joined = (lines: readonly string[]) => `${lines.join('\n')}\n`;

/** Recomputes a header's counts and checksum for its (edited) body, as a forger would. */
function reseal(lines: readonly string[], editHeader: (header: Record<string, unknown>) => void = () => undefined): string {
  const [first, ...body] = lines;
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(first!) as Record<string, unknown>;
  } catch {
    return joined(lines);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) return joined(lines);
  header.items = body.filter((line) => line.startsWith('{"type":"item"')).length;
  header.records = body.length - (header.items as number);
  editHeader(header);
  const bodyText = body.map((line) => `${line}\n`).join('');
  try {
    return `${JSON.stringify(sealBundleHeader(header, bodyText))}\n${bodyText}`;
  } catch {
    return `${JSON.stringify(header)}\n${bodyText}`;
  }
}

/** Paths to every leaf (number, string, boolean, null) of a JSON value. */
function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [path];
  const entries = Array.isArray(value) ? value.map((member, index) => [index, member] as const) : Object.entries(value);
  const found = entries.flatMap(([key, member]) => leaves(member, [...path, key]));
  return found.length > 0 ? found : [path];
}

/** Every path (leaf or not) of a JSON value, to replace whole subtrees too. */
function paths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [path];
  const entries = Array.isArray(value) ? value.map((member, index) => [index, member] as const) : Object.entries(value);
  return [path, ...entries.flatMap(([key, member]) => paths(member, [...path, key]))];
}

function setAt(target: unknown, path: readonly (string | number)[], value: unknown): void {
  let cursor = target as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) cursor = cursor[key] as Record<string | number, unknown>;
  cursor[path.at(-1)!] = value;
}

function bodyLine(random: Random, lines: readonly string[], which: 'item' | 'record' | 'any'): number {
  const candidates = lines.map((line, index) => ({ line, index })).filter(({ line, index }) => {
    if (index === 0 || line === '') return false;
    const item = line.startsWith('{"type":"item"');
    return which === 'any' || (which === 'item') === item;
  });
  return candidates.length > 0 ? random.pick(candidates).index : 1;
}

/** One way of damaging or forging a bundle. */
type Mutation = (random: Random, bundle: SourceBundle) => Mutant;

export const MUTATIONS: Readonly<Record<string, Mutation>> = {
  'flip bits': (random, bundle) => {
    const bytes = Buffer.from(bundle.bytes);
    const flips = random.int(1, 4);
    for (let index = 0; index < flips; index++) bytes[Math.floor(random.next() * bytes.length)]! ^= 1 << random.int(0, 7);
    return { description: `${flips} bit(s) flipped`, bytes };
  },
  truncate: (random, bundle) => {
    const length = Math.floor(random.next() * bundle.bytes.length);
    return { description: `cut to ${length} of ${bundle.bytes.length} bytes`, bytes: bundle.bytes.subarray(0, length) };
  },
  'insert bytes': (random, bundle) => {
    const at = Math.floor(random.next() * bundle.bytes.length);
    const inserted = Buffer.from(Array.from({ length: random.int(1, 8) }, () => random.int(0, 255)));
    return { description: `${inserted.length} byte(s) inserted at ${at}`, bytes: Buffer.concat([bundle.bytes.subarray(0, at), inserted, bundle.bytes.subarray(at)]) };
  },
  'swap lines': (random, bundle) => {
    const lines = [...bundle.lines];
    const left = random.int(0, lines.length - 2);
    const right = random.int(0, lines.length - 2);
    [lines[left], lines[right]] = [lines[right]!, lines[left]!];
    const sealed = random.next() < 0.5;
    return { description: `lines ${left + 1} and ${right + 1} swapped${sealed ? ', resealed' : ''}`, bytes: encode(bundle, sealed && left > 0 && right > 0 ? reseal(lines.slice(0, -1)) : lines.join('\n')) };
  },
  'duplicate line': (random, bundle) => {
    const lines = bundle.lines.slice(0, -1);
    const at = bodyLine(random, lines, 'any');
    const copy = [...lines.slice(0, at + 1), lines[at]!, ...lines.slice(at + 1)];
    const sealed = random.next() < 0.5;
    return { description: `line ${at + 1} duplicated${sealed ? ', resealed' : ''}`, bytes: encode(bundle, sealed ? reseal(copy) : joined(copy)) };
  },
  'remove line': (random, bundle) => {
    const lines = bundle.lines.slice(0, -1);
    const at = random.int(0, lines.length - 1);
    const rest = lines.filter((_, index) => index !== at);
    const sealed = at > 0 && random.next() < 0.5;
    return { description: `line ${at + 1} removed${sealed ? ', resealed' : ''}`, bytes: encode(bundle, sealed ? reseal(rest) : joined(rest)) };
  },
  'header field of a wrong type': (random, bundle) => {
    const lines = bundle.lines.slice(0, -1);
    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    const field = random.pick(Object.keys(header));
    const value = random.pick(WRONG_VALUES);
    header[field] = value;
    const sealed = random.next() < 0.6;
    const edited = [JSON.stringify(header), ...lines.slice(1)];
    const text = sealed ? reseal(edited, (sealedHeader) => (sealedHeader[field] = value)) : joined(edited);
    return { description: `header ${field} = ${JSON.stringify(value)}${sealed ? ', resealed' : ''}`, bytes: encode(bundle, text) };
  },
  'forged snapshot with a recomputed run id': (random, bundle) => {
    const lines = bundle.lines.slice(0, -1);
    const header = JSON.parse(lines[0]!) as { snapshot: unknown; runId: string };
    const path = random.pick(paths(header.snapshot).filter((entry) => entry.length > 0));
    const value = random.next() < 0.5 ? random.pick(WRONG_VALUES) : random.pick(HUGE_NUMBERS);
    setAt(header.snapshot, path, value);
    let runId: string;
    try {
      runId = hashValue(header.snapshot);
    } catch {
      runId = header.runId;
    }
    const text = reseal(lines, (sealed) => {
      sealed.snapshot = header.snapshot;
      sealed.runId = runId;
    });
    return { description: `snapshot.${path.join('.')} = ${JSON.stringify(value)}, run id and checksum recomputed`, bytes: encode(bundle, text) };
  },
  'forged transport, runtime and prices': (random, bundle) => {
    const lines = bundle.lines.slice(0, -1);
    const evil = { baseURL: 'http://127.0.0.1:9/v1', apiKeyEnv: 'HOME', headers: [{ name: 'x-forwarded', env: 'PATH' }], timeoutMs: 1, path: '/etc/passwd' };
    const text = reseal(lines, (header) => {
      const provenance = (header.provenance ?? {}) as Record<string, unknown>;
      const models = ((header.snapshot as { models?: { id: string }[] } | undefined)?.models ?? []).map((model) => model.id);
      provenance.transport = Object.fromEntries(models.map((id) => [id, evil]));
      provenance.runtime = { timeoutMs: 1, maxAttempts: 1000, concurrency: random.pick([1, 1e9, -1]) };
      provenance.prices = Object.fromEntries(models.map((id) => [id, { input: random.pick([0, 1e308, -5]), output: 0, source: 'config' }]));
      header.provenance = provenance;
    });
    return { description: 'provenance transport, runtime and prices forged, resealed', bytes: encode(bundle, text) };
  },
  'forged counts': (random, bundle) => {
    const lines = bundle.lines.slice(0, -1);
    const field = random.pick(['items', 'records']);
    const delta = random.pick([-1, 1, 1e9, -1e9]);
    const text = reseal(lines, (header) => (header[field] = (header[field] as number) + delta));
    return { description: `${field} ${delta > 0 ? '+' : ''}${delta}, resealed`, bytes: encode(bundle, text) };
  },
  'wrong run id': (random, bundle) => {
    const lines = bundle.lines.slice(0, -1);
    const runId = random.pick(['0'.repeat(64), 'ABC', createHash('sha256').update(String(random.next())).digest('hex'), '../../etc']);
    return { description: `run id ${runId}, resealed`, bytes: encode(bundle, reseal(lines, (header) => (header.runId = runId))) };
  },
  'another kind in the header': (random, bundle) => {
    const lines = bundle.lines.slice(0, -1);
    const kind = random.pick([...ARTIFACT_KINDS.filter((other) => other !== bundle.kind), 'failure', 'item']);
    return { description: `kind ${kind}, resealed`, bytes: encode(bundle, reseal(lines, (header) => (header.kind = kind))) };
  },
  'record for a task that does not exist': (random, bundle) => {
    const lines = bundle.lines.slice(0, -1);
    const at = bodyLine(random, lines, 'record');
    const record = JSON.parse(lines[at]!) as { task: string };
    const parts = record.task.split('/');
    const part = random.int(0, parts.length - 1);
    parts[part] = random.pick(['nobody', '99', '', '%zz', 'a/b']);
    record.task = random.pick([parts.join('/'), '', 'x', '////']);
    lines[at] = JSON.stringify(record);
    return { description: `record at line ${at + 1} names task '${record.task}', resealed`, bytes: encode(bundle, reseal(lines)) };
  },
  'record field of a wrong type': (random, bundle) => {
    const lines = bundle.lines.slice(0, -1);
    const at = bodyLine(random, lines, random.next() < 0.8 ? 'record' : 'item');
    const record = JSON.parse(lines[at]!) as Record<string, unknown>;
    const path = random.pick(paths(record).filter((entry) => entry.length > 0 && entry[0] !== 'type'));
    const value = random.pick(WRONG_VALUES);
    setAt(record, path, value);
    lines[at] = JSON.stringify(record);
    return { description: `line ${at + 1} ${path.join('.')} = ${JSON.stringify(value)}, resealed`, bytes: encode(bundle, reseal(lines)) };
  },
  'huge numbers': (random, bundle) => {
    const lines = bundle.lines.slice(0, -1);
    const at = bodyLine(random, lines, 'record');
    const record = JSON.parse(lines[at]!) as Record<string, unknown>;
    const numeric = leaves(record).filter((path) => {
      let cursor: unknown = record;
      for (const key of path) cursor = (cursor as Record<string | number, unknown>)[key];
      return typeof cursor === 'number';
    });
    const path = numeric.length > 0 ? random.pick(numeric) : ['sample'];
    const value = random.pick(HUGE_NUMBERS);
    setAt(record, path, value);
    lines[at] = JSON.stringify(record);
    return { description: `line ${at + 1} ${path.join('.')} = ${value}, resealed`, bytes: encode(bundle, reseal(lines)) };
  },
  'not UTF-8': (random, bundle) => {
    const lines = bundle.lines.slice(0, -1);
    const at = random.int(0, lines.length - 1);
    const line = Buffer.from(lines[at]!);
    const quote = line.indexOf('"', Math.floor(random.next() * line.length));
    const cut = quote > 0 ? quote + 1 : Math.floor(line.length / 2);
    const invalid = Buffer.from(random.pick([[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x00]]));
    const edited = Buffer.concat([line.subarray(0, cut), invalid, line.subarray(cut)]);
    const before = Buffer.from(lines.slice(0, at).map((entry) => `${entry}\n`).join(''));
    const after = Buffer.from(lines.slice(at + 1).map((entry) => `${entry}\n`).join(''));
    return { description: `bytes ${invalid.toString('hex')} inside line ${at + 1}`, bytes: encode(bundle, Buffer.concat([before, edited, Buffer.from('\n'), after])) };
  },
  'deep nesting': (random, bundle) => {
    const lines = bundle.lines.slice(0, -1);
    const at = bodyLine(random, lines, 'record');
    const depth = random.pick([2_000, 50_000]);
    const line = lines[at]!;
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    lines[at] = line.replace(/"text":("(?:[^"\\]|\\.)*")|"value":([^,}]+)/, (match) => `${match.slice(0, match.indexOf(':') + 1)}${nested}`);
    return { description: `a value on line ${at + 1} nested ${depth} deep, resealed`, bytes: encode(bundle, reseal(lines)) };
  },
  'odd first lines': (random, bundle) => {
    const choice = random.pick(['', '\n', 'null\n', '[]\n', '"assay.bundle"\n', '{}\n', '{"format":"assay.bundle"}\n', `${bundle.lines[0]}`, `${bundle.lines[0]}\n`]);
    return { description: `file is ${JSON.stringify(choice.slice(0, 40))}`, bytes: encode(bundle, choice) };
  },
  'other header versions': (random, bundle) => {
    const lines = bundle.lines.slice(0, -1);
    const version = random.pick([0, 1, 2, 3, '2', 2.5]);
    return { description: `version ${JSON.stringify(version)}, resealed`, bytes: encode(bundle, reseal(lines, (header) => (header.version = version))) };
  },
  'gzip oddities': (random, bundle) => {
    const plain = Buffer.from(joined(bundle.lines.slice(0, -1)));
    const choice = random.pick(['double', 'trailing garbage', 'concatenated', 'magic only']);
    const gz = gzipSync(plain);
    const bytes =
      choice === 'double' ? gzipSync(gz) : choice === 'trailing garbage' ? Buffer.concat([gz, Buffer.from('garbage')]) : choice === 'concatenated' ? Buffer.concat([gz, gz]) : Buffer.from([0x1f, 0x8b]);
    return { description: `gzip: ${choice}`, bytes };
  },
};

export interface ChaosCase {
  readonly index: number;
  readonly bundle: string;
  readonly mutation: string;
  readonly description: string;
  readonly code: number | null;
  readonly stderr: string;
  /** What was wrong with the outcome; empty when it met every promise. */
  readonly violations: readonly string[];
}

export interface ChaosReport {
  readonly seed: number;
  readonly tried: number;
  readonly accepted: number;
  readonly refused: number;
  readonly cases: readonly ChaosCase[];
  readonly violations: readonly ChaosCase[];
}

const CONFIG = `name: bundle-chaos
datasets:
  - { id: arithmetic, path: data.jsonl, input: question, target: answer, idField: id }
models:
  - { id: careful-mock, provider: mock, options: { accuracy: 0.9 } }
evaluators:
  - id: mock-judge
    provider: mock
    options: { reply: '{"correct": true, "clarity": 4}' }
prompt: { system: "Answer with a number.", user: "{{input}}" }
samples: 2
reduce: { kind: majority-vote }
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
judges:
  - id: quality
    kind: rubric
    models: [mock-judge]
    traits:
      - { name: correct, kind: boolean, description: "Is it right?" }
      - { name: clarity, kind: score, min: 1, max: 5, description: "How clear?" }
`;

/** The files that make up a SQLite store, with their bytes (the shared-memory index is not content). */
function storeBytes(directory: string): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(directory).sort()) {
    if (name.endsWith('-shm')) continue;
    hash.update(name).update('\0').update(readFileSync(join(directory, name))).update('\0');
  }
  return hash.digest('hex');
}

/** Builds the source bundles and a store holding the run through reduce, in `directory`. */
async function prepare(directory: string): Promise<{ bundles: SourceBundle[]; baseline: string }> {
  const rows = readFileSync(ARITHMETIC, 'utf8').trim().split('\n').slice(0, 6);
  writeFileSync(join(directory, 'data.jsonl'), `${rows.join('\n')}\n`);
  writeFileSync(join(directory, 'experiment.yaml'), CONFIG);
  const source = join(directory, 'source.db');
  const experiment = Experiment.fromConfig(join(directory, 'experiment.yaml'));
  await experiment.run({ runtime: { store: source } });
  await Experiment.fromConfig(join(directory, 'experiment.yaml')).run({ untilStage: 'reduce', runtime: { store: join(directory, 'baseline', 'store.db') } });
  const store = await openStore(source, { create: false });
  const bundles: SourceBundle[] = [];
  try {
    const { runId } = experiment.compile();
    for (const kind of ARTIFACT_KINDS) {
      for (const gz of [false, true]) {
        const path = join(directory, `${kind}.jsonl${gz ? '.gz' : ''}`);
        await exportBundle(store, runId, kind, path);
        const bytes = readFileSync(path);
        bundles.push({ kind, gz, bytes, lines: (gz ? gunzipSync(bytes) : bytes).toString('utf8').split('\n') });
      }
    }
  } finally {
    await store.close();
  }
  return { bundles, baseline: join(directory, 'baseline') };
}

async function tryCase(index: number, random: Random, bundles: readonly SourceBundle[], baseline: string, directory: string): Promise<ChaosCase> {
  const bundle = random.pick(bundles);
  const mutation = random.pick(Object.keys(MUTATIONS));
  const mutant = MUTATIONS[mutation]!(random, bundle);
  const folder = join(directory, `case-${index}`);
  const storeFolder = join(folder, 'store');
  mkdirSync(storeFolder, { recursive: true });
  for (const name of readdirSync(baseline)) copyFileSync(join(baseline, name), join(storeFolder, name));
  const file = join(folder, `mutant.jsonl${bundle.gz ? '.gz' : ''}`);
  writeFileSync(file, mutant.bytes);
  const before = storeBytes(storeFolder);
  const result = await runCli(['import', file, '--store', join(storeFolder, 'store.db')], { cwd: folder });
  const violations: string[] = [];
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  if (result.code !== 0 && result.code !== 1) violations.push(`exit ${String(result.code)}${result.signal ? ` (${result.signal})` : ''}`);
  if (/\n\s+at /.test(result.stderr) || /internal error/.test(result.stderr)) violations.push('stack trace or internal error on stderr');
  if (result.code === 1) {
    if (lines.length !== 1) violations.push(`${lines.length} stderr lines`);
    if (!lines[0]?.startsWith('assay: error: ')) violations.push('stderr does not start with "assay: error: "');
  }
  if (result.code !== 0 && storeBytes(storeFolder) !== before) violations.push("a refused import changed the store's bytes");
  if (result.code === 0) {
    if (lines.some((line) => !line.startsWith('assay: warning: '))) violations.push('an accepted import printed something other than warnings');
    for (const command of [['quickcheck'], ['inspect', 'state'], ['export', bundle.kind]]) {
      const runId = /run ([0-9a-f]{12})/.exec(result.stdout)?.[1] ?? '';
      const extra = command[0] === 'export' ? ['-o', join(folder, 'again.jsonl')] : ['--json'];
      const after = await runCli([...command, runId, '--store', join(storeFolder, 'store.db'), ...extra], { cwd: folder });
      if (after.code !== 0) violations.push(`after the import, assay ${command.join(' ')} exits ${String(after.code)}: ${after.stderr.split('\n')[0]}`);
    }
  }
  if (violations.length === 0) rmSync(folder, { recursive: true, force: true });
  return { index, bundle: `${bundle.kind}${bundle.gz ? '.gz' : ''}`, mutation, description: mutant.description, code: result.code, stderr: result.stderr.slice(0, 2000), violations };
}

/**
 * Mutates bundles `count` times (seeded) and imports each. Returns every case and the ones that broke a
 * promise; folders of broken cases are kept under the returned directory for a look.
 */
export async function runBundleMutations(options: { count: number; seed?: number; parallel?: number; onCase?: (entry: ChaosCase) => void }): Promise<ChaosReport & { directory: string }> {
  const seed = options.seed ?? 1;
  const directory = mkdtempSync(join(tmpdir(), 'assay-bundle-chaos-'));
  const { bundles, baseline } = await prepare(directory);
  const random = new Random(seed);
  // Every case draws its own seed first, so a case is reproducible whatever runs beside it.
  const seeds = Array.from({ length: options.count }, () => Math.floor(random.next() * 2 ** 32));
  const cases: ChaosCase[] = [];
  let next = 0;
  const worker = async () => {
    while (next < seeds.length) {
      const index = next++;
      const entry = await tryCase(index, new Random(seeds[index]!), bundles, baseline, directory);
      cases.push(entry);
      options.onCase?.(entry);
    }
  };
  await Promise.all(Array.from({ length: options.parallel ?? 2 }, worker));
  cases.sort((left, right) => left.index - right.index);
  const violations = cases.filter((entry) => entry.violations.length > 0);
  if (violations.length === 0) rmSync(directory, { recursive: true, force: true });
  return { seed, tried: cases.length, accepted: cases.filter((entry) => entry.code === 0).length, refused: cases.filter((entry) => entry.code === 1).length, cases, violations, directory };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argument = (name: string, fallback: number) => {
    const at = process.argv.indexOf(name);
    return at > 0 ? Number(process.argv[at + 1]) : fallback;
  };
  const report = await runBundleMutations({
    count: argument('--count', 300),
    seed: argument('--seed', 1),
    onCase: (entry) => {
      if (entry.violations.length > 0) process.stdout.write(`#${entry.index} ${entry.bundle} ${entry.mutation} (${entry.description}): ${entry.violations.join('; ')}\n  ${entry.stderr.split('\n')[0]}\n`);
    },
  });
  process.stdout.write(`bundle mutations: ${report.tried} tried (seed ${report.seed}), ${report.accepted} accepted, ${report.refused} refused, ${report.violations.length} broke a promise\n`);
  if (report.violations.length > 0) process.stdout.write(`cases kept in ${report.directory}\n`);
  process.exitCode = report.violations.length > 0 ? 1 : 0;
}

