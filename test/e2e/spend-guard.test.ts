import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { FakeOpenAIServer } from '../support/openai-server.js';
import { httpConfig, Workspace } from '../support/workspace.js';

// The fake server bills a quarter token per character of prompt and of reply; at $1,000 per million tokens
// each of these questions costs about a cent, and its worst case (prompt plus 64 output tokens) seven cents.
const PRICED = `  - id: local
    provider: openai-compatible
    model: test-model
    price: { input: 1000, output: 1000 }`;

describe('the spending cap', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;

  beforeEach(async () => {
    workspace = new Workspace();
    server = await new FakeOpenAIServer().start();
    workspace.arithmetic('questions.jsonl', 40);
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  it('stops before the cost would pass the cap, says so, never calls it complete, and goes on under a higher cap', async () => {
    workspace.write('exp.yaml', httpConfig(server.baseURL, { concurrency: 2 }).replace(/  - id: local\n    provider: openai-compatible\n    model: test-model/, PRICED));
    const capped = await runCli(['run', 'exp.yaml', '--max-cost', '0.2', '--json'], { cwd: workspace.dir });
    expect(capped.code, capped.stderr).toBe(1);
    expect(capped.stderr).toMatch(/stopped at the spending cap: \d+ of 40 tasks are done and saved; raise --max-cost/);
    const summary = JSON.parse(capped.stdout);
    expect(summary).toMatchObject({ status: 'interrupted', interruptReason: 'budget' });
    expect(summary.done).toBeGreaterThan(0);
    expect(summary.done).toBeLessThan(40);
    expect(summary.cost.total).toBeLessThanOrEqual(0.2);
    expect(server.requests.length).toBe(summary.done);

    const check = await runCli(['quickcheck', 'exp.yaml'], { cwd: workspace.dir });
    expect(check.stdout).toMatch(/status\s+interrupted \(budget: stopped at the spending cap\)/);

    const more = await runCli(['run', 'exp.yaml', '--max-cost', '5', '--json'], { cwd: workspace.dir });
    expect(more.code, more.stderr).toBe(0);
    expect(JSON.parse(more.stdout)).toMatchObject({ status: 'completed', done: 40, interruptReason: null });
    expect([...server.countsByPrompt().values()].every((count) => count === 1)).toBe(true);
  });

  it('reads the cap from runtime.maxCostUsd, and refuses a cap it cannot keep for an unpriced model', async () => {
    workspace.write('priced.yaml', httpConfig(server.baseURL).replace(/  - id: local\n    provider: openai-compatible\n    model: test-model/, PRICED).replace('runtime:\n', 'runtime:\n  maxCostUsd: 0.1\n'));
    const capped = await runCli(['run', 'priced.yaml', '--json'], { cwd: workspace.dir });
    expect(capped.code, capped.stderr).toBe(1);
    expect(JSON.parse(capped.stdout)).toMatchObject({ status: 'interrupted', interruptReason: 'budget' });

    workspace.write('unpriced.yaml', httpConfig(server.baseURL, { name: 'unpriced' }).replace('store: store.db', 'store: other.db'));
    const asked = server.requests.length;
    const refused = await runCli(['run', 'unpriced.yaml', '--max-cost', '1'], { cwd: workspace.dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      "assay: error: runtime.maxCostUsd is set, but nothing says what 'local' cost; set price: { input, output } (USD per million tokens) on those models, or drop the cap",
    );
    expect(server.requests.length).toBe(asked);
  });
});
