import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { answerEverything, FakeOpenAIServer } from '../support/openai-server.js';
import { runCli } from '../support/cli.js';
import { httpConfig, Workspace } from '../support/workspace.js';

describe('results out of any stored run', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;
  beforeEach(async () => {
    workspace = new Workspace();
    workspace.arithmetic('questions.jsonl', 8);
    server = await new FakeOpenAIServer().start();
    // q3 is answered with a spreadsheet formula; q5 is refused with a 400 (a failure, recorded as data).
    server.behaviour = (request, self) => {
      if (request.prompt.includes('What is 13 +')) return { kind: 'answer', text: '=HYPERLINK("http://x","16")' };
      if (request.prompt.includes('What is 15 +')) return { kind: 'error', status: 400, body: JSON.stringify({ error: { message: 'unsupported request' } }) };
      return answerEverything(request, self);
    };
    workspace.write('experiment.yaml', httpConfig(server.baseURL, { maxAttempts: 1 }));
    const run = await runCli(['run', 'experiment.yaml', '--quiet'], { cwd: workspace.dir });
    expect(run.code, run.stderr).toBe(0);
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  it('writes one JSON line per task: the prompt as sent, the answer, the parsed value, scores, failure, tokens, latency', async () => {
    const result = await runCli(['results', 'experiment.yaml', '--format', 'jsonl'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    const rows = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(rows).toHaveLength(8);
    const first = rows[0];
    // What the server received for q1 is what the row says was sent.
    const sent = server.requests.find((request) => request.prompt.includes('What is 11 +'))!;
    expect(first).toMatchObject({
      task: 'arith/q1/local/default/0',
      dataset: 'arith',
      item: 'q1',
      model: 'local',
      replicate: 0,
      stage: 'done',
      input: 'What is 11 + 10?',
      target: '21',
      renderedPrompt: { system: sent.system, user: sent.prompt },
      answer: 'The answer is 21.',
      parsed: 21,
      scores: { accuracy: 1 },
      failure: null,
    });
    expect(first.inputTokens).toBeGreaterThan(0);
    expect(first.outputTokens).toBeGreaterThan(0);
    expect(first.latencyMs).toBeGreaterThanOrEqual(0);
    expect(rows[4]).toMatchObject({ item: 'q5', stage: 'generate', answer: null, scores: {}, failure: { stage: 'generate', category: 'client_error' } });
    expect(rows[4].failure.message).toContain('unsupported request');
  });

  it('writes CSV with documented columns, neutralises formulas, and filters by model and by failure', async () => {
    const written = await runCli(['results', 'experiment.yaml', '--out', 'results.csv'], { cwd: workspace.dir });
    expect(written.code, written.stderr).toBe(0);
    expect(written.stderr).toMatch(/wrote 8 rows to .*results\.csv \(csv\)/);
    const text = readFileSync(workspace.path('results.csv'), 'utf8');
    const records = parse(text, { columns: true }) as Record<string, string>[];
    expect(Object.keys(records[0]!)).toEqual([
      'task', 'dataset', 'item', 'model', 'prompt', 'replicate', 'stage', 'input', 'target', 'rendered_prompt', 'answer', 'parsed',
      'accuracy', 'failure_stage', 'failure_category', 'failure_message', 'input_tokens', 'output_tokens', 'cost_usd', 'latency_ms',
    ]);
    expect(records[0]).toMatchObject({ task: 'arith/q1/local/default/0', answer: 'The answer is 21.', parsed: '21', accuracy: '1', rendered_prompt: 'Answer with a number.\n\nWhat is 11 + 10?' });
    expect(records[2]!.answer).toBe(`'=HYPERLINK("http://x","16")`);
    expect(records[4]).toMatchObject({ failure_stage: 'generate', failure_category: 'client_error', accuracy: '' });

    const failed = await runCli(['results', 'experiment.yaml', '--failed', '--format', 'json'], { cwd: workspace.dir });
    expect(JSON.parse(failed.stdout).map((row: { item: string }) => row.item)).toEqual(['q5']);
    const unknown = await runCli(['results', 'experiment.yaml', '--model', 'gpt-9'], { cwd: workspace.dir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/--model gpt-9 is not a model of this run; its models are: local/);
  });

  it('writes --output for a run that is already complete, without calling the model again', async () => {
    const calls = server.requests.length;
    // The failed task is retried by a new run, so let it succeed first; then the run is complete.
    server.behaviour = answerEverything;
    const finished = await runCli(['run', 'experiment.yaml', '--quiet'], { cwd: workspace.dir });
    expect(finished.code, finished.stderr).toBe(0);
    expect(server.requests.length).toBe(calls + 1);
    const again = await runCli(['run', 'experiment.yaml', '--output', 'out.csv', '--json'], { cwd: workspace.dir });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ action: 'reused', modelCalls: 0, output: { written: true } });
    expect(server.requests.length).toBe(calls + 1);
    expect(readFileSync(workspace.path('out.csv'), 'utf8').trim().split('\n')).toHaveLength(9);
  });
});
