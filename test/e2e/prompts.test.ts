import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { answerLastTurn, FakeOpenAIServer } from '../support/openai-server.js';
import { runCli } from '../support/cli.js';
import { Workspace } from '../support/workspace.js';

const KEY = 'sk-test-0123456789abcdefghijklmnop';

function config(models: string, prompt: string): string {
  return `name: prompts
datasets:
  - id: arith
    path: questions.jsonl
    input: question
    target: answer
    idField: id
models:
${models}
${prompt}
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
runtime: { store: store.db, concurrency: 4, maxAttempts: 2, retryBaseDelayMs: 10 }
`;
}

function model(id: string, provider: string, baseURL: string, extra = ''): string {
  return `  - id: ${id}
    provider: ${provider}
    model: ${id}-model
    baseURL: ${baseURL}
${provider === 'openai-compatible' ? '' : '    apiKeyEnv: TEST_PROVIDER_KEY\n'}    params: { temperature: 0, maxTokens: 64 }
${extra}`;
}

describe('prompts sent as chat turns', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;

  beforeEach(async () => {
    workspace = new Workspace();
    server = await new FakeOpenAIServer(answerLastTurn).start();
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  it('sends a message list as the turns written, to openai-compatible, openai, anthropic and google', async () => {
    workspace.arithmetic('questions.jsonl', 3);
    const models = ['local:openai-compatible', 'gpt:openai', 'claude:anthropic', 'gemini:google']
      .map((entry) => model(entry.split(':')[0]!, entry.split(':')[1]!, server.baseURL))
      .join('');
    workspace.write(
      'experiment.yaml',
      config(
        models,
        `prompt:
  messages:
    - { role: system, content: "Answer with a number." }
    - { role: user, content: "What is 1 + 1?" }
    - { role: assistant, content: "2" }
    - { role: user, content: "{{input}} (item {{id}})" }`,
      ),
    );
    const result = await runCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir, env: { TEST_PROVIDER_KEY: KEY } });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ status: 'completed', tasks: 12, failed: 0 });
    expect(server.requests).toHaveLength(12);
    for (const api of ['openai', 'anthropic', 'google'] as const) {
      const sent = server.requests.filter((request) => request.api === api).find((request) => request.turns.at(-1)!.content.includes('(item q2)'));
      expect(sent, api).toBeDefined();
      expect(sent!.turns, api).toEqual([
        { role: 'system', content: 'Answer with a number.' },
        { role: 'user', content: 'What is 1 + 1?' },
        { role: 'assistant', content: '2' },
        { role: 'user', content: 'What is 12 + 13? (item q2)' },
      ]);
    }
    expect(summary.scores.every((row: { mean: number }) => row.mean === 1)).toBe(true);
  });

  it('gives each model its own system prompt when the model sets one', async () => {
    workspace.arithmetic('questions.jsonl', 2);
    workspace.write(
      'experiment.yaml',
      config(
        model('plain', 'openai-compatible', server.baseURL) + model('terse', 'openai-compatible', server.baseURL, '    system: "Reply with digits only ({{id}})."\n'),
        'prompt: { system: "Answer with a number.", user: "{{input}}" }',
      ),
    );
    const result = await runCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    const systems = (id: string) => server.requests.filter((request) => request.model === `${id}-model`).map((request) => request.turns[0]).sort((a, b) => a!.content.localeCompare(b!.content));
    expect(systems('plain')).toEqual([
      { role: 'system', content: 'Answer with a number.' },
      { role: 'system', content: 'Answer with a number.' },
    ]);
    expect(systems('terse')).toEqual([
      { role: 'system', content: 'Reply with digits only (q1).' },
      { role: 'system', content: 'Reply with digits only (q2).' },
    ]);
    // The prompt as sent, in the results, is each model's own.
    const results = await runCli(['results', JSON.parse(result.stdout).runId, '--store', 'store.db', '--format', 'json'], { cwd: workspace.dir });
    expect(results.code, results.stderr).toBe(0);
    const rows = JSON.parse(results.stdout) as { model: string; item: string; renderedPrompt: { system: string } }[];
    expect(rows.find((row) => row.model === 'terse' && row.item === 'q1')!.renderedPrompt.system).toBe('Reply with digits only (q1).');
    expect(rows.find((row) => row.model === 'plain')!.renderedPrompt.system).toBe('Answer with a number.');
  });

  it('sends few-shot examples as user/assistant turns before the item, never the item itself', async () => {
    workspace.arithmetic('questions.jsonl', 6);
    workspace.write(
      'experiment.yaml',
      config(
        model('local', 'openai-compatible', server.baseURL),
        `prompt:
  system: Answer with a number.
  user: "Q: {{input}}"
  fewShot: { from: arith, k: 2, seed: 3 }`,
      ),
    );
    const result = await runCli(['run', 'experiment.yaml', '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'completed', tasks: 6, failed: 0 });
    expect(server.requests).toHaveLength(6);
    for (const request of server.requests) {
      expect(request.turns.map((turn) => turn.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
      const item = request.turns.at(-1)!.content;
      expect(item).toMatch(/^Q: What is \d+ \+ \d+\?$/);
      // Each example is a question of the dataset and its answer; the item is not among them.
      for (const position of [1, 3]) {
        const question = request.turns[position]!.content;
        expect(question).not.toBe(item);
        const [left, right] = question.match(/\d+/g)!.map(Number);
        expect(request.turns[position + 1]!.content).toBe(String(left! + right!));
      }
    }
  });

  it('scores a multiple-choice run whose targets are option texts, indices or letters against the parsed letter', async () => {
    workspace.write(
      'mc.jsonl',
      '{"id":"m1","question":"What is 2 + 2?","options":["3","4","5"],"answer":"4"}\n{"id":"m2","question":"What is 3 + 3?","options":["6","7","8"],"answer":0}\n{"id":"m3","question":"What is 1 + 4?","options":["4","6","5"],"answer":"C"}\n{"id":"m4","question":"What is 1 + 1?","options":["1","2"],"answer":1}\n',
    );
    workspace.write(
      'mc.yaml',
      `name: mc
datasets:
  - { id: mc, path: mc.jsonl, input: question, target: answer, idField: id, choices: options }
models:
  - { id: always-b, provider: mock, options: { reply: "A) 3 looks wrong; B) it is." } }
prompt: { user: "{{input}}\\n{{options | letters}}" }
parse: { kind: choice-letter }
metrics: [ { kind: exact-match, name: accuracy } ]
runtime: { store: store.db }
`,
    );
    const result = await runCli(['run', 'mc.yaml', '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.scores).toContainEqual(expect.objectContaining({ model: 'always-b', metric: 'accuracy', mean: 0.5, n: 4 }));
    const results = await runCli(['results', summary.runId, '--store', 'store.db', '--format', 'json'], { cwd: workspace.dir });
    const rows = JSON.parse(results.stdout) as { item: string; target: unknown; parsed: unknown; renderedPrompt: { user: string } }[];
    expect(rows.map((row) => [row.item, row.target, row.parsed])).toEqual([
      ['m1', 'B', 'B'],
      ['m2', 'A', 'B'],
      ['m3', 'C', 'B'],
      ['m4', 'B', 'B'],
    ]);
    expect(rows[0]!.renderedPrompt.user).toBe('What is 2 + 2?\nA) 3\nB) 4\nC) 5');
  });
});
