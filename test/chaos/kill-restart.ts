import Database from 'better-sqlite3';
import { openStore } from '../../src/stores/open-store.js';
import { runCli, startCli, waitFor } from '../support/cli.js';
import { judgeBehaviour } from '../support/judge-behaviour.js';
import { FakeOpenAIServer, type Behaviour, type RecordedRequest } from '../support/openai-server.js';
import { Workspace } from '../support/workspace.js';
import { Random } from './random.js';

/** The five model roles of the chaos run, by the model name the server sees. */
export const ROLES = ['solver', 'chooser', 'parser', 'judge-a', 'judge-b'] as const;
export type Role = (typeof ROLES)[number];

export interface KillRestartOptions {
  readonly kills: number;
  readonly items: number;
  readonly concurrency: number;
  readonly seed: number;
  /** Progress lines, for the chaos runner. */
  readonly log?: (line: string) => void;
}

export interface KillRestartFigures {
  readonly kills: number;
  /** Kills that landed after the process had asked a model something (the rest hit it while starting). */
  readonly killsMidWork: number;
  readonly tasks: number;
  readonly concurrency: number;
  /** Requests per role in the uninterrupted reference run, and in the killed-and-restarted one. */
  readonly reference: Readonly<Record<Role, number>>;
  readonly interrupted: Readonly<Record<Role, number>>;
  /** Requests asked again per role (interrupted minus reference). */
  readonly repeats: Readonly<Record<Role, number>>;
  /** Whether every task's final artifacts equal the reference run's. */
  readonly resultsEqual: boolean;
  readonly differences: readonly string[];
  /** Stored events after each restart: never smaller than the one before. */
  readonly eventCounts: readonly number[];
  readonly eventsNeverDecreased: boolean;
  readonly exitCodes: Readonly<Record<string, number>>;
}

function config(baseURL: string, store: string, concurrency: number): string {
  const model = (id: string) => `  - { id: ${id}, provider: openai-compatible, model: ${id}, baseURL: ${baseURL} }`;
  return `name: chaos
datasets: [ { id: arith, path: rows.jsonl, input: question, target: expected, idField: id } ]
models:
${model('solver')}
evaluators:
${model('chooser')}
${model('parser')}
${model('judge-a')}
${model('judge-b')}
samples: 3
reduce: { kind: best-of, model: chooser }
parse:
  kind: template
  model: parser
  fields:
    - { name: answer, type: number, description: "the final number" }
    - { name: unit, type: string, description: "the unit, or none" }
metrics:
  - kind: template-verify
    name: verified
    fields: { answer: { check: numeric }, unit: { check: case-insensitive } }
    combine: all
judges:
  - id: panel
    kind: rubric
    models: [judge-a, judge-b]
    traits:
      - { name: correct, kind: boolean, description: "Is the final number right?" }
      - { name: clarity, kind: score, min: 1, max: 5, description: "How clear is the answer?" }
runtime: { concurrency: ${concurrency}, store: ${store}, maxAttempts: 3, retryBaseDelayMs: 5 }
`;
}

/**
 * The chaos server: every role answers deterministically from the request alone (the answering model gets
 * one sample in three wrong, chosen by the request's seed), after a short random delay, so the same run
 * gives the same results however often it is interrupted.
 */
function chaosBehaviour(random: Random): Behaviour {
  const judge = judgeBehaviour();
  return (request, server) => {
    const delayMs = random.int(5, 40);
    if (request.model === 'solver') {
      const match = /(\d+) \+ (\d+)/.exec(request.prompt)!;
      const seed = Number(request.body.seed ?? 0);
      const value = Number(match[1]) + Number(match[2]) + (seed % 3 === 0 ? 1 : 0);
      return { kind: 'answer', text: `Adding them up, the answer is ${value}.`, delayMs };
    }
    const reply = judge(request, server);
    return { ...reply, delayMs } as ReturnType<Behaviour>;
  };
}

function countByRole(requests: readonly RecordedRequest[]): Record<Role, number> {
  const counts = Object.fromEntries(ROLES.map((role) => [role, 0])) as Record<Role, number>;
  for (const request of requests) if (request.model in counts) counts[request.model as Role]++;
  return counts;
}

function writeRows(workspace: Workspace, items: number): void {
  const lines = Array.from({ length: items }, (_, offset) => {
    const index = offset + 1;
    return JSON.stringify({ id: `q${index}`, question: `What is ${10 + index} + ${3 * index + 7}?`, expected: { answer: 10 + index + 3 * index + 7, unit: 'NONE' } });
  });
  workspace.write('rows.jsonl', `${lines.join('\n')}\n`);
}

/** The results that must not depend on interruptions: per task, the answers, the reduction, the parse, scores and judgments. */
async function finalResults(path: string): Promise<Map<string, string>> {
  const store = await openStore(path, { create: false });
  try {
    const [run] = await store.listRuns();
    const results = new Map<string, string>();
    const ords = Array.from({ length: run!.taskCount }, (_, ord) => ord);
    for (const [ord, artifacts] of await store.loadArtifacts(run!.runId, ords)) {
      results.set(
        String(ord),
        JSON.stringify({
          candidates: artifacts.candidates.map((candidate) => candidate?.text ?? null),
          reduced: artifacts.reduced?.text ?? null,
          parsed: artifacts.parsed,
          scores: artifacts.scores,
          judgments: artifacts.judgments?.map((judgment) => ({ scores: judgment.scores, replies: judgment.executions.map((execution) => execution.rawResponse) })),
          done: artifacts.progress.nextStage,
        }),
      );
    }
    return results;
  } finally {
    await store.close();
  }
}

function countEvents(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/**
 * Kills `assay run` with SIGKILL at random moments, `kills` times, restarting it after each kill, then lets
 * it finish; runs the same experiment once without interruption against the same server as the reference.
 */
export async function killRestartScenario(options: KillRestartOptions): Promise<KillRestartFigures> {
  const random = new Random(options.seed);
  const log = options.log ?? (() => undefined);
  const workspace = new Workspace();
  const server = await new FakeOpenAIServer(chaosBehaviour(random)).start();
  const exitCodes: Record<string, number> = {};
  const note = (key: string) => (exitCodes[key] = (exitCodes[key] ?? 0) + 1);
  try {
    writeRows(workspace, options.items);
    workspace.write('reference.yaml', config(server.baseURL, 'reference.db', options.concurrency));
    workspace.write('chaos.yaml', config(server.baseURL, 'chaos.db', options.concurrency));

    const reference = await runCli(['run', 'reference.yaml', '--quiet'], { cwd: workspace.dir });
    if (reference.code !== 0) throw new Error(`the reference run failed: ${reference.stderr}`);
    const referenceCounts = countByRole(server.requests);
    server.requests.length = 0;

    const eventCounts: number[] = [];
    let killsMidWork = 0;
    for (let kill = 0; kill < options.kills; kill++) {
      const before = server.requests.length;
      const running = startCli(['run', 'chaos.yaml', '--quiet'], { cwd: workspace.dir });
      // Most kills land while the process is asking models (a random moment after its first request); one in
      // five lands anywhere in its start-up, before or while it opens the store.
      if (random.next() < 0.2) {
        await Promise.race([new Promise((resolve) => setTimeout(resolve, random.int(0, 600))), running.done]);
      } else {
        await Promise.race([waitFor(() => server.requests.length > before, 10_000, 'a first request').catch(() => undefined), running.done]);
        await Promise.race([new Promise((resolve) => setTimeout(resolve, random.int(0, 700))), running.done]);
      }
      if (server.requests.length > before) killsMidWork++;
      running.child.kill('SIGKILL');
      const result = await running.done;
      note(result.signal ?? `exit ${result.code}`);
      if (workspace.exists('chaos.db')) eventCounts.push(countEvents(workspace.path('chaos.db')));
      if ((kill + 1) % 10 === 0) log(`  ${kill + 1} kills, ${server.requests.length} requests so far`);
    }
    const last = await runCli(['run', 'chaos.yaml', '--quiet'], { cwd: workspace.dir });
    note(`final exit ${last.code}`);
    if (last.code !== 0) throw new Error(`the run did not finish after the kills: ${last.stderr}`);
    eventCounts.push(countEvents(workspace.path('chaos.db')));

    const interruptedCounts = countByRole(server.requests);
    const expected = await finalResults(workspace.path('reference.db'));
    const actual = await finalResults(workspace.path('chaos.db'));
    const differences = [...expected].filter(([ord, value]) => actual.get(ord) !== value).map(([ord]) => `task ${ord}`);
    const repeats = Object.fromEntries(ROLES.map((role) => [role, interruptedCounts[role] - referenceCounts[role]])) as Record<Role, number>;
    return {
      kills: options.kills,
      killsMidWork,
      tasks: options.items,
      concurrency: options.concurrency,
      reference: referenceCounts,
      interrupted: interruptedCounts,
      repeats,
      resultsEqual: differences.length === 0 && actual.size === expected.size,
      differences,
      eventCounts,
      eventsNeverDecreased: eventCounts.every((count, index) => index === 0 || count >= eventCounts[index - 1]!),
      exitCodes,
    };
  } finally {
    await server.stop();
    workspace.remove();
  }
}
