import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/stores/open-store.js';
import type { StoredCandidate, StoredEvent } from '../../src/spec/event.js';
import { answerEverything, FakeOpenAIServer, solve, type RecordedRequest, type Reply } from '../support/openai-server.js';
import { runCli } from '../support/cli.js';
import { Workspace } from '../support/workspace.js';

const KEY = 'sk-test-0123456789abcdefghijklmnop';

interface ModelEntry {
  readonly provider: string;
  readonly baseURL: string;
  readonly extra?: string;
}

function config(models: Record<string, ModelEntry>, runtime = '', more = ''): string {
  const entries = Object.entries(models)
    .map(
      ([id, entry]) => `  - id: ${id}
    provider: ${entry.provider}
    model: ${id}-model
    baseURL: ${entry.baseURL}
${entry.provider === 'openai-compatible' ? '' : '    apiKeyEnv: TEST_PROVIDER_KEY\n'}    params: { temperature: 0, maxTokens: 64 }
${entry.extra ?? ''}`,
    )
    .join('');
  return `name: providers
datasets:
  - id: arith
    path: questions.jsonl
    input: question
    target: answer
    idField: id
models:
${entries}
prompt: { system: "Answer with a number.", user: "{{input}}" }
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
runtime:
  store: store.db
  concurrency: 8
  maxAttempts: 6
  retryBaseDelayMs: 20
${runtime}${more}`;
}

/** Every stored generate event of a run, read through the library. */
async function generateEvents(workspace: Workspace, runId: string, tasks: number): Promise<StoredEvent[]> {
  const store = await openStore(workspace.path('store.db'), { create: false });
  try {
    const events: StoredEvent[] = [];
    for (let ord = 0; ord < tasks; ord++) events.push(...(await store.readTaskEvents(runId, ord)).filter((event) => event.type.startsWith('generate-')));
    return events;
  } finally {
    await store.close();
  }
}

describe('providers over real HTTP', () => {
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

  it('calls openai, anthropic and google with the key from the environment, stores usage and cost, never the key', async () => {
    workspace.arithmetic('questions.jsonl', 6);
    const price = '    price: { input: 2, output: 10 }\n';
    workspace.write(
      'experiment.yaml',
      config({
        gpt: { provider: 'openai', baseURL: server.baseURL, extra: price },
        claude: { provider: 'anthropic', baseURL: server.baseURL, extra: price },
        gemini: { provider: 'google', baseURL: server.baseURL, extra: price },
      }),
    );
    const result = await runCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir, env: { TEST_PROVIDER_KEY: KEY } });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ status: 'completed', tasks: 18, done: 18, failed: 0 });
    for (const model of ['gpt', 'claude', 'gemini']) {
      expect(summary.scores).toContainEqual(expect.objectContaining({ model, prompt: 'default', metric: 'accuracy', mean: 1, n: 6 }));
    }

    // Each provider spoke its own wire format, with the key where that API expects it.
    const byApi = (api: string) => server.requests.filter((request) => request.api === api);
    expect(byApi('openai')).toHaveLength(6);
    expect(byApi('anthropic')).toHaveLength(6);
    expect(byApi('google')).toHaveLength(6);
    expect(byApi('openai')[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(byApi('anthropic')[0]!.headers['x-api-key']).toBe(KEY);
    expect(byApi('google')[0]!.headers['x-goog-api-key']).toBe(KEY);
    expect(byApi('anthropic')[0]!.system).toBe('Answer with a number.');
    expect(byApi('google')[0]!.system).toBe('Answer with a number.');
    expect(byApi('google')[0]!.model).toBe('gemini-model');

    // Usage is what the server reported, per model and stage; cost follows the configured price.
    for (const model of ['gpt', 'claude', 'gemini']) {
      const requests = server.requests.filter((request) => request.model === `${model}-model`);
      const input = requests.reduce((sum, request) => sum + Math.ceil(request.prompt.length / 4), 0);
      const output = requests.reduce((sum, request) => sum + Math.ceil(solve(request.prompt).length / 4), 0);
      const row = summary.usage.find((entry: { model: string; stage: string }) => entry.model === model && entry.stage === 'generate');
      expect(row).toMatchObject({ calls: 6, inputTokens: input, outputTokens: output });
      expect(row.cost).toBeCloseTo((input * 2 + output * 10) / 1e6, 12);
    }
    expect(summary.cost.unpriced).toEqual([]);
    expect(summary.cost.total).toBeCloseTo(summary.usage.reduce((sum: number, row: { cost: number }) => sum + row.cost, 0), 12);

    // The raw provider response is kept beside the normalised fields.
    const events = await generateEvents(workspace, summary.runId, 18);
    const candidate = (events[0]!.payload as { candidate: StoredCandidate }).candidate;
    expect(candidate.finishReason.unified).toBe('stop');
    expect(candidate.latencyMs).toBeGreaterThan(0);
    expect(candidate.raw).toMatchObject({ body: expect.anything() });

    expect(readFileSync(workspace.path('store.db')).includes(KEY)).toBe(false);
    expect(result.stdout + result.stderr).not.toContain(KEY);
  });

  it('says which variable to set when a hosted provider has no key', async () => {
    workspace.arithmetic('questions.jsonl', 2);
    workspace.write('experiment.yaml', config({ claude: { provider: 'anthropic', baseURL: server.baseURL } }));
    const result = await runCli(['run', 'experiment.yaml'], { cwd: workspace.dir, env: { TEST_PROVIDER_KEY: undefined } });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/model 'claude' reads its API key from \$TEST_PROVIDER_KEY, which is not set/);
    expect(server.requests).toHaveLength(0);
  });
});

describe('a hostile server', () => {
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

  it('survives 429 bursts, 500s, timeouts, slow drips and broken bodies: every answer lands once, every failure is categorised', async () => {
    workspace.arithmetic('questions.jsonl', 40);
    // The first attempt of each question fails in a way chosen by its number; later attempts answer,
    // except question 40, which the server always refuses as a bad request.
    const firstFailure = (index: number): Reply | null => {
      switch (index % 8) {
        case 0:
          return { kind: 'error', status: 429, headers: { 'retry-after': '1' } };
        case 1:
          return { kind: 'error', status: 500 };
        case 2:
          return { kind: 'hang' };
        case 3:
          return { kind: 'raw', status: 200, body: '{"id": "chatcmpl-1", "choices": [{"message": ' };
        case 4:
          return { kind: 'error', status: 503, body: '<html>upstream unavailable</html>' };
        default:
          return null;
      }
    };
    const served = new Map<string, number>();
    server.behaviour = (request: RecordedRequest) => {
      const index = Number(/What is (\d+) \+/.exec(request.prompt)![1]) - 10;
      if (index === 40) return { kind: 'error', status: 400, body: '{"error":{"message":"bad request: unsupported parameter"}}' };
      const attempt = server.requestsFor(request.prompt).length;
      const failure = attempt === 1 ? firstFailure(index) : null;
      if (failure) return failure;
      served.set(request.prompt, (served.get(request.prompt) ?? 0) + 1);
      // Question 5, 13, ... answer slowly, a few bytes at a time, well within the timeout.
      if (index % 8 === 5) return { kind: 'drip', text: solve(request.prompt), chunkDelayMs: 5 };
      return answerEverything(request, server);
    };
    workspace.write(
      'experiment.yaml',
      config({ local: { provider: 'openai-compatible', baseURL: server.baseURL } }, '  timeoutMs: 800\n'),
    );
    const result = await runCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    // Finished, with one task failed for good: the run is partial, not completed.
    expect(summary).toMatchObject({ status: 'partial', tasks: 40, done: 39, failed: 1 });
    expect(summary.scores).toEqual([expect.objectContaining({ model: 'local', prompt: 'default', metric: 'accuracy', mean: 1, n: 39 })]);
    expect(summary.failures).toEqual([{ stage: 'generate', category: 'client_error', count: 1 }]);

    // Nothing paid for twice: the server answered every question exactly once.
    expect(served.size).toBe(39);
    expect([...served.values()].every((count) => count === 1)).toBe(true);
    // A client error is not retried.
    expect(server.requests.filter((request) => request.prompt.startsWith('What is 50 +'))).toHaveLength(1);

    // Each retried answer carries the history of the attempts that failed, with their category.
    const events = await generateEvents(workspace, summary.runId, 40);
    const historyOf = (index: number) => {
      const event = events.find((candidate) => candidate.taskOrd === index - 1)!;
      return event.type === 'generate-completed' ? ((event.payload as { candidate: StoredCandidate }).candidate.failedAttempts ?? []) : null;
    };
    const expected: Record<number, string> = { 0: 'rate_limit', 1: 'server_error', 2: 'timeout', 3: 'invalid_response', 4: 'server_error' };
    for (let index = 1; index < 40; index++) {
      const history = historyOf(index)!;
      const category = expected[index % 8];
      if (category) {
        expect(history.map((attempt) => attempt.category), `question ${index}`).toEqual([category]);
      } else {
        expect(history, `question ${index}`).toEqual([]);
      }
    }
    expect(historyOf(1)![0]!.status).toBe(500);
    const refused = events.find((event) => event.taskOrd === 39)!;
    expect(refused.type).toBe('generate-failed');
    expect((refused.payload as { failure: { attempts: { status?: number }[] } }).failure.attempts).toMatchObject([{ category: 'client_error', status: 400 }]);

    // Retry-After was honoured: the retry of a 429'd question came at least a second later.
    for (let index = 8; index < 40; index += 8) {
      const [first, second] = server.requestsFor(`What is ${index + 10} + ${3 * index + 7}?`);
      expect(second!.at - first!.at, `question ${index}`).toBeGreaterThanOrEqual(990);
    }
  });

  it('keeps requests under the configured rate, checked from the server log', async () => {
    workspace.arithmetic('questions.jsonl', 18);
    workspace.write(
      'experiment.yaml',
      config({ local: { provider: 'openai-compatible', baseURL: server.baseURL, extra: '    rateLimit: { requestsPerMinute: 6, windowSeconds: 2 }\n' } }),
    );
    const result = await runCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'completed', done: 18 });
    const arrivals = server.requests.map((request) => request.at).sort((a, b) => a - b);
    expect(arrivals).toHaveLength(18);
    // No two-second window at the server saw more than 6 requests. The limiter counts a call when it starts;
    // the server sees it after the client's own work and the transit (tens of milliseconds for the very
    // first call, which also opens the connection), so windows are read 150 ms short.
    for (const start of arrivals) {
      expect(arrivals.filter((at) => at >= start && at < start + 1850).length).toBeLessThanOrEqual(6);
    }
  });

  it('backs off on 429 when the server is overloaded and still answers everything', async () => {
    workspace.arithmetic('questions.jsonl', 60);
    let inFlight = 0;
    let rejected = 0;
    const original = server.behaviour;
    // The server takes at most 4 requests at once; beyond that it answers 429 with no Retry-After.
    server.behaviour = (request, self) => {
      if (inFlight >= 4) {
        rejected++;
        return { kind: 'error', status: 429 };
      }
      inFlight++;
      setTimeout(() => inFlight--, 40);
      return { ...(original(request, self) as { kind: 'answer'; text: string }), delayMs: 40 };
    };
    workspace.write(
      'experiment.yaml',
      config({ local: { provider: 'openai-compatible', baseURL: server.baseURL, extra: '    concurrency: 32\n' } }).replace('concurrency: 8', 'concurrency: 32'),
    );
    const result = await runCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ status: 'completed', done: 60, failed: 0 });
    expect(rejected).toBeGreaterThan(0);
    // Halving once per burst brings 32 down to the server's 4 in a few steps (about 50 rejections here).
    // With adaptiveConcurrency off, the same server rejects so often that 24 of the 60 tasks use up all six
    // attempts and fail, after more than 150 rejections.
    expect(rejected).toBeLessThan(100);
  });
});

describe('assay estimate', () => {
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

  it('predicts calls, tokens and cost without calling anything, then learns answer lengths from the run', async () => {
    workspace.arithmetic('questions.jsonl', 10);
    workspace.write(
      'experiment.yaml',
      config({ gpt: { provider: 'openai', baseURL: server.baseURL, extra: '    price: { input: 3, output: 15 }\n' } }, '', 'samples: 2\n'),
    );
    const before = await runCli(['estimate', 'experiment.yaml', '--json'], { cwd: workspace.dir, env: { TEST_PROVIDER_KEY: undefined } });
    expect(before.code, before.stderr).toBe(0);
    const estimate = JSON.parse(before.stdout);
    expect(server.requests).toHaveLength(0);
    expect(estimate.tasks).toBe(10);
    expect(estimate.rows).toHaveLength(1);
    const [row] = estimate.rows;
    // Ten items, two samples each; output at the maxTokens cap of 64.
    expect(row).toMatchObject({ model: 'gpt', stage: 'generate', calls: 20, outputTokens: 20 * 64, outputBasis: 'maxTokens', priceSource: 'config' });
    // "Answer with a number." plus "What is a + b?" is a dozen or two tokens per call.
    expect(row.inputTokens).toBeGreaterThan(20 * 10);
    expect(row.inputTokens).toBeLessThan(20 * 40);
    expect(row.cost).toBeCloseTo((row.inputTokens * 3 + row.outputTokens * 15) / 1e6, 12);
    expect(estimate.remaining).toBeNull();

    const run = await runCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir, env: { TEST_PROVIDER_KEY: KEY } });
    expect(run.code, run.stderr).toBe(0);
    expect(server.requests).toHaveLength(20);

    const after = JSON.parse((await runCli(['estimate', 'experiment.yaml', '--json'], { cwd: workspace.dir })).stdout);
    const output = server.requests.reduce((sum, request) => sum + Math.ceil(solve(request.prompt).length / 4), 0);
    expect(after.rows[0]).toMatchObject({ calls: 20, outputBasis: 'observed', outputTokens: 20 * Math.round(output / 20) });
    expect(after.remaining).toMatchObject({ calls: 0, cost: 0 });
    expect(server.requests).toHaveLength(20);
  });
});
