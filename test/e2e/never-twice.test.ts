import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { judgeBehaviour } from '../support/judge-behaviour.js';
import { FakeOpenAIServer } from '../support/openai-server.js';
import { runCli } from '../support/cli.js';
import { Workspace } from '../support/workspace.js';

const model = (id: string, baseURL: string) => `  - { id: ${id}, provider: openai-compatible, model: ${id}, baseURL: ${baseURL} }`;
const config = (baseURL: string, metric = '{ kind: numeric-match, name: accuracy }', dataset = 'questions.jsonl') => `name: judged
datasets: [ { id: arith, path: ${dataset}, input: question, target: answer, idField: id } ]
models:
${model('solver', baseURL)}
evaluators:
${model('judge-a', baseURL)}
${model('judge-b', baseURL)}
runtime: { concurrency: 4, store: store.db, maxAttempts: 2, retryBaseDelayMs: 10 }
parse: { kind: last-number }
metrics: [ ${metric} ]
judges:
  - id: quality
    kind: rubric
    models: [judge-a, judge-b]
    traits:
      - { name: correct, kind: boolean, description: "Is the final number right?" }
`;

describe('no model call of any role is paid for twice', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;
  const cli = async (...args: string[]) => {
    const result = await runCli(args, { cwd: workspace.dir });
    expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(0);
    return JSON.parse(result.stdout);
  };
  const judgeCalls = () => server.requests.filter((request) => request.model.startsWith('judge')).length;

  beforeEach(async () => {
    workspace = new Workspace();
    workspace.arithmetic('questions.jsonl', 6);
    server = await new FakeOpenAIServer().start();
    server.behaviour = judgeBehaviour();
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  it('changing only a metric, or replaying the score stage, makes zero calls to the answering model and to the judges', async () => {
    workspace.write('experiment.yaml', config(server.baseURL));
    const first = await cli('run', 'experiment.yaml', '--json');
    expect(first).toMatchObject({ status: 'completed', done: 6 });
    expect(judgeCalls()).toBe(12);
    const before = server.requests.length;

    workspace.write('changed.yaml', config(server.baseURL, '{ kind: numeric-match, name: accuracy, relativeTolerance: 0.01 }'));
    // The estimate knows it first: every call of every role is served by what the store holds.
    const estimate = await cli('estimate', 'changed.yaml', '--json');
    expect(estimate.rows.map((row: { model: string; stage: string; calls: number; reused: number }) => [row.model, row.stage, row.calls, row.reused])).toEqual([
      ['solver', 'generate', 0, 6],
      ['judge-a', 'judge', 0, 6],
      ['judge-b', 'judge', 0, 6],
    ]);
    expect(estimate.total.calls).toBe(0);
    const changed = await cli('run', 'changed.yaml', '--json');
    expect(changed.runId).not.toBe(first.runId);
    expect(changed).toMatchObject({ status: 'completed', done: 6, modelCalls: 0, reusedGenerations: 6 });
    expect(server.requests.length).toBe(before);
    // The judgments are there all the same, and cost nothing in this run.
    expect(changed.scores.find((row: { metric: string }) => row.metric === 'quality.correct')).toMatchObject({ mean: 1, n: 6 });
    expect(changed.usage.filter((row: { stage: string }) => row.stage === 'judge')).toEqual([]);

    const replayed = await cli('replay', first.runId, '--stage', 'score', '--store', 'store.db', '--json');
    expect(replayed).toMatchObject({ action: 'replayed', status: 'completed', modelCalls: 0 });
    expect(server.requests.length).toBe(before);

    // Other judges: the answers are reused, the judgments are not (an estimate prices just those).
    workspace.write('rejudged.yaml', config(server.baseURL).replace('description: "Is the final number right?"', 'description: "Is the number right?"'));
    const rejudged = await cli('estimate', 'rejudged.yaml', '--json');
    expect(rejudged.rows.map((row: { stage: string; calls: number; reused: number }) => [row.stage, row.calls, row.reused])).toEqual([
      ['generate', 0, 6],
      ['judge', 6, 0],
      ['judge', 6, 0],
    ]);

    // --no-reuse asks again, on purpose.
    workspace.write('fresh.yaml', config(server.baseURL, '{ kind: exact-match, name: exact }'));
    const fresh = await cli('run', 'fresh.yaml', '--no-reuse', '--json');
    expect(fresh.modelCalls).toBe(6 + 12);
  });

  it('sends a judge prompt once per run however many tasks produce it', async () => {
    // Nine items, three of them the same question as another: the same answer, so the same judge prompt.
    const rows = [1, 2, 3, 4, 5, 6].map((index) => ({ id: `q${index}`, question: `What is ${10 + index} + ${3 * index + 7}?`, answer: String(13 + 4 * index) }));
    const duplicates = rows.slice(0, 3).map((row) => ({ ...row, id: `${row.id}-again` }));
    workspace.write('dup.jsonl', `${[...rows, ...duplicates].map((row) => JSON.stringify(row)).join('\n')}\n`);
    workspace.write('experiment.yaml', config(server.baseURL, '{ kind: numeric-match, name: accuracy }', 'dup.jsonl').replace('concurrency: 4', 'concurrency: 1'));
    const summary = await cli('run', 'experiment.yaml', '--json');
    expect(summary).toMatchObject({ status: 'completed', done: 9 });
    expect(server.requests.filter((request) => request.model === 'solver')).toHaveLength(9);
    // Six distinct prompts per judge, not nine.
    expect(judgeCalls()).toBe(12);
    expect(summary.scores.find((row: { metric: string }) => row.metric === 'quality.correct')).toMatchObject({ mean: 1, n: 9 });
    expect(summary.usage.filter((row: { stage: string }) => row.stage === 'judge').map((row: { calls: number }) => row.calls)).toEqual([6, 6]);
  });

  it('with concurrent tasks asking the same thing, one asks and the others wait for its reply', async () => {
    const rows = [1, 2].map((index) => ({ id: `q${index}`, question: `What is ${10 + index} + ${3 * index + 7}?`, answer: String(13 + 4 * index) }));
    const copies = rows.flatMap((row) => [1, 2, 3, 4].map((copy) => ({ ...row, id: `${row.id}-${copy}` })));
    workspace.write('dup.jsonl', `${copies.map((row) => JSON.stringify(row)).join('\n')}\n`);
    workspace.write('experiment.yaml', config(server.baseURL, '{ kind: numeric-match, name: accuracy }', 'dup.jsonl').replace('concurrency: 4', 'concurrency: 8'));
    const slow = judgeBehaviour();
    server.behaviour = (request, self) => ({ ...slow(request, self), ...(request.model.startsWith('judge') ? { delayMs: 150 } : {}) }) as ReturnType<typeof slow>;
    const summary = await cli('run', 'experiment.yaml', '--json');
    expect(summary).toMatchObject({ status: 'completed', done: 8 });
    expect(judgeCalls()).toBe(4);
  });
});
