import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARTIFACT_KINDS } from '../../src/core/records.js';
import { judgeBehaviour } from '../support/judge-behaviour.js';
import { echoingError, FakeOpenAIServer, solve, type Behaviour } from '../support/openai-server.js';
import { runCli, startCli, waitFor, type CliResult } from '../support/cli.js';
import { httpConfig, Workspace } from '../support/workspace.js';

// Neither canary is shaped like a known key: only the registry of secrets read from the environment can catch them.
const KEY_CANARY = 'zq-canary-apikey-58213-vx';
const HEADER_CANARY = 'zq-canary-header-90417-wy';
const CANARIES = [KEY_CANARY, HEADER_CANARY];
const ENV = { CANARY_KEY: KEY_CANARY, CANARY_HEADER: HEADER_CANARY };

function config(baseURL: string): string {
  const credentials = `apiKeyEnv: CANARY_KEY, headersFromEnv: { X-Portkey-Api-Key: CANARY_HEADER }`;
  return `name: canaries
datasets: [ { id: arith, path: questions.jsonl, input: question, target: answer, idField: id } ]
models:
  - { id: local, provider: openai-compatible, model: local-model, baseURL: ${baseURL}, ${credentials}, headers: { X-Title: assay } }
  - { id: claude, provider: anthropic, model: claude-model, baseURL: ${baseURL}, ${credentials} }
evaluators:
  - { id: judge, provider: openai-compatible, model: judge-model, baseURL: ${baseURL}, ${credentials} }
prompt: { system: "Answer with a number.", user: "{{input}}" }
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
judges:
  - id: quality
    kind: rubric
    models: [judge]
    traits: [ { name: correct, kind: boolean, description: "Is the final number right?" } ]
runtime: { concurrency: 4, store: store.db, maxAttempts: 2, retryBaseDelayMs: 5 }
`;
}

/** Item number of a "What is a + b?" question of Workspace.arithmetic (a = 10 + i). */
const itemOf = (prompt: string) => Number(/What is (\d+) \+/.exec(prompt)?.[1] ?? 0) - 10;

/**
 * A server that echoes credentials back every way it can: in 400 and 500 error bodies (URL and all headers),
 * and inside answers (the key and the header value in the text, so also in the stored raw body).
 */
function echoingServer(delayMs = 0): Behaviour {
  const judge = judgeBehaviour();
  return (request, server) => {
    const item = itemOf(request.prompt);
    const attempt = server.requests.filter((other) => other.model === request.model && other.prompt === request.prompt).length;
    if (request.model === 'judge-model') return attempt === 1 && item % 4 === 0 ? echoingError(request, 500) : judge(request, server);
    if (request.api === 'openai' && item % 5 === 1) return echoingError(request, 400);
    if (request.api === 'openai' && item % 5 === 2 && attempt === 1) return echoingError(request, 500);
    const echo = item % 5 === 3 ? ` (you sent ${String(request.headers.authorization ?? request.headers['x-api-key'])} and ${String(request.headers['x-portkey-api-key'])})` : '';
    return { kind: 'answer', text: `${solve(request.prompt)}${echo}`, delayMs };
  };
}

/** Every file under a directory, recursively. */
function filesUnder(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(directory, entry.name)) : [join(directory, entry.name)],
  );
}

function expectNoCanary(where: string, content: string | Buffer): void {
  for (const canary of CANARIES) expect(content.includes(canary), `${canary} found in ${where}`).toBe(false);
}

describe('no credential is ever kept or printed', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;
  const outputs: { command: string; result: CliResult }[] = [];
  const cli = async (args: string[], expectedCode = 0) => {
    const result = await runCli(args, { cwd: workspace.dir, env: ENV });
    outputs.push({ command: args.join(' '), result });
    expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(expectedCode);
    return result;
  };

  beforeEach(async () => {
    workspace = new Workspace();
    server = await new FakeOpenAIServer(echoingServer()).start();
    outputs.length = 0;
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  it('leaves zero canaries in the store and its WAL, bundles, progressive-save files, results files and all output', async () => {
    workspace.arithmetic('questions.jsonl', 20);
    workspace.write('experiment.yaml', config(server.baseURL));

    // A run killed with -9 mid-way: its SQLite write-ahead log is left behind, unmerged.
    server.behaviour = echoingServer(40);
    const killed = startCli(['run', 'experiment.yaml', '--store', 'killed.db', '--json'], { cwd: workspace.dir, env: ENV });
    const wal = workspace.path('killed.db-wal');
    await waitFor(() => server.requests.length >= 16 && existsSync(wal) && statSync(wal).size > 0, 30_000, '16 requests and a WAL');
    killed.child.kill('SIGKILL');
    outputs.push({ command: 'killed run', result: await killed.done });
    expect(statSync(wal).size).toBeGreaterThan(0);
    expectNoCanary('killed.db-wal', readFileSync(wal));
    expectNoCanary('killed.db', readFileSync(workspace.path('killed.db')));
    server.behaviour = echoingServer();

    // A full run with its results file, then the same run written as CSV, then every kind of bundle.
    const summary = JSON.parse((await cli(['run', 'experiment.yaml', '--json', '--output', 'results.json'])).stdout);
    // Items answered with a 400 failed for good, so the run is partial.
    expect(summary).toMatchObject({ status: 'partial', tasks: 40 });
    expect(summary.failed).toBeGreaterThan(0);
    await cli(['run', 'experiment.yaml', '--output', 'results.csv']);
    for (const kind of ARTIFACT_KINDS) await cli(['export', kind, 'experiment.yaml', '-o', `${kind}.jsonl`]);
    for (const command of [['quickcheck', 'experiment.yaml'], ['inspect', 'state', 'experiment.yaml'], ['inspect', 'snapshot', 'experiment.yaml'], ['runs', '--store', 'store.db']]) {
      await cli(command);
      await cli([...command, '--json']);
    }

    // A progressive save stopped after generate keeps its .tmp and .state.
    await cli(['run', 'experiment.yaml', '--until-stage', 'generate', '--output', 'progressive.json', '--progressive-save', '--json']);
    expect(workspace.exists('progressive.json.tmp') && workspace.exists('progressive.json.state')).toBe(true);
    await cli(['status', 'progressive.json.state', '--json']);

    // The canaries were really sent, and really echoed back into what was stored (then scrubbed).
    expect(server.requests.some((request) => request.headers.authorization === `Bearer ${KEY_CANARY}`)).toBe(true);
    expect(server.requests.filter((request) => request.api === 'anthropic').every((request) => request.headers['x-api-key'] === KEY_CANARY)).toBe(true);
    expect(server.requests.filter((request) => request.headers['x-portkey-api-key'] !== HEADER_CANARY).map((request) => [request.api, request.model, Object.keys(request.headers)])).toEqual([]);
    expect(server.requests.filter((request) => request.model === 'local-model').every((request) => request.headers['x-title'] === 'assay')).toBe(true);
    const results = JSON.parse(readFileSync(workspace.path('results.json'), 'utf8')) as { results: { task: string; failure: { message: string } | null; candidates: ({ text: string } | null)[] }[] };
    const task = (key: string) => results.results.find((result) => result.task === key)!;
    expect(task('arith/q1/local/default/0').failure!.message).toMatch(/^rejected POST \/v1\/chat\/completions with headers .*"authorization":"Bearer \[redacted\]".*"x-portkey-api-key":"\[redacted\]"/);
    expect(task('arith/q3/local/default/0').candidates[0]!.text).toBe('The answer is 29. (you sent Bearer [redacted] and [redacted])');
    expect(task('arith/q3/claude/default/0').candidates[0]!.text).toBe('The answer is 29. (you sent [redacted] and [redacted])');

    const files = filesUnder(workspace.dir);
    for (const expected of ['store.db', 'killed.db', 'killed.db-wal', 'results.json', 'results.csv', 'generation.jsonl', 'evaluation.jsonl', 'progressive.json.tmp', 'progressive.json.state']) {
      expect(files).toContain(workspace.path(expected));
    }
    for (const file of files) expectNoCanary(file, readFileSync(file));
    for (const { command, result } of outputs) expectNoCanary(`the output of ${command}`, result.stdout + result.stderr);
  });

  it('refuses credentials written in a config with one line naming file:line and field, writing nothing', async () => {
    workspace.arithmetic('questions.jsonl', 2);
    const base = httpConfig(server.baseURL);
    const cases: [string, string, RegExp][] = [
      [
        base.replace('    params:', '    headers: { X-Portkey-Api-Key: "literal-value" }\n    params:'),
        'literal-value',
        /experiment\.yaml:13: models\[0\]\.headers\.X-Portkey-Api-Key: a header named like a credential .*; read it from the environment instead: headersFromEnv: \{ X-Portkey-Api-Key: VARIABLE_NAME \}$/,
      ],
      [base.replace('    params:', '    headers: { X-Trace: "Bearer abcdef" }\n    params:'), 'abcdef', /:13: models\[0\]\.headers\.X-Trace: this header value looks like a credential/],
      [base.replace(`baseURL: ${server.baseURL}`, `baseURL: "http://me:hunter2@127.0.0.1:${server.port}/v1"`), 'hunter2', /:12: models\[0\]\.baseURL: this URL carries a user name or password/],
      [base.replace(`baseURL: ${server.baseURL}`, `baseURL: "${server.baseURL}?api-key=hunter2"`), 'hunter2', /:12: models\[0\]\.baseURL: this URL carries the query parameter 'api-key'.*apiKeyEnv.*headersFromEnv/],
    ];
    for (const [text, literal, message] of cases) {
      workspace.write('experiment.yaml', text);
      const result = await runCli(['run', 'experiment.yaml', '--output', 'results.json'], { cwd: workspace.dir });
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^assay: error: /);
      expect(result.stderr.trim()).toMatch(message);
      expect(result.stderr + result.stdout).not.toContain(literal);
    }
    expect(workspace.files().sort()).toEqual(['experiment.yaml', 'questions.jsonl']);
    expect(server.requests).toHaveLength(0);
  });

  it('says which variable to set when a header read from the environment is missing, before anything is written', async () => {
    workspace.arithmetic('questions.jsonl', 2);
    workspace.write('experiment.yaml', httpConfig(server.baseURL).replace('    params:', '    headersFromEnv: { X-Portkey-Api-Key: PORTKEY_API_KEY }\n    params:'));
    const result = await runCli(['run', 'experiment.yaml'], { cwd: workspace.dir, env: { PORTKEY_API_KEY: undefined } });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe("assay: error: model 'local' reads its X-Portkey-Api-Key header from $PORTKEY_API_KEY, which is not set; export PORTKEY_API_KEY=... before running");
    expect(workspace.files().sort()).toEqual(['experiment.yaml', 'questions.jsonl']);
    expect(server.requests).toHaveLength(0);
  });

  it('rebuilds a run reopened by its id with the same variables, whose names alone were recorded', async () => {
    workspace.arithmetic('questions.jsonl', 3);
    // Literal headers' values are not stored either, so a run that had some cannot be rebuilt: here it has none.
    workspace.write('experiment.yaml', config(server.baseURL).replace(', headers: { X-Title: assay }', ''));
    server.behaviour = (request, fake) => (request.model === 'judge-model' ? judgeBehaviour()(request, fake) : { kind: 'answer', text: solve(request.prompt) });
    const { runId } = JSON.parse((await cli(['run', 'experiment.yaml', '--json'])).stdout);
    const snapshot = JSON.parse((await cli(['inspect', 'snapshot', runId, '--store', 'store.db', '--json'])).stdout);
    expect(JSON.stringify(snapshot)).toContain('"headersFromEnv":{"X-Portkey-Api-Key":"CANARY_HEADER"}');

    // Without its config, the run is rebuilt from the store, and the same variables are read again.
    workspace.write('experiment.yaml', '');
    const other = { CANARY_KEY: 'zq-other-apikey-11111-aa', CANARY_HEADER: 'zq-other-header-22222-bb' };
    const before = server.requests.length;
    const replayed = await runCli(['replay', runId, '--stage', 'judge', '--store', 'store.db', '--json'], { cwd: workspace.dir, env: other });
    expect(replayed.code, replayed.stderr).toBe(0);
    const calls = server.requests.slice(before);
    expect(calls).toHaveLength(6);
    expect(calls.every((request) => request.model === 'judge-model' && request.headers['x-portkey-api-key'] === other.CANARY_HEADER && request.headers.authorization === `Bearer ${other.CANARY_KEY}`)).toBe(true);

    const missing = await runCli(['replay', runId, '--stage', 'judge', '--store', 'store.db'], { cwd: workspace.dir, env: { ...other, CANARY_HEADER: undefined } });
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe("assay: error: model 'local' reads its X-Portkey-Api-Key header from $CANARY_HEADER, which is not set; export CANARY_HEADER=... before running");
  });
});
