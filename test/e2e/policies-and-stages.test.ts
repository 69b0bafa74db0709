import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAIServer } from '../support/openai-server.js';
import { runCli } from '../support/cli.js';
import { httpConfig, Workspace } from '../support/workspace.js';

describe('existing runs and stage limits', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;
  const run = async (...args: string[]) => {
    const result = await runCli(['run', 'experiment.yaml', '--json', ...args], { cwd: workspace.dir });
    return { ...result, summary: result.code === 0 || result.code === 130 ? JSON.parse(result.stdout) : undefined };
  };

  beforeEach(async () => {
    workspace = new Workspace();
    server = await new FakeOpenAIServer().start();
    workspace.arithmetic('questions.jsonl', 10);
    workspace.write('experiment.yaml', httpConfig(server.baseURL));
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  it('auto reuses a complete run without calling the model again', async () => {
    expect((await run()).summary.action).toBe('created');
    const again = await run();
    expect(again.code).toBe(0);
    expect(again.summary).toMatchObject({ action: 'reused', status: 'completed', modelCalls: 0, done: 10 });
    expect(server.requests).toHaveLength(10);
  });

  it('error refuses an existing run with one line and exit 1', async () => {
    await run();
    const refused = await run('--existing-run-policy', 'error');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^assay: error: run [0-9a-f]{64} already exists \(status completed\)/);
    expect(server.requests).toHaveLength(10);
  });

  it('rerun clears the run and executes it again', async () => {
    await run();
    const rerun = await run('--existing-run-policy', 'rerun');
    expect(rerun.code).toBe(0);
    expect(rerun.summary).toMatchObject({ action: 'rerun', status: 'completed', modelCalls: 10, done: 10 });
    expect(server.requests).toHaveLength(20);
    const history = await runCli(['runs', '--store', 'store.db', '--json'], { cwd: workspace.dir });
    expect(JSON.parse(history.stdout)).toHaveLength(1);
  });

  it('stops after a stage and continues downstream later with no new calls', async () => {
    const generated = await run('--until-stage', 'generate');
    expect(generated.code).toBe(0);
    expect(generated.summary).toMatchObject({ status: 'completed', completedThroughStage: 'generate', done: 0, scores: [] });
    expect(generated.summary.stages.generate).toEqual({ completed: 10, failed: 0, pending: 0, enabled: true });
    expect(generated.summary.stages.reduce).toEqual({ completed: 0, failed: 0, pending: 10, enabled: true });
    expect(server.requests).toHaveLength(10);

    const state = await runCli(['inspect', 'state', 'experiment.yaml', '--json'], { cwd: workspace.dir });
    const parsed = JSON.parse(state.stdout);
    expect(Object.keys(parsed)).toEqual(expect.arrayContaining(['runId', 'status', 'completedThroughStage', 'tasks', 'stages']));
    expect(parsed).toMatchObject({ status: 'completed', completedThroughStage: 'generate', tasks: 10 });
    expect(Object.keys(parsed.stages)).toEqual(['generate', 'reduce', 'parse', 'score', 'judge']);

    const parsedOnly = await run('--until-stage', 'parse');
    expect(parsedOnly.summary).toMatchObject({ completedThroughStage: 'parse', modelCalls: 0 });
    expect(parsedOnly.summary.stages.score.pending).toBe(10);
    // Read as a person: "0 done" alone would look like nothing happened, so the stage asked for is counted too.
    const text = await runCli(['run', 'experiment.yaml', '--until-stage', 'parse', '--quiet'], { cwd: workspace.dir });
    expect(text.stdout.split('\n')[1]).toMatch(/^ {2}10 tasks · 10 through parse · 0 done · 0 failed · 0 model calls this session · /);

    const finished = await run();
    expect(finished.summary).toMatchObject({ status: 'completed', completedThroughStage: 'score', action: 'resumed', modelCalls: 0, done: 10 });
    expect(finished.summary.scores).toEqual([expect.objectContaining({ model: 'local', prompt: 'default', metric: 'accuracy', mean: 1, n: 10, ciMethod: 'wilson' })]);
    expect(server.requests).toHaveLength(10);
  });

  it('waits as long as Retry-After says on a 429, then succeeds', async () => {
    const rateLimited = new Set<string>();
    server.behaviour = (request) => {
      if (!rateLimited.has(request.prompt)) {
        rateLimited.add(request.prompt);
        return { kind: 'error', status: 429, headers: { 'retry-after': '1' } };
      }
      return { kind: 'answer', text: 'The answer is 0.' };
    };
    const result = await run();
    expect(result.code, result.stderr).toBe(0);
    expect(result.summary).toMatchObject({ status: 'completed', done: 10, failed: 0 });
    for (const prompt of rateLimited) {
      const [limited, retried] = server.requestsFor(prompt);
      expect(retried, prompt).toBeDefined();
      expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(950);
    }
    expect(server.requests).toHaveLength(20);
  });

  it('records persistent 500s as failures, finishes partial, and retries only those next time', async () => {
    const broken = 'What is 12 + 13?';
    server.behaviour = (request) => (request.prompt === broken ? { kind: 'error', status: 500 } : { kind: 'answer', text: 'The answer is 1.' });
    const partial = await run();
    expect(partial.code).toBe(0);
    expect(partial.summary).toMatchObject({ status: 'partial', done: 9, failed: 1 });
    expect(partial.summary.failures).toEqual([{ stage: 'generate', category: 'server_error', count: 1 }]);
    expect(server.requestsFor(broken)).toHaveLength(3);

    const quick = await runCli(['quickcheck', 'experiment.yaml', '--json'], { cwd: workspace.dir });
    const check = JSON.parse(quick.stdout);
    expect(check.failures.examples[0]).toMatchObject({ taskKey: 'arith/q2/local/default/0', stage: 'generate' });
    expect(check.failures.examples[0].failure.attempts).toHaveLength(3);
    expect(check.failures.examples[0].failure.attempts[0]).toMatchObject({ attempt: 1, category: 'server_error', status: 500 });

    server.behaviour = () => ({ kind: 'answer', text: 'The answer is 25.' });
    const healed = await run();
    expect(healed.summary).toMatchObject({ status: 'completed', action: 'resumed', modelCalls: 1, done: 10, failed: 0 });
    expect(server.requestsFor(broken)).toHaveLength(4);
    expect(server.requests).toHaveLength(13);
  });
});
