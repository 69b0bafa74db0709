import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { judgeBehaviour } from '../support/judge-behaviour.js';
import { runCli, startCli, waitFor } from '../support/cli.js';
import { FakeOpenAIServer, type Behaviour, type RecordedRequest } from '../support/openai-server.js';
import { Workspace } from '../support/workspace.js';

// Workspace.arithmetic(count): question i is "What is (10 + i) + (3i + 7)?".
const question = (index: number) => `What is ${10 + index} + ${3 * index + 7}?`;

function config(baseURL: string, tasks: number): string {
  const model = (id: string) => `  - { id: ${id}, provider: openai-compatible, model: ${id}, baseURL: ${baseURL} }`;
  return `name: durable
datasets: [ { id: arith, path: rows.jsonl, input: question, target: expected, idField: id } ]
models:
${model('solver')}
evaluators:
${model('judge-a')}
${model('judge-b')}
${model('parser')}
parse:
  kind: template
  model: parser
  fields:
    - { name: answer, type: number, description: "the final number" }
    - { name: unit, type: string, description: "the unit, or none" }
metrics:
  - kind: template-verify
    name: verified
    fields: { answer: { check: numeric }, unit: { check: case-insensitive } }
    combine: all
judges:
  - id: quality
    kind: rubric
    models: [judge-a, judge-b]
    traits: [ { name: correct, kind: boolean, description: "Is the final number right?" } ]
runtime: { concurrency: 8, store: store.db, maxAttempts: 1, retryBaseDelayMs: 10 }
# ${tasks} tasks
`;
}

function rows(workspace: Workspace, count: number): void {
  const lines = Array.from({ length: count }, (_, offset) => {
    const index = offset + 1;
    return JSON.stringify({ id: `q${index}`, question: question(index), expected: { answer: 10 + index + 3 * index + 7, unit: 'NONE' } });
  });
  workspace.write('rows.jsonl', `${lines.join('\n')}\n`);
}

const byModel = (requests: readonly RecordedRequest[], model: string) => requests.filter((request) => request.model === model);

describe('every evaluator reply is durable as it arrives', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;

  beforeEach(async () => {
    workspace = new Workspace();
    server = await new FakeOpenAIServer(judgeBehaviour()).start();
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  it('a panel where one judge failed keeps the replies of the other and asks only the failed one again', async () => {
    const tasks = 6;
    rows(workspace, tasks);
    workspace.write('exp.yaml', config(server.baseURL, tasks));
    const judge = judgeBehaviour();
    server.behaviour = (request, self) => (request.model === 'judge-b' ? { kind: 'error', status: 500 } : judge(request, self));

    const first = await runCli(['run', 'exp.yaml', '--json'], { cwd: workspace.dir });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ status: 'partial', failed: tasks });
    expect(byModel(server.requests, 'judge-a')).toHaveLength(tasks);
    expect(byModel(server.requests, 'judge-b')).toHaveLength(tasks);

    server.behaviour = judge;
    const second = await runCli(['run', 'exp.yaml', '--json'], { cwd: workspace.dir });
    expect(second.code, second.stderr).toBe(0);
    const summary = JSON.parse(second.stdout);
    expect(summary).toMatchObject({ status: 'completed', done: tasks });
    // judge-a's six replies came from the store; only judge-b was asked again. Nobody else was asked twice.
    expect(byModel(server.requests, 'judge-a')).toHaveLength(tasks);
    expect(byModel(server.requests, 'judge-b')).toHaveLength(2 * tasks);
    expect(byModel(server.requests, 'solver')).toHaveLength(tasks);
    expect(byModel(server.requests, 'parser')).toHaveLength(tasks);
    expect(summary.scores.find((row: { metric: string }) => row.metric === 'quality.correct').mean).toBe(1);
    // Usage counts each reply once, where it was paid for: six judge-a calls in all.
    const usage = summary.usage.find((row: { model: string }) => row.model === 'judge-a');
    expect(usage.calls).toBe(tasks);
  });

  it('kill -9 loses only the calls in flight, for every model role: no reply received before the kill is paid for again', async () => {
    const tasks = 12;
    rows(workspace, tasks);
    workspace.write('exp.yaml', config(server.baseURL, tasks));
    const judge = judgeBehaviour();
    const answeredAt = new Map<RecordedRequest, number>();
    // judge-b takes its time, so tasks sit in the judge stage holding judge-a's reply when the process dies.
    const slow: Behaviour = (request, self) => {
      const reply = judge(request, self);
      const delayMs = request.model === 'judge-b' ? 4000 : 0;
      answeredAt.set(request, request.at + delayMs);
      return { ...reply, delayMs } as ReturnType<Behaviour>;
    };
    server.behaviour = slow;
    const running = startCli(['run', 'exp.yaml', '--quiet'], { cwd: workspace.dir });
    await waitFor(() => byModel(server.requests, 'judge-a').length >= 6, 30_000, 'judge-a to answer');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    running.child.kill('SIGKILL');
    await running.done;
    const killedAt = Date.now();
    const before = [...server.requests];

    server.behaviour = judge;
    const resumed = await runCli(['run', 'exp.yaml', '--json'], { cwd: workspace.dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: 'completed', done: tasks });

    const later = server.requests.slice(before.length);
    for (const role of ['solver', 'parser', 'judge-a']) {
      const settled = byModel(before, role).filter((request) => (answeredAt.get(request) ?? Infinity) < killedAt - 500);
      expect(settled.length, role).toBeGreaterThan(0);
      // A reply that arrived half a second before the kill was committed: it is never asked again.
      for (const request of settled) {
        const again = later.filter((next) => next.model === role && next.prompt === request.prompt && next.system === request.system);
        expect(again, `${role}: ${request.prompt.slice(0, 60)}`).toHaveLength(0);
      }
    }
  });
});
