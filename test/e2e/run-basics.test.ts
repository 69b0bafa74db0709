import { cpSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAIServer } from '../support/openai-server.js';
import { runCli } from '../support/cli.js';
import { httpConfig, Workspace } from '../support/workspace.js';

const EXAMPLES = fileURLToPath(new URL('../../examples', import.meta.url));

describe('assay run', () => {
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

  it('runs the quickstart example end to end on the mock models with no API key', async () => {
    cpSync(EXAMPLES, workspace.path('examples'), { recursive: true });
    const result = await runCli(['run', 'examples/quickstart.yaml', '--json'], { cwd: workspace.dir, env: { OPENAI_API_KEY: undefined } });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.status).toBe('completed');
    expect(summary.tasks).toBe(100);
    expect(summary.stages.score.completed).toBe(100);
    const careful = summary.scores.find((row: { model: string }) => row.model === 'careful-mock');
    const sloppy = summary.scores.find((row: { model: string }) => row.model === 'sloppy-mock');
    expect(careful.n).toBe(50);
    expect(careful.mean).toBeGreaterThan(sloppy.mean);
    // The default store is beside the config, like every other path in it.
    expect(workspace.exists('examples/.assay/assay.db')).toBe(true);
    expect(workspace.exists('.assay')).toBe(false);
  });

  it('asks the model once per task over real HTTP and scores the answers', async () => {
    workspace.arithmetic('questions.jsonl', 12);
    workspace.write('experiment.yaml', httpConfig(server.baseURL));
    const result = await runCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ status: 'completed', tasks: 12, done: 12, failed: 0, completedThroughStage: 'score', modelCalls: 12 });
    expect(summary.stages.generate).toMatchObject({ completed: 12, failed: 0, pending: 0 });
    // 12 of 12 right: Wilson's 95% interval, [1 - 0.2425..., 1] (scipy.stats.binomtest(12, 12).proportion_ci(method='wilson')).
    expect(summary.scores).toEqual([{ model: 'local', prompt: 'default', metric: 'accuracy', mean: 1, n: 12, ci: [expect.closeTo(0.7575059933447592, 12), 1], ciMethod: 'wilson' }]);
    expect(server.requests).toHaveLength(12);
    expect([...server.countsByPrompt().values()].every((count) => count === 1)).toBe(true);
    expect(server.requests[0]!.system).toBe('Answer with a number.');
    expect(server.requests[0]!.body).toMatchObject({ model: 'test-model', temperature: 0, max_tokens: 64 });
  });
});
