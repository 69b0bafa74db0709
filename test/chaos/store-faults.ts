import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { openStore } from '../../src/stores/open-store.js';
import { runCli, type CliResult } from '../support/cli.js';
import { FakeOpenAIServer, solve } from '../support/openai-server.js';
import { httpConfig, Workspace } from '../support/workspace.js';

/** Mounting a small tmpfs needs root; without it the disk scenarios cannot run. */
export const canMount = process.getuid?.() === 0;

function mount(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
}
const remount = (dir: string, options: string) => execFileSync('mount', ['-o', `remount,${options}`, dir]);
const unmount = (dir: string) => execFileSync('umount', ['-l', dir]);

/** The error lines of a command's stderr (warnings aside), and whether a stack trace leaked. */
export function errorLines(stderr: string): { lines: string[]; stack: boolean } {
  return { lines: stderr.trim().split('\n').filter((line) => line !== '' && !line.startsWith('assay: warning:')), stack: /\n\s+at /.test(stderr) };
}

/** A server whose long answers make a few hundred tasks outgrow a small disk. */
async function longAnswers(): Promise<FakeOpenAIServer> {
  return new FakeOpenAIServer((request) => ({ kind: 'answer', text: `${'Let me think about it step by step. '.repeat(60)}${solve(request.prompt)}` })).start();
}

/** The tasks whose answer a progressive save's `.tmp` holds (its task keys end in `/q<n>/local/default/0`). */
function loggedAnswers(tmpPath: string): Set<number> {
  const stored = new Set<number>();
  for (const line of readFileSync(tmpPath, 'utf8').split('\n')) {
    let record: { type?: string; task?: string };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      continue; // a line torn by the full disk holds nothing
    }
    const match = record.type === 'generation' ? /\/q(\d+)\//.exec(record.task ?? '') : null;
    if (match) stored.add(Number(match[1]) - 1);
  }
  return stored;
}

/** The tasks whose answer a store holds. */
async function storedAnswers(path: string, tasks: number): Promise<Set<number>> {
  const store = await openStore(path, { create: false });
  try {
    const [run] = await store.listRuns();
    if (!run) return new Set();
    const artifacts = await store.loadArtifacts(run.runId, Array.from({ length: tasks }, (_, ord) => ord));
    return new Set([...artifacts].filter(([, task]) => task.candidates[0] !== null).map(([ord]) => ord));
  } finally {
    await store.close();
  }
}

const question = (ord: number) => `What is ${11 + ord} + ${3 * (ord + 1) + 7}?`;

export interface DiskFullFigures {
  readonly size: string;
  /** The store: a SQLite file, or a progressive save's plain files. */
  readonly store: 'sqlite' | 'progressive-save';
  readonly tasks: number;
  readonly full: CliResult;
  /** Questions asked before the disk filled, and again after it was freed. */
  readonly askedBefore: number;
  readonly askedAfter: number;
  readonly after: CliResult;
  /** Tasks done once space was freed and the same command ran again. */
  readonly doneAfter: number;
  /** Answers that were stored when the disk filled and asked for again afterwards: must be 0. */
  readonly savedAskedAgain: number;
  readonly storedBeforeFreeing: number;
}

/** A run on a tmpfs of `size` fills it; the disk is grown; the same command runs again. */
export async function diskFullScenario(size: string, options: { tasks?: number; progressive?: boolean } = {}): Promise<DiskFullFigures> {
  const tasks = options.tasks ?? 400;
  const workspace = new Workspace();
  const server = await longAnswers();
  const disk = workspace.path('disk');
  mount(disk, size);
  try {
    workspace.arithmetic('questions.jsonl', tasks);
    workspace.write('exp.yaml', httpConfig(server.baseURL, { concurrency: 8 }).replace('store: store.db', `store: ${disk}/store.db`));
    const output = `${disk}/results.json`;
    const first = options.progressive ? ['run', 'exp.yaml', '--quiet', '--output', output, '--progressive-save'] : ['run', 'exp.yaml', '--quiet'];
    const full = await runCli(first, { cwd: workspace.dir });
    const askedBefore = server.requests.length;
    remount(disk, 'size=64m');
    // What the store held when the disk filled (read now that the WAL can be opened).
    const stored = options.progressive ? loggedAnswers(`${output}.tmp`) : await storedAnswers(`${disk}/store.db`, tasks);
    const countsBefore = server.countsByPrompt();
    const again = options.progressive ? ['run', '--resume', `${output}.state`, '--json'] : ['run', 'exp.yaml', '--json'];
    const after = await runCli(again, { cwd: workspace.dir });
    const doneAfter = after.code === 0 ? (JSON.parse(after.stdout) as { done: number }).done : -1;
    const counts = server.countsByPrompt();
    const savedAskedAgain = [...stored].filter((ord) => (counts.get(question(ord)) ?? 0) > (countsBefore.get(question(ord)) ?? 0)).length;
    return {
      size,
      store: options.progressive ? 'progressive-save' : 'sqlite',
      tasks,
      full,
      askedBefore,
      askedAfter: server.requests.length - askedBefore,
      after,
      doneAfter,
      savedAskedAgain,
      storedBeforeFreeing: stored.size,
    };
  } finally {
    unmount(disk);
    await server.stop();
    workspace.remove();
  }
}

export interface ReadOnlyFigures {
  readonly refused: CliResult;
  readonly bytesUnchanged: boolean;
  readonly resumed: CliResult;
}

/** A store on a file system remounted read-only, then writable again. */
export async function readOnlyScenario(): Promise<ReadOnlyFigures> {
  const workspace = new Workspace();
  const server = await longAnswers();
  const disk = workspace.path('disk');
  mount(disk, '16m');
  try {
    workspace.arithmetic('questions.jsonl', 10);
    workspace.write('exp.yaml', httpConfig(server.baseURL).replace('store: store.db', `store: ${disk}/store.db`));
    const first = await runCli(['run', 'exp.yaml', '--until-stage', 'generate', '--quiet'], { cwd: workspace.dir });
    if (first.code !== 0) throw new Error(`could not set up the read-only scenario: ${first.stderr}`);
    const before = readFileSync(`${disk}/store.db`);
    remount(disk, 'ro');
    const refused = await runCli(['run', 'exp.yaml', '--quiet'], { cwd: workspace.dir });
    const bytesUnchanged = readFileSync(`${disk}/store.db`).equals(before);
    remount(disk, 'rw');
    const resumed = await runCli(['run', 'exp.yaml', '--json'], { cwd: workspace.dir });
    return { refused, bytesUnchanged, resumed };
  } finally {
    unmount(disk);
    await server.stop();
    workspace.remove();
  }
}

export interface GarbageFigures {
  readonly results: readonly { readonly command: string; readonly result: CliResult }[];
  readonly bytesUnchanged: boolean;
}

/** A store file replaced by garbage, then opened by the commands a user would try. */
export async function garbageStoreScenario(): Promise<GarbageFigures> {
  const workspace = new Workspace();
  const server = await new FakeOpenAIServer().start();
  try {
    workspace.arithmetic('questions.jsonl', 5);
    workspace.write('exp.yaml', httpConfig(server.baseURL));
    const first = await runCli(['run', 'exp.yaml', '--quiet'], { cwd: workspace.dir });
    if (first.code !== 0) throw new Error(`could not set up the garbage scenario: ${first.stderr}`);
    rmSync(workspace.path('store.db-wal'), { force: true });
    rmSync(workspace.path('store.db-shm'), { force: true });
    const garbage = Buffer.alloc(64 * 1024, 0x5a);
    writeFileSync(workspace.path('store.db'), garbage);
    const results = [];
    for (const command of [['run', 'exp.yaml'], ['quickcheck', 'exp.yaml'], ['inspect', 'state', 'exp.yaml'], ['runs', '--store', 'store.db']]) {
      results.push({ command: command.join(' '), result: await runCli(command, { cwd: workspace.dir }) });
    }
    return { results, bytesUnchanged: readFileSync(workspace.path('store.db')).equals(garbage) };
  } finally {
    await server.stop();
    workspace.remove();
  }
}
