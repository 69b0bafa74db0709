import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAIServer, solve } from '../support/openai-server.js';
import { runCli, startCli, waitFor } from '../support/cli.js';
import { httpConfig, Workspace } from '../support/workspace.js';

describe('surviving interruptions', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;

  beforeEach(async () => {
    workspace = new Workspace();
    server = await new FakeOpenAIServer().start();
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  it('loses nothing to kill -9: the same command resumes and repeats at most the calls in flight', async () => {
    const concurrency = 4;
    workspace.arithmetic('questions.jsonl', 150);
    workspace.write('experiment.yaml', httpConfig(server.baseURL, { concurrency }));
    server.behaviour = (request) => ({ kind: 'answer', text: solve(request.prompt), delayMs: 25 });

    const first = startCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir });
    await waitFor(() => server.requests.length >= 60, 30_000, '60 requests');
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    const requestsBeforeKill = server.requests.length;

    const state = await runCli(['inspect', 'state', 'experiment.yaml', '--json'], { cwd: workspace.dir });
    expect(state.code, state.stderr).toBe(0);
    const interrupted = JSON.parse(state.stdout);
    expect(interrupted.stages.generate.completed).toBeGreaterThanOrEqual(requestsBeforeKill - concurrency);
    expect(interrupted.stages.generate.completed).toBeLessThan(150);

    const second = await runCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir });
    expect(second.code, second.stderr).toBe(0);
    const summary = JSON.parse(second.stdout);
    expect(summary).toMatchObject({ status: 'completed', action: 'resumed', tasks: 150, done: 150, failed: 0 });
    expect(summary.scores[0]).toMatchObject({ metric: 'accuracy', mean: 1, n: 150 });

    const counts = server.countsByPrompt();
    expect(counts.size).toBe(150);
    const repeated = [...counts.values()].filter((count) => count > 1);
    expect(repeated.every((count) => count === 2)).toBe(true);
    expect(repeated.length).toBeLessThanOrEqual(concurrency);
    expect(summary.modelCalls).toBe(150 - interrupted.stages.generate.completed);
  });

  it.each([
    ['SIGINT', 'Ctrl+C', 130],
    ['SIGTERM', 'SIGTERM', 143],
  ] as const)('stops on %s (%s) after letting calls in flight finish, exits %i and resumes later', async (signal, _name, code) => {
    workspace.arithmetic('questions.jsonl', 30);
    workspace.write('experiment.yaml', httpConfig(server.baseURL, { concurrency: 2 }));
    server.behaviour = (request) => ({ kind: 'answer', text: solve(request.prompt), delayMs: 150 });

    const first = startCli(['run', 'experiment.yaml'], { cwd: workspace.dir });
    await waitFor(() => server.requests.length >= 4, 30_000, '4 requests');
    first.child.kill(signal);
    const stopped = await first.done;
    expect(stopped.code).toBe(code);
    expect(stopped.stderr).toMatch(/resume with: assay run experiment\.yaml/);
    const requestsAtStop = server.requests.length;
    expect(requestsAtStop).toBeLessThan(30);

    const state = JSON.parse((await runCli(['inspect', 'state', 'experiment.yaml', '--json'], { cwd: workspace.dir })).stdout);
    expect(state.status).toBe('interrupted');
    // Calls in flight were allowed to finish: every request made so far has a stored answer.
    expect(state.stages.generate.completed).toBe(requestsAtStop);

    const second = await runCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ status: 'completed', done: 30 });
    expect([...server.countsByPrompt().values()].every((count) => count === 1)).toBe(true);
  });

  it('a replay of a run killed part way leaves it as the kill did, not "interrupted (user)"; the run then resumes', async () => {
    workspace.arithmetic('questions.jsonl', 120);
    workspace.write('experiment.yaml', httpConfig(server.baseURL, { concurrency: 4 }));
    server.behaviour = (request) => ({ kind: 'answer', text: solve(request.prompt), delayMs: 25 });
    const first = startCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir });
    await waitFor(() => server.requests.length >= 40, 30_000, '40 requests');
    first.child.kill('SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');
    const status = async () => {
      const result = await runCli(['status', 'experiment.yaml', '--json'], { cwd: workspace.dir });
      expect(result.code, result.stderr).toBe(0);
      const parsed = JSON.parse(result.stdout) as { status: string; interruptReason: string | null; done: number };
      return { status: parsed.status, interruptReason: parsed.interruptReason, done: parsed.done };
    };
    const killed = await status();
    expect(killed).toMatchObject({ status: 'running', interruptReason: null });
    // Scoring again the tasks already answered leaves the others to be answered: nobody stopped anything.
    const replay = await runCli(['replay', 'experiment.yaml', '--stage', 'score', '--json'], { cwd: workspace.dir });
    expect(replay.code, replay.stderr).toBe(0);
    const replayed = JSON.parse(replay.stdout) as { status: string; interruptReason: string | null; done: number };
    expect({ status: replayed.status, interruptReason: replayed.interruptReason, done: replayed.done }).toEqual(killed);
    expect(await status()).toEqual(killed);
    const resumed = await runCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: 'completed', done: 120 });
  });

  it('lets two processes share one run without repeating any call', async () => {
    workspace.arithmetic('questions.jsonl', 80);
    workspace.write('experiment.yaml', httpConfig(server.baseURL, { concurrency: 3 }));
    server.behaviour = (request) => ({ kind: 'answer', text: solve(request.prompt), delayMs: 20 });

    const [left, right] = await Promise.all([
      runCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir }),
      runCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir }),
    ]);
    expect(left.code, left.stderr).toBe(0);
    expect(right.code, right.stderr).toBe(0);
    const counts = server.countsByPrompt();
    expect(counts.size).toBe(80);
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    const summaries = [JSON.parse(left.stdout), JSON.parse(right.stdout)];
    expect(summaries[0].modelCalls + summaries[1].modelCalls).toBe(80);
    const state = JSON.parse((await runCli(['inspect', 'state', 'experiment.yaml', '--json'], { cwd: workspace.dir })).stdout);
    expect(state).toMatchObject({ status: 'completed', done: 80, failed: 0 });
  });
});
