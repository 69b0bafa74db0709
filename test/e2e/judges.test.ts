import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/stores/open-store.js';
import type { CallRecord } from '../../src/spec/event.js';
import { judgeBehaviour } from '../support/judge-behaviour.js';
import { FakeOpenAIServer } from '../support/openai-server.js';
import { runCli } from '../support/cli.js';
import { Workspace } from '../support/workspace.js';

// Workspace.arithmetic(count): question i is "What is (10 + i) + (3i + 7)?".
const question = (index: number) => `What is ${10 + index} + ${3 * index + 7}?`;

function config(baseURL: string, body: string): string {
  const model = (id: string) => `  - { id: ${id}, provider: openai-compatible, model: ${id}, baseURL: ${baseURL} }`;
  return `name: judged
datasets: [ { id: arith, path: questions.jsonl, input: question, target: answer, idField: id } ]
models:
${model('solver')}
${model('rival')}
evaluators:
${model('judge-a')}
${model('judge-b')}
${model('parser')}
runtime: { concurrency: 4, store: store.db, maxAttempts: 2, retryBaseDelayMs: 10 }
${body}`;
}

const RUBRIC_AND_PAIRWISE = `parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
judges:
  - id: quality
    kind: rubric
    models: [judge-a, judge-b]
    aggregate: mean
    abstention: true
    traits:
      - { name: correct, kind: boolean, description: "Is the final number right?" }
      - { name: clarity, kind: score, min: 1, max: 5, description: "How clear is the answer?" }
      - { name: tone, kind: class, classes: [formal, casual], description: "The register of the answer." }
      - { name: no-apology, kind: regex, pattern: "sorry", invert: true }
      - { name: states-answer, kind: keywords, mustInclude: ["answer"], mustExclude: ["maybe"] }
  - id: vs-rival
    kind: pairwise
    models: [judge-a]
    against: { model: rival }
    swap: true
`;

describe('judges against a local server that plays the judge', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;
  const cli = async (...args: string[]) => {
    const result = await runCli(args, { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    return args.includes('--json') ? JSON.parse(result.stdout) : result.stdout;
  };
  const score = (summary: { scores: { model: string; metric: string; mean: number }[] }, model: string, metric: string) =>
    summary.scores.find((row) => row.model === model && row.metric === metric)?.mean;

  beforeEach(async () => {
    workspace = new Workspace();
    workspace.arithmetic('questions.jsonl', 6);
    server = await new FakeOpenAIServer().start();
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  it('grades with a panel of rubric judges, pattern and keyword traits, abstention and pairwise comparison', async () => {
    server.behaviour = judgeBehaviour({
      refuse: { solver: [question(3)] },
      wrong: { rival: [question(1), question(2)] },
      judgeStyle: { 'judge-b': 'prose' },
    });
    workspace.write('experiment.yaml', config(server.baseURL, RUBRIC_AND_PAIRWISE));
    const summary = await cli('run', 'experiment.yaml', '--json');
    expect(summary).toMatchObject({ status: 'completed', tasks: 12, done: 12, failed: 0 });
    expect(summary.stages.judge).toEqual({ completed: 12, failed: 0, pending: 0, enabled: true });

    // solver: right on 5 of 6, refused q3 (scored 0 on every trait, by pattern, no judge call); rival: 4 of 6.
    expect(score(summary, 'solver', 'accuracy')).toBeCloseTo(5 / 6);
    expect(score(summary, 'solver', 'quality.correct')).toBeCloseTo(5 / 6);
    expect(score(summary, 'rival', 'quality.correct')).toBeCloseTo(4 / 6);
    expect(score(summary, 'solver', 'quality.clarity')).toBeCloseTo(5 / 6);
    expect(score(summary, 'rival', 'quality.clarity')).toBeCloseTo((4 * 1 + 2 * 0.25) / 6);
    expect(score(summary, 'solver', 'quality.no-apology')).toBeCloseTo(5 / 6);
    expect(score(summary, 'solver', 'quality.tone.formal')).toBeCloseTo(5 / 6);
    expect(score(summary, 'rival', 'quality.states-answer')).toBe(1);
    // Pairwise with swapped positions: solver beats rival on q1 and q2, loses q3 (refusal), ties the rest.
    expect(score(summary, 'solver', 'vs-rival.win')).toBeCloseTo((1 + 1 + 0 + 0.5 * 3) / 6);
    expect(score(summary, 'rival', 'vs-rival.win')).toBe(0.5);
    const judgeCalls = server.requests.filter((request) => request.model.startsWith('judge'));
    // 2 x 11 rubric prompts and 2 x 12 pairwise ones, but no prompt goes out twice. Rubric: solver and rival
    // answer q4, q5 and q6 the same way, the same prompt for each of the 2 judges (22 - 6 = 16). Pairwise: a
    // prompt shows two answers; rival against itself reads the same swapped (6 fewer), and where both models
    // answer alike (q4-q6) solver's two orders are one prompt (3 fewer) and rival's is that prompt too (3
    // fewer): 24 - 12 = 12.
    expect(judgeCalls).toHaveLength(16 + 12);
    expect(new Set(judgeCalls.map((request) => JSON.stringify(request.body))).size).toBe(judgeCalls.length);

    const refused = await cli('inspect', 'evaluation', 'experiment.yaml', '--task', 'arith/q3/solver/default/0', '--json');
    const quality = refused.judgments.find((judgment: { judge: string }) => judgment.judge === 'quality');
    expect(quality.executions).toEqual([]);
    expect(quality.aggregation).toMatchObject({ abstained: true, abstainedBy: 'pattern' });
    expect(quality.scores['quality.correct']).toEqual({ value: 0, details: { abstained: true } });
    expect(quality.scores['quality.tone']).toEqual({ value: 0, parts: { formal: 0, casual: 0 }, details: { abstained: true } });

    const graded = await cli('inspect', 'evaluation', 'experiment.yaml', '--task', 'arith/q1/solver/default/0', '--metric', 'quality', '--json');
    expect(graded.judgments).toHaveLength(1);
    const [first, second] = graded.judgments[0].executions;
    expect(first).toMatchObject({ model: 'judge-a', readAs: 'structured', parsed: { correct: true, clarity: 5, tone: 'formal', abstained: false } });
    expect(second).toMatchObject({ model: 'judge-b', readAs: 'json' });
    expect(first.prompt.user).toContain(question(1));
    expect(first.prompt.user).toContain('Answer to judge:\nThe answer is 21.');
    expect(first.rawResponse).toBe(JSON.stringify({ reasoning: 'the number is right', correct: true, clarity: 5, tone: 'formal', abstained: false }));
    expect(graded.judgments[0].aggregation).toMatchObject({ method: 'mean', panel: ['judge-a', 'judge-b'], traits: { correct: { answers: [true, true], combined: 1 } } });
    expect(Object.keys(graded.judgments[0].scores).every((name: string) => name.startsWith('quality.'))).toBe(true);
    const text = await cli('inspect', 'evaluation', 'experiment.yaml', '--task', 'arith/q1/solver/default/0');
    expect(text).toContain('judge quality (rubric)');
    expect(text).toContain('reply read as structured');
  });

  it('records an unreadable judge reply as a failure, and replays the judge stage alone once the judge behaves', async () => {
    server.behaviour = judgeBehaviour({ judgeStyle: { 'judge-a': 'garbage' } });
    workspace.write('experiment.yaml', config(server.baseURL, 'parse: { kind: last-number }\njudges:\n  - { id: check, kind: rubric, models: [judge-a], traits: [ { name: correct, kind: boolean, description: "Right?" } ] }\n'));
    const broken = await cli('run', 'experiment.yaml', '--json');
    expect(broken).toMatchObject({ status: 'partial', failed: 12, done: 0 });
    expect(broken.failures).toEqual([{ stage: 'judge', category: 'invalid_response', count: 12 }]);
    const quick = await cli('quickcheck', 'experiment.yaml', '--json');
    expect(quick.failures.examples[0].failure.attempts).toHaveLength(2);
    expect(quick.failures.examples[0].failure.message).toMatch(/the reply does not give correct$/);
    const answersBefore = server.requests.filter((request) => !request.model.startsWith('judge')).length;

    server.behaviour = judgeBehaviour({ judgeStyle: { 'judge-a': 'labelled' } });
    const replayed = await cli('replay', 'experiment.yaml', '--stage', 'judge', '--json');
    expect(replayed).toMatchObject({ action: 'replayed', status: 'completed', done: 12, failed: 0, modelCalls: 12 });
    expect(score(replayed, 'solver', 'check.correct')).toBe(1);
    expect(server.requests.filter((request) => !request.model.startsWith('judge')).length).toBe(answersBefore);
    const task = await cli('inspect', 'evaluation', 'experiment.yaml', '--task', 'arith/q2/rival/default/0', '--json');
    expect(task.judgments[0].executions[0].readAs).toBe('labelled');
  });

  it('keeps the failed attempts of a judge call that answered on retry, beside its usage', async () => {
    // The rival errs everywhere, so no two tasks show the judge the same prompt.
    const plays = judgeBehaviour({ wrong: { rival: [0, 1, 2, 3, 4, 5, 6].map(question) } });
    // The judge fails its first attempt at every prompt (a 500), then judges.
    server.behaviour = (request, self) =>
      request.model === 'judge-a' && self.requestsFor(request.prompt).filter((seen) => seen.model === 'judge-a').length === 1 ? { kind: 'error', status: 500 } : plays(request, self);
    workspace.write('experiment.yaml', config(server.baseURL, 'parse: { kind: last-number }\njudges:\n  - { id: check, kind: rubric, models: [judge-a], traits: [ { name: correct, kind: boolean, description: "Right?" } ] }\n'));
    const summary = await cli('run', 'experiment.yaml', '--json');
    expect(summary).toMatchObject({ status: 'completed', done: 12, failed: 0 });
    expect(score(summary, 'solver', 'check.correct')).toBe(1);
    expect(score(summary, 'rival', 'check.correct')).toBe(0);

    const store = await openStore(workspace.path('store.db'), { create: false });
    try {
      for (let ord = 0; ord < 12; ord++) {
        const judged = (await store.readTaskEvents(summary.runId, ord)).find((event) => event.type === 'judge-completed')!;
        const calls = (judged.payload as { calls: CallRecord[] }).calls;
        // One reply paid for per task, and it says what failed before it.
        expect(calls, `task ${ord}`).toHaveLength(1);
        expect(calls[0]!.model).toBe('judge-a');
        expect(calls[0]!.failedAttempts, `task ${ord}`).toMatchObject([{ attempt: 1, category: 'server_error', status: 500 }]);
      }
    } finally {
      await store.close();
    }
  });

  it('fills an answer template with a parsing model and verifies it field by field', async () => {
    server.behaviour = judgeBehaviour({ wrong: { rival: [question(4)] } });
    workspace.write('rows.jsonl', [1, 2, 3, 4, 5, 6].map((index) => JSON.stringify({ id: `q${index}`, question: question(index), expected: { answer: 10 + index + 3 * index + 7, unit: 'NONE' } })).join('\n'));
    workspace.write(
      'experiment.yaml',
      config(server.baseURL, `parse:
  kind: template
  model: parser
  fields:
    - { name: answer, type: number, description: "the final number" }
    - { name: unit, type: string, description: "the unit, or none" }
metrics:
  - kind: template-verify
    name: verified
    fields:
      answer: { check: numeric }
      unit: { check: case-insensitive }
    combine: all
`).replace('path: questions.jsonl, input: question, target: answer', 'path: rows.jsonl, input: question, target: expected'),
    );
    const summary = await cli('run', 'experiment.yaml', '--json');
    expect(summary).toMatchObject({ status: 'completed', done: 12 });
    expect(score(summary, 'solver', 'verified')).toBe(1);
    expect(score(summary, 'rival', 'verified')).toBeCloseTo(5 / 6);
    expect(score(summary, 'rival', 'verified.answer')).toBeCloseTo(5 / 6);
    expect(score(summary, 'rival', 'verified.unit')).toBe(1);
    const task = await cli('inspect', 'evaluation', 'experiment.yaml', '--task', 'arith/q4/rival/default/0', '--json');
    expect(task.parsed).toMatchObject({ ok: true, value: { answer: 34, unit: 'none' }, details: { readAs: 'structured', model: 'parser' } });
    expect(task.scores.verified).toMatchObject({ value: 0, parts: { answer: 0, unit: 1 }, details: { fields: { answer: { expected: 33, actual: 34, passed: false } } } });
    // Both models answer five of the six the same way, and the same parsing request is sent once: 12 - 5.
    const parses = server.requests.filter((request) => request.model === 'parser');
    expect(parses).toHaveLength(7);
    expect(new Set(parses.map((request) => request.prompt)).size).toBe(7);
  });

  it('lets a judge model choose the best of several samples, and computes pass@k', async () => {
    let calls = 0;
    const base = judgeBehaviour();
    // The answering model is right only on every third call, so each task's 3 samples hold one right answer.
    server.behaviour = (request, self) => {
      if (request.model === 'solver' || request.model === 'rival') {
        calls++;
        const match = /(\d+) \+ (\d+)/.exec(request.prompt)!;
        const value = Number(match[1]) + Number(match[2]) + (calls % 3 === 0 ? 0 : 1);
        return { kind: 'answer', text: `The answer is ${value}.` };
      }
      return base(request, self);
    };
    workspace.write(
      'experiment.yaml',
      config(server.baseURL, `samples: 3
reduce: { kind: best-of, model: judge-a }
parse: { kind: last-number }
metrics:
  - { kind: numeric-match, name: accuracy }
  - { kind: pass-at-k, k: 1, of: { kind: numeric-match } }
  - { kind: pass-at-k, k: 3, of: { kind: numeric-match } }
`).replace('concurrency: 4', 'concurrency: 1'),
    );
    const summary = await cli('run', 'experiment.yaml', '--json');
    expect(summary).toMatchObject({ status: 'completed', done: 12 });
    expect(score(summary, 'solver', 'accuracy')).toBe(1);
    expect(score(summary, 'solver', 'pass@1')).toBeCloseTo(1 / 3);
    expect(score(summary, 'solver', 'pass@3')).toBe(1);
    const task = await cli('inspect', 'evaluation', 'experiment.yaml', '--task', 'arith/q1/solver/default/0', '--json');
    expect(task.candidates).toHaveLength(3);
    expect(task.reduced.details).toMatchObject({ chooser: 'judge-a', reason: 'it has the right number' });
    expect(task.reduced.text).toBe('The answer is 21.');
  });
});
