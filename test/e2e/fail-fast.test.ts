import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { answerEverything, FakeOpenAIServer } from '../support/openai-server.js';
import { runCli } from '../support/cli.js';
import { httpConfig, Workspace } from '../support/workspace.js';

/** A loopback port nothing listens on: taken, then given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a model that cannot be reached stops the run at once, with the reason quoted', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;
  beforeEach(async () => {
    workspace = new Workspace();
    workspace.arithmetic('questions.jsonl', 60);
    server = await new FakeOpenAIServer().start();
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  it('with the server down: stops after 10 tasks, exits 1 naming the model, its URL and what to do; the same command finishes once it is up', async () => {
    const port = await closedPort();
    workspace.write('down.yaml', httpConfig(`http://127.0.0.1:${port}/v1`, { concurrency: 2, maxAttempts: 2, retryBaseDelayMs: 5 }));
    const down = await runCli(['run', 'down.yaml', '--json'], { cwd: workspace.dir });
    expect(down.code, down.stderr).toBe(1);
    const summary = JSON.parse(down.stdout);
    expect(summary).toMatchObject({ status: 'interrupted', interruptReason: 'model', modelDown: { model: 'local', category: 'connection', failures: 10 } });
    // Ten tasks failed (at most the two in flight more); the other fifty are left pending, not failed.
    expect(summary.failed).toBeGreaterThanOrEqual(10);
    expect(summary.failed).toBeLessThanOrEqual(12);
    const lines = down.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(new RegExp(`^model local at http://127\\.0\\.0\\.1:${port}/v1: 10 calls in a row failed and none answered \\(connection: .*ECONNREFUSED.*\\); start the server \\(or fix its baseURL\\) and run the same command again: assay run down\\.yaml$`));

    // The server comes up at that URL: the same command finishes the run, failed tasks included.
    workspace.write('down.yaml', httpConfig(server.baseURL, { concurrency: 2, maxAttempts: 2, retryBaseDelayMs: 5 }));
    server.behaviour = answerEverything;
    const quick = await runCli(['quickcheck', 'down.yaml', '--json'], { cwd: workspace.dir });
    expect(JSON.parse(quick.stdout)).toMatchObject({ status: 'interrupted', interruptReason: 'model', done: 0 });
    const again = await runCli(['run', 'down.yaml', '--json'], { cwd: workspace.dir });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'completed', done: 60, failed: 0, interruptReason: null });
    expect(server.requests).toHaveLength(60);
  });

  it('with the key refused (401): stops after 10 calls and says to check the key', async () => {
    server.behaviour = () => ({ kind: 'error', status: 401, body: JSON.stringify({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } }) });
    workspace.write('experiment.yaml', httpConfig(server.baseURL, { concurrency: 1, maxAttempts: 3, retryBaseDelayMs: 5 }));
    const result = await runCli(['run', 'experiment.yaml', '--quiet'], { cwd: workspace.dir });
    expect(result.code).toBe(1);
    // 401 is not retried: one request per task, and the run stopped at the tenth of sixty.
    expect(server.requests.length).toBe(10);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(/^model local at http:\/\/127\.0\.0\.1:\d+\/v1: 10 calls in a row failed and none answered \(client_error 401: .*Incorrect API key provided.*\); check the API key/);
  });

  it('keeps going when the model answers some calls: failures are data, and --fail-on-failures makes them exit 1', async () => {
    // Every fourth question is refused with a 404; the rest are answered.
    // Questions are "What is (10 + i) + ...?" for i = 1..60: the first operand is divisible by 4 for 15 of them.
    server.behaviour = (request) =>
      Number(/What is (\d+)/.exec(request.prompt)![1]) % 4 === 0
        ? { kind: 'error', status: 404, body: JSON.stringify({ error: { message: 'no such model today' } }) }
        : answerEverything(request, server);
    workspace.write('experiment.yaml', httpConfig(server.baseURL, { concurrency: 4, maxAttempts: 2, retryBaseDelayMs: 5 }));
    const plain = await runCli(['run', 'experiment.yaml', '--quiet'], { cwd: workspace.dir });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/failures: 15 client_error at generate/);
    expect(plain.stdout).toMatch(/client_error at generate, e\.g\. arith\/q\d+\/local\/default\/0: .*no such model today/);
    const strict = await runCli(['run', 'experiment.yaml', '--quiet', '--fail-on-failures'], { cwd: workspace.dir });
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/15 of 60 tasks failed \(--fail-on-failures\): 15 client_error at generate/);
  });
});
