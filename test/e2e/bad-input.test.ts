import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { Workspace } from '../support/workspace.js';

const GOOD_ROWS = '{"id":"q1","question":"What is 1 + 2?","answer":"3"}\n{"id":"q2","question":"What is 2 + 2?","answer":"4"}\n';

function config(models: string, dataset = 'rows.jsonl'): string {
  return `name: bad-input\ndatasets:\n  - id: a\n    path: ${dataset}\n    input: question\n    target: answer\n    idField: id\nmodels:\n${models}`;
}

const cases: { name: string; files: Record<string, string>; error: RegExp; env?: Record<string, string | undefined> }[] = [
  {
    name: 'malformed YAML',
    files: { 'experiment.yaml': 'name: x\ndatasets: [\n  - id: a\n', 'rows.jsonl': GOOD_ROWS },
    error: /experiment\.yaml:3:3: YAML syntax error: .+; fix the YAML syntax$/,
  },
  {
    name: 'an unknown field',
    files: { 'experiment.yaml': config('  - id: m\n    provider: mock\n    modle: other\n'), 'rows.jsonl': GOOD_ROWS },
    error: /experiment\.yaml:11: models\[0\]\.modle: unknown field; did you mean 'model'\?$/,
  },
  {
    name: 'an unknown provider',
    files: { 'experiment.yaml': config('  - id: m\n    provider: opneai\n'), 'rows.jsonl': GOOD_ROWS },
    error: /experiment\.yaml:10: models\[0\]\.provider: 'opneai' is not known; did you mean 'openai'\? expected one of openai, anthropic, google, openai-compatible, recorded, mock$/,
  },
  {
    name: 'a missing dataset file',
    files: { 'experiment.yaml': config('  - id: m\n    provider: mock\n', 'nowhere.jsonl') },
    error: /nowhere\.jsonl: dataset 'a' file does not exist; paths in a config are relative to the config file$/,
  },
  {
    name: 'a bad JSONL line',
    files: { 'experiment.yaml': config('  - id: m\n    provider: mock\n'), 'rows.jsonl': `${GOOD_ROWS}{"id":"q3","question":\n` },
    error: /rows\.jsonl:3: not valid JSON \(.+\); each line of a JSONL file must be one JSON object$/,
  },
  {
    name: 'a row without the input field',
    files: { 'experiment.yaml': config('  - id: m\n    provider: mock\n'), 'rows.jsonl': `${GOOD_ROWS}{"id":"q3","answer":"1"}\n` },
    error: /rows\.jsonl:3: field 'question' \(the input of dataset 'a'\) is missing; check the dataset input field name$/,
  },
  {
    name: 'an input column the data does not have, naming the config field, the columns and the closest one',
    files: { 'experiment.yaml': config('  - id: m\n    provider: mock\n').replace('input: question', 'input: questoin'), 'rows.jsonl': GOOD_ROWS },
    error: /experiment\.yaml:5: datasets\[0\]\.input: column 'questoin' is not in rows\.jsonl \(line 1\); columns: id, question, answer; did you mean 'question'\?$/,
  },
  {
    name: 'a target column the data does not have, with no close column',
    files: { 'experiment.yaml': config('  - id: m\n    provider: mock\n').replace('target: answer', 'target: solution'), 'rows.jsonl': GOOD_ROWS },
    error: /experiment\.yaml:6: datasets\[0\]\.target: column 'solution' is not in rows\.jsonl \(line 1\); columns: id, question, answer$/,
  },
  {
    name: 'a duplicate id',
    files: { 'experiment.yaml': config('  - id: m\n    provider: mock\n'), 'rows.jsonl': `${GOOD_ROWS}{"id":"q1","question":"again","answer":"1"}\n` },
    error: /rows\.jsonl:3: duplicate id 'q1' \(first at .*rows\.jsonl:1\); ids must be unique within a dataset$/,
  },
  {
    name: 'a literal API key',
    files: {
      'experiment.yaml': config('  - id: m\n    provider: openai-compatible\n    model: gpt\n    baseURL: http://127.0.0.1:9/v1\n    apiKey: sk-abcdefghijklmnopqrstuvwxyz0123456789\n'),
      'rows.jsonl': GOOD_ROWS,
    },
    error: /experiment\.yaml:13: models\[0\]\.apiKey: a literal API key may not be written in a config file; put the key in an environment variable and set apiKeyEnv to its name$/,
  },
  {
    name: 'a key pasted where an env var name belongs',
    files: {
      'experiment.yaml': config('  - id: m\n    provider: openai-compatible\n    model: gpt\n    baseURL: http://127.0.0.1:9/v1\n    apiKeyEnv: sk-abcdefghijklmnopqrstuvwxyz0123456789\n'),
      'rows.jsonl': GOOD_ROWS,
    },
    error: /experiment\.yaml:13: models\[0\]\.apiKeyEnv: this value looks like a literal API key/,
  },
  {
    name: 'an API key env var that is not set',
    files: {
      'experiment.yaml': config('  - id: m\n    provider: openai-compatible\n    model: gpt\n    baseURL: http://127.0.0.1:9/v1\n    apiKeyEnv: ASSAY_TEST_UNSET_KEY\n'),
      'rows.jsonl': GOOD_ROWS,
    },
    env: { ASSAY_TEST_UNSET_KEY: undefined },
    error: /model 'm' reads its API key from \$ASSAY_TEST_UNSET_KEY, which is not set; export ASSAY_TEST_UNSET_KEY=\.\.\. before running$/,
  },
  {
    name: 'a number out of range',
    files: { 'experiment.yaml': `${config('  - id: m\n    provider: mock\n')}runtime: { concurrency: 0 }\n`, 'rows.jsonl': GOOD_ROWS },
    error: /experiment\.yaml:11: runtime\.concurrency: expected a number >= 1, got number 0$/,
  },
];

describe('bad input', () => {
  let workspace: Workspace;
  beforeEach(() => {
    workspace = new Workspace();
  });
  afterEach(() => workspace.remove());

  for (const testCase of cases) {
    it(`refuses ${testCase.name} with one clear line, exit 1, nothing written`, async () => {
      for (const [name, content] of Object.entries(testCase.files)) workspace.write(name, content);
      const before = workspace.files().sort();
      const result = await runCli(['run', 'experiment.yaml'], { cwd: workspace.dir, ...(testCase.env ? { env: testCase.env } : {}) });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines, result.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^assay: error: /);
      expect(lines[0]).toMatch(testCase.error);
      expect(result.stderr).not.toContain('sk-abcdefghijklmnopqrstuvwxyz0123456789');
      expect(workspace.files().sort()).toEqual(before);
    });
  }

  it('answers a read command on a missing store with one line and exit 1', async () => {
    const result = await runCli(['quickcheck', 'abcdef12', '--store', 'missing.db'], { cwd: workspace.dir });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^assay: error: .*missing\.db: no store here; run an experiment first, or pass --store PATH \(a run started from a config is kept beside it, in <config folder>\/\.assay\/assay\.db\)$/);
    expect(workspace.exists('missing.db')).toBe(false);
  });

  it('refuses a store URL it cannot open with one line, never creating a folder named after it or showing its password', async () => {
    workspace.write('experiment.yaml', config('  - id: m\n    provider: mock\n'));
    workspace.write('rows.jsonl', GOOD_ROWS);
    for (const args of [['run', 'experiment.yaml'], ['quickcheck', 'abcdef12'], ['report', 'experiment.yaml']]) {
      // Nothing listens on port 1: the PostgreSQL store cannot be reached.
      const result = await runCli([...args, '--store', 'postgres://alice:hunter2secret@127.0.0.1:1/evals'], { cwd: workspace.dir });
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/127\.0\.0\.1:1\/evals: cannot reach the PostgreSQL server/);
      expect(result.stderr).not.toContain('hunter2secret');
    }
    expect(workspace.files().sort()).toEqual(['experiment.yaml', 'rows.jsonl']);
  });

  it('rejects an unknown option or a bad stage name with exit 1', async () => {
    workspace.write('experiment.yaml', config('  - id: m\n    provider: mock\n'));
    const stage = await runCli(['run', 'experiment.yaml', '--until-stage', 'grade'], { cwd: workspace.dir });
    expect(stage.code).toBe(1);
    expect(stage.stderr).toMatch(/^assay: error: option '--until-stage <stage>' argument 'grade' is invalid\. Allowed choices are generate, reduce, parse, score, judge/);
    const option = await runCli(['runs', '--colour'], { cwd: workspace.dir });
    expect(option.code).toBe(1);
    expect(option.stderr).toMatch(/^assay: error: unknown option '--colour'/);
    // Usage errors are one line in assay's own form, as every other error.
    const workers = await runCli(['run', 'experiment.yaml', '--workers', '0'], { cwd: workspace.dir });
    expect(workers.code).toBe(1);
    expect(workers.stderr.trim().split('\n')).toEqual(["assay: error: option '--workers <n>' argument '0' is invalid. expected a positive integer"]);
  });
});
