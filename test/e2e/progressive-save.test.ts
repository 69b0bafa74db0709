import { appendFileSync, readFileSync, renameSync, statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAIServer, solve } from '../support/openai-server.js';
import { runCli, startCli, waitFor } from '../support/cli.js';
import { httpConfig, Workspace } from '../support/workspace.js';

describe('progressive save to plain files', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;
  const cli = async (args: string[], expectedCode = 0) => {
    const result = await runCli(args, { cwd: workspace.dir });
    expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(expectedCode);
    return result;
  };

  beforeEach(async () => {
    workspace = new Workspace();
    server = await new FakeOpenAIServer().start();
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  it('survives kill -9: --resume finishes from the .tmp with no result lost or duplicated', async () => {
    workspace.arithmetic('questions.jsonl', 120);
    workspace.write('experiment.yaml', httpConfig(server.baseURL, { concurrency: 4 }));
    server.behaviour = (request) => ({ kind: 'answer', text: solve(request.prompt), delayMs: 20 });
    const first = startCli(['run', 'experiment.yaml', '--output', 'results.json', '--progressive-save'], { cwd: workspace.dir });
    await waitFor(() => server.requests.length >= 40, 30_000, '40 requests');
    first.child.kill('SIGKILL');
    await first.done;
    expect(workspace.exists('results.json')).toBe(false);
    expect(workspace.exists('store.db')).toBe(false);

    const status = JSON.parse((await cli(['status', 'results.json.state', '--json'])).stdout);
    expect(status).toMatchObject({ total: 120, tmpExists: true, failed: 0 });
    expect(status.completed).toBeLessThan(120);
    expect(status.tmpBytes).toBe(statSync(workspace.path('results.json.tmp')).size);
    // Every line of the .tmp is a complete record, readable with any JSONL tool.
    const records = readFileSync(workspace.path('results.json.tmp'), 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(records.filter((record) => record.type === 'item')).toHaveLength(120);
    const generated = records.filter((record) => record.type === 'generation').length;
    expect(generated).toBeGreaterThanOrEqual(server.requests.length - 4);

    const resumed = JSON.parse((await cli(['run', '--resume', 'results.json.state', '--json'])).stdout);
    expect(resumed).toMatchObject({ status: 'completed', action: 'resumed', done: 120, modelCalls: 120 - generated, output: { written: true } });
    expect(workspace.exists('results.json.tmp')).toBe(false);
    expect(workspace.exists('results.json.state')).toBe(false);
    const output = JSON.parse(readFileSync(workspace.path('results.json'), 'utf8'));
    expect(output).toMatchObject({ format: 'assay.results', metadata: { name: 'http-test' }, summary: { status: 'completed', done: 120 } });
    expect(output.results).toHaveLength(120);
    expect(new Set(output.results.map((result: { task: string }) => result.task)).size).toBe(120);
    expect(output.results.every((result: { scores: { accuracy: { value: number } } }) => result.scores.accuracy.value === 1)).toBe(true);
    expect(output.results.every((result: { candidates: unknown[] }) => result.candidates.length === 1)).toBe(true);
    const repeated = [...server.countsByPrompt().values()].filter((count) => count > 1);
    expect(repeated.length).toBeLessThanOrEqual(4);
  });

  it('repairs a half-written last line of the .tmp when resuming', async () => {
    workspace.arithmetic('questions.jsonl', 10);
    workspace.write('experiment.yaml', httpConfig(server.baseURL));
    await cli(['run', 'experiment.yaml', '--until-stage', 'generate', '--output', 'out.csv', '--progressive-save']);
    appendFileSync(workspace.path('out.csv.tmp'), '{"type":"reduction","task":"arith/q1/local/defa');
    const resumed = JSON.parse((await cli(['run', '--resume', 'out.csv.state', '--json'])).stdout);
    expect(resumed).toMatchObject({ status: 'completed', done: 10, modelCalls: 0, output: { written: true } });
    const rows = readFileSync(workspace.path('out.csv'), 'utf8').trimEnd().split('\n');
    expect(rows[0]).toBe('task,dataset,item,model,prompt,replicate,stage,answer,parsed,unparseable,accuracy,failure_stage,failure_category,failure_message');
    expect(rows).toHaveLength(11);
    expect(rows[1]).toBe('arith/q1/local/default/0,arith,q1,local,default,0,done,The answer is 21.,21,,1,,,');
  });

  it('refuses to resume once the config changed or a dataset moved, saying which', async () => {
    workspace.arithmetic('questions.jsonl', 5);
    const config = httpConfig(server.baseURL);
    workspace.write('experiment.yaml', config);
    await cli(['run', 'experiment.yaml', '--until-stage', 'generate', '--output', 'results.json', '--progressive-save']);

    workspace.write('experiment.yaml', config.replace('Answer with a number.', 'Answer with one number.'));
    const changed = await cli(['run', '--resume', 'results.json.state'], 1);
    expect(changed.stderr.trim()).toMatch(/^assay: error: cannot resume .*results\.json\.state: configuration has changed since the job started \(prompt\.system\); restore it, or start a new job with another --output$/);

    renameSync(workspace.path('questions.jsonl'), workspace.path('moved.jsonl'));
    workspace.write('experiment.yaml', config.replace('path: questions.jsonl', 'path: moved.jsonl'));
    const moved = await cli(['run', '--resume', 'results.json.state'], 1);
    expect(moved.stderr.trim()).toMatch(/^assay: error: cannot resume .*results\.json\.state: dataset path changed: \/.*\/questions\.jsonl -> \/.*\/moved\.jsonl; restore it/);

    // The config is as it was but the data moved under it: the path is what changed.
    renameSync(workspace.path('moved.jsonl'), workspace.path('questions.jsonl'));
    workspace.write('experiment.yaml', config);
    workspace.write('sub/questions.jsonl', readFileSync(workspace.path('questions.jsonl'), 'utf8'));
    workspace.write('experiment.yaml', config.replace('path: questions.jsonl', 'path: sub/../questions.jsonl'));
    const same = await cli(['run', '--resume', 'results.json.state', '--json']);
    expect(JSON.parse(same.stdout)).toMatchObject({ status: 'completed', modelCalls: 0 });
  });

  it('reports status from the .state alone, and lists failed and pending tasks on request', async () => {
    workspace.arithmetic('questions.jsonl', 6);
    workspace.write('experiment.yaml', httpConfig(server.baseURL, { maxAttempts: 1 }));
    server.behaviour = (request) => (request.prompt === 'What is 13 + 16?' ? { kind: 'error', status: 500 } : { kind: 'answer', text: solve(request.prompt) });
    const partial = JSON.parse((await cli(['run', 'experiment.yaml', '--output', 'results.json', '--progressive-save', '--json'])).stdout);
    expect(partial).toMatchObject({ status: 'partial', failed: 1, output: { written: false } });
    const status = JSON.parse((await cli(['status', 'results.json.state', '--tasks', '--json'])).stdout);
    expect(status).toMatchObject({ total: 6, completed: 5, failed: 1, pending: 1, tmpExists: true });
    expect(status.percent).toBeCloseTo((100 * 5) / 6);
    expect(status.tasks).toEqual({ failed: ['arith/q3/local/default/0'], pending: ['arith/q3/local/default/0'] });
    const text = (await cli(['status', 'results.json.state'])).stdout;
    expect(text).toMatch(/tasks {3}5\/6 completed \(83\.3%\) · 1 failed · 1 pending/);

    server.behaviour = (request) => ({ kind: 'answer', text: solve(request.prompt) });
    const finished = JSON.parse((await cli(['run', '--resume', 'results.json.state', '--json'])).stdout);
    expect(finished).toMatchObject({ status: 'completed', modelCalls: 1, output: { written: true } });
  });
});
