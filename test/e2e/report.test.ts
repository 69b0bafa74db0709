import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/stores/open-store.js';
import { judgeBehaviour } from '../support/judge-behaviour.js';
import { FakeOpenAIServer, type Reply } from '../support/openai-server.js';
import { runCli } from '../support/cli.js';
import { Workspace } from '../support/workspace.js';

interface Group {
  model: string;
  prompt: string;
  dataset: string;
  by: Record<string, string>;
  metric: string;
  kind: string;
  n: number;
  observations: number;
  failed: number;
  pending: number;
  mean: number;
  se: number | null;
  ci: [number, number] | null;
  ciMethod: string;
  withinItemShare: number | null;
  cluster: { field: string; clusters: number; designEffect: number | null } | null;
}

const find = (groups: Group[], model: string, metric: string, by: Record<string, string> = {}) =>
  groups.find((group) => group.model === model && group.metric === metric && JSON.stringify(group.by) === JSON.stringify(by));

// Six passages' worth of questions: two per subject, each subject one passage, asked three times of two mock models.
const TOPICS = [
  { id: 'a1', question: 'What is 2 + 2?', answer: '4', subject: 'sums', passage: 'p1', level: 'easy' },
  { id: 'a2', question: 'What is 3 + 5?', answer: '8', subject: 'sums', passage: 'p1' },
  { id: 'b1', question: 'What is 6 * 7?', answer: '42', subject: 'products', passage: 'p2', level: 'hard' },
  { id: 'b2', question: 'What is 9 * 3?', answer: '27', subject: 'products', passage: 'p2' },
  { id: 'c1', question: 'What is 10 - 4?', answer: '6', subject: 'differences', passage: 'p3' },
  { id: 'c2', question: 'What is 12 - 5?', answer: '7', subject: 'differences', passage: 'p3' },
];
const TOPICS_CONFIG = `name: topics
datasets: [ { id: reading, path: topics.jsonl, input: question, target: answer, idField: id } ]
models:
  - { id: strong, provider: mock, options: { accuracy: 0.9 } }
  - { id: weak, provider: mock, options: { accuracy: 0.5 } }
prompt: { user: "{{input}}" }
replicates: 3
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
runtime: { store: store.db }
`;

describe('assay report over a run with replicates, splits and clusters', () => {
  const workspace = new Workspace();
  let report: { groups: Group[]; comparisons: Record<string, unknown>[]; tasks: Record<string, number> };
  /** Per model and item: the replicates' scores, read straight from the store. */
  const scores = new Map<string, number[]>();

  beforeAll(async () => {
    workspace.write('topics.jsonl', `${TOPICS.map((row) => JSON.stringify(row)).join('\n')}\n`);
    workspace.write('topics.yaml', TOPICS_CONFIG);
    const run = await runCli(['run', 'topics.yaml', '--json'], { cwd: workspace.dir });
    expect(run.code, run.stderr).toBe(0);
    const { runId } = JSON.parse(run.stdout);
    const result = await runCli(['report', 'topics.yaml', '--by', 'subject', '--cluster', 'passage', '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    report = JSON.parse(result.stdout);
    const store = await openStore(workspace.path('store.db'), { create: false });
    try {
      const artifacts = await store.loadArtifacts(runId, Array.from({ length: 36 }, (_, ord) => ord));
      // Tasks are item-major: item, then model, then replicate (one prompt).
      for (const [ord, found] of artifacts) {
        const item = TOPICS[Math.floor(ord / 6)]!.id;
        const model = Math.floor((ord % 6) / 3) === 0 ? 'strong' : 'weak';
        const key = `${model}/${item}`;
        scores.set(key, [...(scores.get(key) ?? []), found.scores!.accuracy!.value]);
      }
    } finally {
      await store.close();
    }
  });
  afterAll(() => workspace.remove());

  it('averages the replicates of each item first: n counts items, the mean is the mean of item means', () => {
    expect(report.tasks).toEqual({ total: 36, scored: 36, failed: 0, pending: 0 });
    for (const model of ['strong', 'weak']) {
      const group = find(report.groups, model, 'accuracy')!;
      const itemMeans = TOPICS.map((row) => scores.get(`${model}/${row.id}`)!).map((values) => values.reduce((sum, value) => sum + value, 0) / values.length);
      expect(group).toMatchObject({ n: 6, observations: 18, failed: 0, pending: 0, kind: 'metric', dataset: 'reading' });
      expect(group.mean).toBeCloseTo(itemMeans.reduce((sum, value) => sum + value, 0) / 6, 12);
      // Item means of three 0/1 replicates are not 0/1: a t interval, whatever the clustering adds.
      expect(group.ciMethod).toBe('clustered-t');
      expect(group.cluster).toMatchObject({ field: 'passage', clusters: 3 });
    }
  });

  it('reports the within-item share of the replicates: 0 when they always agree, in (0, 1] when they do not', () => {
    for (const model of ['strong', 'weak']) {
      const group = find(report.groups, model, 'accuracy')!;
      const perItem = TOPICS.map((row) => scores.get(`${model}/${row.id}`)!);
      const disagree = perItem.some((values) => new Set(values).size > 1);
      if (!disagree) expect(group.withinItemShare).toBe(0);
      else {
        expect(group.withinItemShare).toBeGreaterThan(0);
        expect(group.withinItemShare).toBeLessThanOrEqual(1);
      }
    }
  });

  it('splits every group by the --by field: the splits partition the items and their means add back up', () => {
    for (const model of ['strong', 'weak']) {
      const whole = find(report.groups, model, 'accuracy')!;
      const splits = ['sums', 'products', 'differences'].map((subject) => find(report.groups, model, 'accuracy', { subject })!);
      expect(splits.map((split) => split.n)).toEqual([2, 2, 2]);
      expect(splits.reduce((sum, split) => sum + split.mean * split.n, 0) / 6).toBeCloseTo(whole.mean, 12);
      // Each split holds one passage: one cluster, so no clustered error can be given, and it says so with null.
      for (const split of splits) expect(split).toMatchObject({ se: null, ci: null, cluster: { clusters: 1 } });
    }
  });

  it('pairs the two models over the six items, tested with the clustered t the interval uses', () => {
    expect(report.comparisons).toHaveLength(1);
    const [comparison] = report.comparisons as { a: { model: string }; b: { model: string }; n: number; test: string; meanDiff: number }[];
    expect(comparison).toMatchObject({ a: { model: 'strong' }, b: { model: 'weak' }, n: 6, test: 'clustered-t', ciMethod: 'clustered-t' });
    expect(comparison!.meanDiff).toBeCloseTo(find(report.groups, 'strong', 'accuracy')!.mean - find(report.groups, 'weak', 'accuracy')!.mean, 12);
  });

  it('reports a run rebuilt from bundles in another store exactly as the run it came from', async () => {
    for (const kind of ['generation', 'reduction', 'parse', 'score']) {
      const exported = await runCli(['export', kind, 'topics.yaml', '-o', `${kind}.jsonl`], { cwd: workspace.dir });
      expect(exported.code, exported.stderr).toBe(0);
      const imported = await runCli(['import', `${kind}.jsonl`, '--store', 'elsewhere.db'], { cwd: workspace.dir });
      expect(imported.code, imported.stderr).toBe(0);
    }
    const result = await runCli(['report', 'topics.yaml', '--store', 'elsewhere.db', '--by', 'subject', '--cluster', 'passage', '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    const rebuilt = JSON.parse(result.stdout);
    expect(rebuilt.groups).toEqual(report.groups);
    expect(rebuilt.comparisons).toEqual(report.comparisons);
    expect(rebuilt.tasks).toEqual(report.tasks);
  });

  it('puts the items that lack a --by field in a (missing) split of their own, last', async () => {
    const result = await runCli(['report', 'topics.yaml', '--by', 'level', '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    const groups = (JSON.parse(result.stdout).groups as Group[]).filter((group) => group.model === 'strong' && Object.keys(group.by).length > 0);
    expect(groups.map((group) => [group.by.level, group.n])).toEqual([['easy', 1], ['hard', 1], ['(missing)', 4]]);
  });

  it('writes the same numbers as CSV, and refuses what the run does not have with one line', async () => {
    const csv = await runCli(['report', 'topics.yaml', '--by', 'subject', '--format', 'csv', '--out', 'report.csv'], { cwd: workspace.dir });
    expect(csv.code, csv.stderr).toBe(0);
    const lines = readFileSync(workspace.path('report.csv'), 'utf8').trim().split('\n');
    expect(lines[0]!.startsWith('row,metric,kind,dataset,split,model,prompt,n,mean,se,ci_low,ci_high')).toBe(true);
    expect(lines.filter((line) => line.startsWith('group,'))).toHaveLength(8);
    expect(lines.filter((line) => line.startsWith('comparison,'))).toHaveLength(1);
    const strong = lines.find((line) => line.startsWith('group,accuracy,metric,reading,all,strong,'))!.split(',');
    expect(Number(strong[8])).toBeCloseTo(find(report.groups, 'strong', 'accuracy')!.mean, 12);

    for (const [args, message] of [
      [['--by', 'colour'], /no item of run [0-9a-f]{12} has a field 'colour'; the items have: id, question, answer, subject, passage/],
      [['--cluster', 'colour'], /has a field 'colour'/],
      [['--metric', 'f1'], /has no scores named 'f1'; its scores are: accuracy/],
      [['--baseline', 'gpt-9'], /--baseline gpt-9 is not a model of this run; its models are: strong, weak/],
      [['--level', '95'], /--level must be a number between 0 and 1/],
      [['--out', 'no/such/folder/report.md'], /cannot write the report to .*no\/such\/folder\/report\.md: its folder does not exist/],
      [['--out', '.'], /cannot write the report to .*: it is a folder/],
      [['--json', '--format', 'csv'], /--json prints the JSON document; it cannot go with --format csv/],
    ] as const) {
      const result = await runCli(['report', 'topics.yaml', ...args], { cwd: workspace.dir });
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stdout).toBe('');
    }
  });
});

describe('assay report and compare on runs answered over HTTP, with a judge panel that disagrees', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;
  const question = (index: number) => `What is ${10 + index} + ${3 * index + 7}?`;
  const model = (id: string, baseURL: string) => `  - { id: ${id}, provider: openai-compatible, model: ${id}, baseURL: ${baseURL} }`;
  const config = (baseURL: string, answering: string[], name = 'judged') => `name: ${name}
datasets: [ { id: arith, path: questions.jsonl, input: question, target: answer, idField: id } ]
models:
${answering.map((id) => model(id, baseURL)).join('\n')}
evaluators:
${model('judge-a', baseURL)}
${model('judge-b', baseURL)}
runtime: { concurrency: 4, store: store.db, maxAttempts: 2, retryBaseDelayMs: 10 }
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
judges:
  - id: quality
    kind: rubric
    models: [judge-a, judge-b]
    traits:
      - { name: correct, kind: boolean, description: "Is the final number right?" }
      - { name: clarity, kind: score, min: 1, max: 5, description: "How clear is the answer?" }
`;
  const cli = async (...args: string[]) => {
    const result = await runCli(args, { cwd: workspace.dir });
    expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(0);
    return args.includes('--json') ? JSON.parse(result.stdout) : result.stdout;
  };

  beforeEach(async () => {
    workspace = new Workspace();
    workspace.arithmetic('questions.jsonl', 6);
    server = await new FakeOpenAIServer().start();
    // solver is always right; rival errs on q1 and q2. judge-b reverses its verdict on q2 and q5.
    const base = judgeBehaviour({ wrong: { rival: [question(1), question(2)] } });
    server.behaviour = (request, self) => {
      const reply = base(request, self);
      const flipped = [question(2), question(5)].some((text) => request.prompt.includes(`Question:\n${text}`));
      if (request.model !== 'judge-b' || !flipped || reply.kind !== 'answer') return reply;
      const values = JSON.parse(reply.text) as { correct: boolean; clarity: number };
      return { kind: 'answer', text: JSON.stringify({ ...values, correct: !values.correct, clarity: values.correct ? 2 : 5 }) };
    };
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  it('reports judge traits, their agreement, McNemar on accuracy, latency and usage per stage', async () => {
    workspace.write('experiment.yaml', config(server.baseURL, ['solver', 'rival']));
    await cli('run', 'experiment.yaml', '--json');
    const report = await cli('report', 'experiment.yaml', '--json');
    expect(report.schema).toBe('assay.report.v1');
    expect(find(report.groups, 'solver', 'accuracy')).toMatchObject({ n: 6, mean: 1, ciMethod: 'wilson', kind: 'metric' });
    expect(find(report.groups, 'rival', 'accuracy')!.mean).toBeCloseTo(4 / 6, 12);
    // Panel mean of two judges: not 0/1 where they disagree, so t.
    expect(find(report.groups, 'solver', 'quality.correct')).toMatchObject({ kind: 'judge', n: 6, ciMethod: 't' });
    // judge-a says 1 on all six, judge-b 0 on q2 and q5: item means 1, 0.5, 1, 1, 0.5, 1.
    expect(find(report.groups, 'solver', 'quality.correct')!.mean).toBeCloseTo(5 / 6, 12);

    const accuracy = report.comparisons.find((entry: { metric: string }) => entry.metric === 'accuracy');
    // solver right where rival is wrong on 2 items, never the other way: exact McNemar p = 2 * 0.5^2 = 0.5.
    expect(accuracy).toMatchObject({ a: { model: 'solver' }, b: { model: 'rival' }, n: 6, test: 'mcnemar-exact', flipped: [2, 0] });
    expect(accuracy.pValue).toBeCloseTo(0.5, 12);

    // Reference: Krippendorff's alpha over the 12 judged tasks, computed with an independent coincidence-
    // matrix implementation in python3/numpy (units [judge-a, judge-b]; correct nominal, clarity interval):
    // both 0.14814814814814814.
    const agreement = Object.fromEntries(report.agreement.map((row: { trait: string }) => [row.trait, row]));
    expect(agreement.correct).toMatchObject({ judge: 'quality', measure: 'krippendorff-alpha', level: 'nominal', units: 12, raters: 2 });
    expect(agreement.correct.value).toBeCloseTo(0.14814814814814814, 12);
    expect(agreement.clarity).toMatchObject({ level: 'interval', units: 12 });
    expect(agreement.clarity.value).toBeCloseTo(0.14814814814814814, 12);

    expect(report.latency.map((row: { model: string; calls: number }) => [row.model, row.calls])).toEqual([['solver', 6], ['rival', 6]]);
    for (const row of report.latency) expect(row.p95Ms).toBeGreaterThanOrEqual(row.p50Ms);
    const judged = report.usage.filter((row: { stage: string }) => row.stage === 'judge');
    // 12 judged tasks, but solver and rival answer q3-q6 alike: those prompts are sent once, 8 per judge.
    expect(judged.map((row: { model: string; calls: number }) => [row.model, row.calls])).toEqual([['judge-a', 8], ['judge-b', 8]]);

    const markdown = await cli('report', 'experiment.yaml');
    expect(markdown).toContain("| quality | correct | 0.148 | nominal | 12 | 2 |");
    expect(markdown).toContain('exact McNemar');
  });

  it('compares two runs item by item and lists the items that flipped; refuses runs with no items in common', async () => {
    workspace.write('solver.yaml', config(server.baseURL, ['solver'], 'solver-run'));
    workspace.write('rival.yaml', config(server.baseURL, ['rival'], 'rival-run'));
    await cli('run', 'solver.yaml', '--json');
    await cli('run', 'rival.yaml', '--json');
    const compared = await cli('compare', 'solver.yaml', 'rival.yaml', '--metric', 'accuracy', '--json');
    expect(compared).toMatchObject({ schema: 'assay.compare.v1', sharedItems: 6, onlyInA: 0, onlyInB: 0, unmatched: [], runA: { name: 'solver-run' }, runB: { name: 'rival-run' } });
    expect(compared.comparisons).toHaveLength(1);
    expect(compared.comparisons[0]).toMatchObject({ metric: 'accuracy', a: { model: 'solver' }, b: { model: 'rival' }, n: 6, flipped: [2, 0], test: 'mcnemar-exact' });
    expect(compared.flippedItems[0].aOnly.map((item: { item: string }) => item.item)).toEqual(['q1', 'q2']);
    expect(compared.flippedItems[0].bOnly).toEqual([]);
    const markdown = await cli('compare', 'solver.yaml', 'rival.yaml');
    expect(markdown).toContain('Better in a (2):');
    expect(markdown).toMatch(/\| arith \| q1 \| 1\.000 \| 0\.000 \|/);

    workspace.arithmetic('other.jsonl', 3, 100);
    workspace.write('other.yaml', config(server.baseURL, ['solver'], 'other').replace('id: arith, path: questions.jsonl', 'id: other, path: other.jsonl'));
    await cli('run', 'other.yaml', '--json');
    const refused = await runCli(['compare', 'solver.yaml', 'other.yaml'], { cwd: workspace.dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/runs [0-9a-f]{12} and [0-9a-f]{12} have no items in common \(datasets arith and other\)/);
  });

  it('keeps a model whose every task failed in the table: n 0, no mean, its failures counted', async () => {
    const judged = server.behaviour;
    server.behaviour = (request, self) => (request.model === 'broken' ? { kind: 'error', status: 400, body: JSON.stringify({ error: { message: 'bad request' } }) } : judged(request, self));
    workspace.write('experiment.yaml', config(server.baseURL, ['solver', 'broken']));
    await cli('run', 'experiment.yaml', '--json');
    const report = await cli('report', 'experiment.yaml', '--json');
    expect(find(report.groups, 'broken', 'accuracy')).toMatchObject({ n: 0, mean: null, se: null, ci: null, failed: 6, pending: 0 });
    expect(find(report.groups, 'solver', 'accuracy')).toMatchObject({ n: 6, failed: 0 });
    expect(report.comparisons.filter((entry: { b: { model: string } }) => entry.b.model === 'broken')).toEqual([]);
    const markdown = await cli('report', 'experiment.yaml');
    expect(markdown).toMatch(/\| broken \| default \| arith \| all \| accuracy \| 0 \| – \| – \| – \| – \| 6 \| 0 \|/);
  });

  it('refuses a run with nothing scored yet, saying how far it got', async () => {
    workspace.write('experiment.yaml', config(server.baseURL, ['solver']));
    await cli('run', 'experiment.yaml', '--until-stage', 'generate', '--json');
    const result = await runCli(['report', 'experiment.yaml'], { cwd: workspace.dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/has nothing scored yet \(completed, complete through generate\)/);
  });
});
