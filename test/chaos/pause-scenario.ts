import { openStore } from '../../src/stores/open-store.js';
import { startCli, waitFor, type CliResult } from '../support/cli.js';
import { FakeOpenAIServer, solve } from '../support/openai-server.js';
import { httpConfig, Workspace } from '../support/workspace.js';

export interface PauseOptions {
  readonly tasks: number;
  readonly concurrency: number;
  /** How long the first process stays stopped; its lease is 1 s. */
  readonly pauseMs: number;
}

export interface PauseFigures {
  readonly tasks: number;
  readonly concurrency: number;
  readonly paused: CliResult;
  readonly second: CliResult;
  /** Model calls each process made (its `--json` summary). */
  readonly callsByProcess: readonly [number, number];
  /** Distinct questions asked, and how many were asked more than once (and how often at most). */
  readonly asked: number;
  readonly repeated: number;
  readonly maxAskedPerQuestion: number;
  /** Most answers stored for one task: 1 when no result was written twice. */
  readonly maxAnswersPerTask: number;
  readonly finalStatus: string;
}

/**
 * One process works a run, is stopped (SIGSTOP) past its lease while a second process joins, and is then
 * continued (SIGCONT) while the second still works: the scenario of a laptop lid closed mid-run.
 */
export async function pauseScenario(options: PauseOptions): Promise<PauseFigures> {
  const workspace = new Workspace();
  const server = await new FakeOpenAIServer((request) => ({ kind: 'answer', text: solve(request.prompt), delayMs: 60 })).start();
  try {
    workspace.arithmetic('questions.jsonl', options.tasks);
    workspace.write('exp.yaml', httpConfig(server.baseURL, { concurrency: options.concurrency }).replace('runtime:\n', 'runtime:\n  leaseMs: 1000\n'));
    const paused = startCli(['run', 'exp.yaml', '--json'], { cwd: workspace.dir });
    await waitFor(() => server.requests.length >= 3 * options.concurrency, 30_000, 'the first process to start answering');
    paused.child.kill('SIGSTOP');
    const askedBeforePause = server.requests.length;
    await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    const second = startCli(['run', 'exp.yaml', '--json'], { cwd: workspace.dir });
    await waitFor(() => server.requests.length >= askedBeforePause + 20, 30_000, 'the second process to take over');
    paused.child.kill('SIGCONT');
    const [first, other] = await Promise.all([paused.done, second.done]);
    const calls = (result: CliResult) => (result.code === 0 ? (JSON.parse(result.stdout) as { modelCalls: number }).modelCalls : -1);
    const counts = [...server.countsByPrompt().values()];
    const store = await openStore(workspace.path('store.db'), { create: false });
    let maxAnswersPerTask = 0;
    let finalStatus = '';
    try {
      const [run] = await store.listRuns();
      finalStatus = run!.status;
      for (let ord = 0; ord < options.tasks; ord++) {
        const answers = (await store.readTaskEvents(run!.runId, ord)).filter((event) => event.type === 'generate-completed').length;
        maxAnswersPerTask = Math.max(maxAnswersPerTask, answers);
      }
    } finally {
      await store.close();
    }
    return {
      tasks: options.tasks,
      concurrency: options.concurrency,
      paused: first,
      second: other,
      callsByProcess: [calls(first), calls(other)],
      asked: counts.length,
      repeated: counts.filter((count) => count > 1).length,
      maxAskedPerQuestion: Math.max(...counts),
      maxAnswersPerTask,
      finalStatus,
    };
  } finally {
    await server.stop();
    workspace.remove();
  }
}
