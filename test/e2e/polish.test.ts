import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startCli, waitFor } from '../support/cli.js';
import { Workspace } from '../support/workspace.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

describe('rough edges of the first hour', () => {
  let workspace: Workspace;
  const cli = (args: string[], env: Record<string, string | undefined> = {}) => runCli(args, { cwd: workspace.dir, env });

  beforeEach(() => {
    workspace = new Workspace();
    mkdirSync(workspace.path('data'));
    copyFileSync(`${EXAMPLES}quickstart.yaml`, workspace.path('quickstart.yaml'));
    copyFileSync(`${EXAMPLES}data/arithmetic.jsonl`, workspace.path('data', 'arithmetic.jsonl'));
  });
  afterEach(() => workspace.remove());

  it('reports a run without judges complete through score, its last stage, and reuses it when run again', async () => {
    const text = await cli(['run', 'quickstart.yaml', '--quiet']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/: completed through score\n/);
    expect(text.stdout).not.toContain('through judge');

    const check = await cli(['quickcheck', 'quickstart.yaml']);
    expect(check.stdout).toContain('(complete through score)');
    expect(check.stdout).toContain('judge -');
    const checkJson = JSON.parse((await cli(['quickcheck', 'quickstart.yaml', '--json'])).stdout) as { completedThroughStage: string };
    expect(checkJson.completedThroughStage).toBe('score');
    const state = await cli(['inspect', 'state', 'quickstart.yaml']);
    expect(state.stdout).toContain('complete through score');

    const again = await cli(['run', 'quickstart.yaml', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ action: 'reused', status: 'completed', completedThroughStage: 'score', modelCalls: 0, done: 100 });
    expect(again.stderr).toContain('already complete through score');
  });
});

describe('progressive save status', () => {
  let workspace: Workspace;
  const cli = (args: string[]) => runCli(args, { cwd: workspace.dir });

  beforeEach(() => {
    workspace = new Workspace();
    mkdirSync(workspace.path('data'));
    copyFileSync(`${EXAMPLES}data/arithmetic.jsonl`, workspace.path('data', 'arithmetic.jsonl'));
    workspace.write('quickstart.yaml', quickstart());
  });
  afterEach(() => workspace.remove());

  it('after --until-stage generate: progress against that stage, and the results file is written when every stage is done', async () => {
    const ran = await cli(['run', 'quickstart.yaml', '--until-stage', 'generate', '--output', 'results.json', '--progressive-save', '--quiet']);
    expect(ran.code, ran.stderr).toBe(0);
    // The run summary names the progress file and the results file, not a "store".
    expect(ran.stdout).not.toContain('store:');
    expect(ran.stdout).toContain(`progress: ${workspace.path('results.json.state')}\n`);
    expect(ran.stdout).toContain(`results file: ${workspace.path('results.json')}, written when every stage of every task is done`);

    const status = await cli(['status', 'results.json.state']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/tasks {3}100\/100 completed \(100\.0%\) through generate, the stage this job was asked to reach · 0 failed · 0 pending/);
    expect(status.stdout).toContain('not written yet; it is written when every stage of every task is done');
    expect(status.stdout).toContain('state   stopped: no process is running this job; run the later stages and write the results file with assay run --resume results.json.state');
    expect(JSON.parse((await cli(['status', 'results.json.state', '--json'])).stdout)).toMatchObject({ finished: false, untilStage: 'generate', running: false, etaSeconds: null });

    const finished = await cli(['run', '--resume', 'results.json.state', '--quiet']);
    expect(finished.code, finished.stderr).toBe(0);
    expect(finished.stdout).toContain(`results file: ${workspace.path('results.json')}\n`);
    expect(finished.stdout).not.toContain('store:');
  });

  it('after the job finished, says so and where its results are', async () => {
    expect((await cli(['run', 'quickstart.yaml', '--output', 'results.json', '--progressive-save', '--quiet'])).code).toBe(0);
    expect(workspace.exists('results.json.state')).toBe(false);
    const text = await cli(['status', 'results.json.state']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`finished: the job is done and its results are in ${workspace.path('results.json')}`);
    const json = await cli(['status', 'results.json.state', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ finished: true, outputPath: workspace.path('results.json') });
    // With no results file either, it is still an error.
    const missing = await cli(['status', 'other.json.state']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('does not exist');
  });

  it('shows a killed job as stopped, with no rate or ETA', async () => {
    workspace.write('quickstart.yaml', quickstart(150));
    const job = startCli(['run', 'quickstart.yaml', '--output', 'results.json', '--progressive-save', '--quiet'], { cwd: workspace.dir });
    const progress = () => (workspace.exists('results.json.state') ? (JSON.parse(readFileSync(workspace.path('results.json.state'), 'utf8')) as { counts: { completed: number } }).counts.completed : 0);
    await waitFor(() => progress() >= 10, 30_000, '10 tasks in the .state');
    const running = JSON.parse((await cli(['status', 'results.json.state', '--json'])).stdout) as { running: boolean; holder: { pid: number } };
    expect(running).toMatchObject({ running: true, holder: { pid: job.child.pid } });
    expect((await cli(['status', 'results.json.state'])).stdout).toMatch(/rate {4}[\d.]+ tasks\/s · ETA /);
    job.child.kill('SIGKILL');
    await job.done;

    const text = await cli(['status', 'results.json.state']);
    expect(text.stdout).toContain('state   stopped: no process is running this job; continue it with assay run --resume results.json.state');
    expect(text.stdout).toContain('running when it was last saved, now stopped');
    expect(text.stdout).not.toMatch(/ETA|tasks\/s/);
    expect(JSON.parse((await cli(['status', 'results.json.state', '--json'])).stdout)).toMatchObject({ running: false, etaSeconds: null });
  });

  it('names the config fields that changed when refusing --resume', async () => {
    await cli(['run', 'quickstart.yaml', '--until-stage', 'generate', '--output', 'results.json', '--progressive-save', '--quiet']);
    workspace.write('quickstart.yaml', quickstart().replace('accuracy: 0.6', 'accuracy: 0.7').replace('user: "{{input}}"', 'user: "Q: {{input}}"'));
    const refused = await cli(['run', '--resume', 'results.json.state']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('configuration has changed since the job started (models[1].options.accuracy, prompt.user); restore it');
  });
});

/** The quickstart, with each mock call taking `latencyMs` (a transport setting) and two calls at a time. */
function quickstart(latencyMs = 0): string {
  const text = readFileSync(`${EXAMPLES}quickstart.yaml`, 'utf8');
  if (latencyMs === 0) return text;
  return `${text.replace(/options: \{ accuracy: ([\d.]+) \}/g, `options: { accuracy: $1, latencyMs: ${latencyMs} }`)}runtime: { concurrency: 2 }\n`;
}

describe('progress after a resume', () => {
  let workspace: Workspace;

  beforeEach(() => {
    workspace = new Workspace();
    mkdirSync(workspace.path('data'));
    copyFileSync(`${EXAMPLES}data/arithmetic.jsonl`, workspace.path('data', 'arithmetic.jsonl'));
    workspace.write('quickstart.yaml', quickstart(30));
  });
  afterEach(() => workspace.remove());

  it("shows the run's totals, earlier sessions included, overall and per model", async () => {
    const first = startCli(['run', 'quickstart.yaml'], { cwd: workspace.dir });
    const done = () => Math.max(0, ...[...first.output().stderr.matchAll(/\[assay\] (\d+)\/100 tasks/g)].map((match) => Number(match[1])));
    await waitFor(() => done() >= 20, 30_000, '20 tasks done');
    first.child.kill('SIGKILL');
    await first.done;

    const resumed = await runCli(['run', 'quickstart.yaml'], { cwd: workspace.dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    const calls = Number(/(\d+) model calls this session/.exec(resumed.stdout)![1]);
    expect(calls).toBeLessThan(90);
    // The last report: the run's 100 tasks and each model's 50, not what this session did.
    const lines = resumed.stderr.trimEnd().split('\n').filter((line) => line.startsWith('[assay]')).slice(-3);
    expect(lines[0]).toMatch(/^\[assay\] 100\/100 tasks \(100\.0%\) · [\d.]+\/s · ETA 0ms · 0 failed/);
    expect(lines[1]).toMatch(/^\[assay\] {3}careful-mock: 50\/50 · [\d.]+\/s · ETA 0ms/);
    expect(lines[2]).toMatch(/^\[assay\] {3}sloppy-mock: 50\/50 · [\d.]+\/s · ETA 0ms/);
  });
});

describe('inspect evaluation', () => {
  let workspace: Workspace;
  afterEach(() => workspace.remove());

  it('shows the input, the target and the prompt as sent to the answering model, terminal-safe', async () => {
    workspace = new Workspace();
    workspace.write(
      'data/questions.jsonl',
      [
        JSON.stringify({ id: 'q1', question: 'What is 2 + 3?', answer: '5', topic: 'sums' }),
        JSON.stringify({ id: 'q2', question: 'What is 4 + 4?\u001b[2J', answer: '8', topic: 'more sums' }),
      ].join('\n') + '\n',
    );
    workspace.write(
      'exp.yaml',
      `name: inspect-prompt
datasets:
  - { id: arith, path: data/questions.jsonl, input: question, target: answer, idField: id }
models:
  - { id: careful, provider: mock, options: { accuracy: 1 } }
prompt: { system: "You answer {{topic}} questions.", user: "Question {{id}}: {{input}}\\nAnswer with a number." }
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
`,
    );
    const cli = (args: string[]) => runCli(args, { cwd: workspace.dir });
    expect((await cli(['run', 'exp.yaml', '--quiet'])).code).toBe(0);

    const json = await cli(['inspect', 'evaluation', 'exp.yaml', '--task', 'arith/q2/careful/default/0', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      input: 'What is 4 + 4?\u001b[2J',
      target: '8',
      prompt: { id: 'default', system: 'You answer more sums questions.', user: 'Question q2: What is 4 + 4?\u001b[2J\nAnswer with a number.' },
    });

    const text = await cli(['inspect', 'evaluation', 'exp.yaml', '--task', 'arith/q2/careful/default/0']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).not.toContain('\u001b');
    expect(text.stdout).toContain('input:  What is 4 + 4?\\x1b[2J\n');
    expect(text.stdout).toContain('target: 8\n');
    expect(text.stdout).toContain('prompt default, as sent to the answering model:\n  system: You answer more sums questions.\n  user:   Question q2: What is 4 + 4?\\x1b[2J Answer with a number.\n');
    // The run has no judges: said as such, not as judgments still to come.
    expect(text.stdout).toContain('this run has no judges\n');
    expect(text.stdout).not.toContain('no judgments yet');
  });

  it('shows every chat turn of a message-list prompt as sent', async () => {
    workspace = new Workspace();
    workspace.write('data/questions.jsonl', `${JSON.stringify({ id: 'q1', question: 'What is 2 + 3?', answer: '5' })}\n`);
    workspace.write(
      'exp.yaml',
      `name: inspect-turns
datasets:
  - { id: arith, path: data/questions.jsonl, input: question, target: answer, idField: id }
models:
  - { id: careful, provider: mock, options: { accuracy: 1 } }
prompt:
  messages:
    - { role: system, content: "Be brief." }
    - { role: user, content: "What is 1 + 1?" }
    - { role: assistant, content: "2" }
    - { role: user, content: "{{input}}" }
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
`,
    );
    const cli = (args: string[]) => runCli(args, { cwd: workspace.dir });
    expect((await cli(['run', 'exp.yaml', '--quiet'])).code).toBe(0);
    const text = await cli(['inspect', 'evaluation', 'exp.yaml', '--task', 'arith/q1/careful/default/0']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('  system:    Be brief.\n  user:      What is 1 + 1?\n  assistant: 2\n  user:      What is 2 + 3?\n');
  });
});
