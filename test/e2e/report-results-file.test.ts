import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { Workspace } from '../support/workspace.js';

const QUICKSTART = fileURLToPath(new URL('../../examples/quickstart.yaml', import.meta.url));

// The quickstart's questions with a field of their own, for --by.
const TOPICS_CONFIG = `name: topics
datasets: [ { id: questions, path: topics.jsonl, input: question, target: answer, idField: id } ]
models:
  - { id: strong, provider: mock, options: { accuracy: 0.9 } }
  - { id: weak, provider: mock, options: { accuracy: 0.5 } }
prompt: { user: "{{input}}" }
replicates: 2
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
`;

type Report = { groups: unknown[]; comparisons: unknown[]; tasks: Record<string, number>; runId: string; generatedAt?: string };

describe('assay report on a finished progressive-save job (its results JSON)', () => {
  const workspace = new Workspace();
  const cli = async (args: string[], expectedCode = 0) => {
    const result = await runCli(args, { cwd: workspace.dir });
    expect(result.code, `assay ${args.join(' ')}\n${result.stderr}`).toBe(expectedCode);
    return result;
  };
  const json = async <T = Report>(args: string[]) => JSON.parse((await cli(args)).stdout) as T;
  const view = (report: Report) => ({ groups: report.groups, comparisons: report.comparisons });

  beforeAll(async () => {
    const lines = readFileSync(fileURLToPath(new URL('../../examples/data/arithmetic.jsonl', import.meta.url)), 'utf8').trimEnd().split('\n');
    const topics = lines.slice(0, 24).map((line, index) => JSON.stringify({ ...JSON.parse(line), topic: ['sums', 'products', 'mixed'][index % 3] }));
    workspace.write('topics.jsonl', `${topics.join('\n')}\n`);
    workspace.write('topics.yaml', TOPICS_CONFIG);
    await cli(['run', QUICKSTART, '--output', 'out/results.json', '--progressive-save', '--quiet']);
    await cli(['run', QUICKSTART, '--store', 'store.db', '--quiet']);
    await cli(['run', 'topics.yaml', '--output', 'out/topics.json', '--progressive-save', '--quiet']);
    await cli(['run', 'topics.yaml', '--store', 'store.db', '--quiet']);
  });
  afterAll(() => workspace.remove());

  it('finishes with the results file alone, and reports on it as on the same run in a store', async () => {
    expect(workspace.exists('out/results.json.state')).toBe(false);
    expect(workspace.exists('out/results.json.tmp')).toBe(false);
    const fromFile = await json(['report', 'out/results.json', '--json']);
    const fromStore = await json(['report', QUICKSTART, '--store', 'store.db', '--json']);
    expect(fromFile.runId).toBe(fromStore.runId);
    expect(fromFile.groups.length).toBeGreaterThan(0);
    expect(fromFile.comparisons.length).toBeGreaterThan(0);
    expect(view(fromFile)).toEqual(view(fromStore));
    // Everything else agrees too, but the two runs' timings (the mock answers in microseconds, each time anew).
    const untimed = ({ generatedAt: _at, latency, ...rest }: Report & { latency?: { model: string; calls: number }[] }) => ({
      ...rest,
      latency: latency?.map(({ model, calls }) => ({ model, calls })),
    });
    expect(untimed(fromFile)).toEqual(untimed(fromStore));
    // Markdown too, and a comparison of two results files.
    expect((await cli(['report', 'out/results.json'])).stdout).toContain('careful-mock');
    expect((await cli(['compare', 'out/results.json', 'out/results.json'])).stdout).toContain('50 items in common');
  });

  it('quickchecks, inspects and exports from the results file', async () => {
    const check = await json<{ runId: string; status: string; done: number; scores: { metric: string; n: number }[] }>(['quickcheck', 'out/results.json', '--json']);
    const stored = await json<typeof check>(['quickcheck', QUICKSTART, '--store', 'store.db', '--json']);
    expect(check).toMatchObject({ status: 'completed', done: 100 });
    expect(check.scores).toEqual(stored.scores);
    const state = await json<{ tasks: number; done: number }>(['inspect', 'state', 'out/results.json', '--json']);
    expect(state).toMatchObject({ tasks: 100, done: 100 });
    const exported = await json<{ records: number; items: number }>(['export', 'generation', 'out/results.json', '-o', 'gen.jsonl', '--json']);
    expect(exported).toMatchObject({ records: 100, items: 50 });
  });

  it('splits by a field of the dataset, read from the results file', async () => {
    const fromFile = await json(['report', 'out/topics.json', '--by', 'topic', '--json']);
    const fromStore = await json(['report', 'topics.yaml', '--store', 'store.db', '--by', 'topic', '--json']);
    const splits = new Set((fromFile.groups as { by: Record<string, string> }[]).map((group) => group.by.topic));
    expect(splits).toEqual(new Set([undefined, 'sums', 'products', 'mixed']));
    expect(view(fromFile)).toEqual(view(fromStore));
  });

  it('refuses a write with one line and leaves the file byte for byte', async () => {
    const before = readFileSync(workspace.path('out/results.json'));
    const files = readdirSync(workspace.path('out'));
    const replay = await cli(['replay', 'out/results.json', '--stage', 'score'], 1);
    const lines = replay.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/results\.json: a results file is read-only .*run the job again$/);
    expect(readFileSync(workspace.path('out/results.json')).equals(before)).toBe(true);
    expect(readdirSync(workspace.path('out'))).toEqual(files);
  });

  it('still reports on a results file written without item fields (an older assay)', async () => {
    const text = readFileSync(workspace.path('out/results.json'), 'utf8');
    const old = text.replace(/\n"items":\[\n[\s\S]*?\n\],\n"results":\[/, '\n"results":[');
    expect(old).not.toContain('"items"');
    writeFileSync(workspace.path('out/old.json'), old);
    const fromOld = await json(['report', 'out/old.json', '--json']);
    const fromNew = await json(['report', 'out/results.json', '--json']);
    expect(view(fromOld)).toEqual(view(fromNew));
    // Its items have only their input and target.
    const refused = await cli(['report', 'out/old.json', '--by', 'question'], 1);
    expect(refused.stderr).toMatch(/no item of run \w+ has a field 'question'; the items have: input, target/);
  });

  it('tells a results CSV holds no run, in one line', async () => {
    await cli(['run', QUICKSTART, '--output', 'out/results.csv', '--progressive-save', '--quiet']);
    const refused = await cli(['report', 'out/results.csv'], 1);
    expect(refused.stderr.trim().split('\n')).toEqual([
      'assay: error: out/results.csv is a CSV results file, which holds no run; write the JSON output (--output results.json) to report on a run later',
    ]);
  });
});
