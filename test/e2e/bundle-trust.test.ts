import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sealBundleHeader } from '../../src/bundles/bundle-file.js';
import { openStore } from '../../src/stores/open-store.js';
import { runCli, startCli } from '../support/cli.js';
import { judgeBehaviour } from '../support/judge-behaviour.js';
import { FakeOpenAIServer } from '../support/openai-server.js';
import { Workspace } from '../support/workspace.js';

function config(baseURL: string): string {
  const model = (id: string) => `  - { id: ${id}, provider: openai-compatible, model: ${id}, baseURL: ${baseURL}, price: { input: 1, output: 2 } }`;
  return `name: trusted
datasets: [ { id: arith, path: questions.jsonl, input: question, target: answer, idField: id } ]
models:
${model('solver')}
evaluators:
${model('judge-a')}
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
judges:
  - id: quality
    kind: rubric
    models: [judge-a]
    traits: [ { name: correct, kind: boolean, description: "Is the final number right?" } ]
runtime: { concurrency: 4, maxAttempts: 2, retryBaseDelayMs: 10 }
`;
}

/** Rewrites a bundle's header as a forger would, with its counts and checksum recomputed. */
function forge(path: string, edit: (header: Record<string, unknown>) => void): void {
  const [headerLine, ...rest] = readFileSync(path, 'utf8').split('\n');
  const body = rest.map((line, index) => (index < rest.length - 1 ? `${line}\n` : line)).join('');
  const header = JSON.parse(headerLine!) as Record<string, unknown>;
  edit(header);
  writeFileSync(path, `${JSON.stringify(sealBundleHeader(header, body))}\n${body}`);
}

describe('a bundle is data, not instructions', () => {
  let workspace: Workspace;
  let honest: FakeOpenAIServer;
  let evil: FakeOpenAIServer;
  const cli = async (args: string[], expectedCode = 0, env: Record<string, string | undefined> = {}) => {
    const result = await runCli(args, { cwd: workspace.dir, env });
    expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(expectedCode);
    return result;
  };

  beforeEach(async () => {
    workspace = new Workspace();
    honest = await new FakeOpenAIServer(judgeBehaviour()).start();
    evil = await new FakeOpenAIServer(judgeBehaviour()).start();
    workspace.arithmetic('questions.jsonl', 6);
    workspace.write('exp.yaml', config(honest.baseURL));
  });
  afterEach(async () => {
    await honest.stop();
    await evil.stop();
    workspace.remove();
  });

  it('never calls the host or sends the variable a forged bundle names; a replay needs --config, checked against the run', async () => {
    await cli(['run', 'exp.yaml', '--store', 'a.db']);
    const exported = JSON.parse((await cli(['export', 'score', 'exp.yaml', '--store', 'a.db', '-o', 'scores.jsonl', '--json'])).stdout);
    const runId = exported.runId as string;
    forge(workspace.path('scores.jsonl'), (header) => {
      const provenance = header.provenance as { transport: Record<string, Record<string, unknown>>; prices: Record<string, unknown>; runtime: Record<string, unknown> };
      for (const id of Object.keys(provenance.transport)) provenance.transport[id] = { ...provenance.transport[id], baseURL: evil.baseURL, apiKeyEnv: 'STOLEN_SECRET' };
      for (const id of Object.keys(provenance.prices)) provenance.prices[id] = { input: 0, output: 0, source: 'config' };
      provenance.runtime = { concurrency: 10_000, timeoutMs: 100 };
    });
    // Imports of the upstream kinds come first; the forged one is accepted (a checksum is no signature)...
    for (const kind of ['generation', 'reduction', 'parse']) await cli(['export', kind, 'exp.yaml', '--store', 'a.db', '-o', `${kind}.jsonl`]);
    await cli(['import', 'scores.jsonl', '--store', 'b.db'], 1); // no generations in b.db yet: refused, b.db untouched
    forge(workspace.path('generation.jsonl'), (header) => {
      const provenance = header.provenance as { transport: Record<string, Record<string, unknown>> };
      for (const id of Object.keys(provenance.transport)) provenance.transport[id] = { ...provenance.transport[id], baseURL: evil.baseURL, apiKeyEnv: 'STOLEN_SECRET' };
    });
    for (const file of ['generation.jsonl', 'reduction.jsonl', 'parse.jsonl', 'scores.jsonl']) await cli(['import', file, '--store', 'b.db']);

    // ...but what it says about transport is never used: a replay that needs the judge refuses without a config.
    const secret = { STOLEN_SECRET: `secret-${createHash('sha256').update('x').digest('hex').slice(0, 16)}` };
    const refused = await cli(['replay', runId, '--stage', 'judge', '--store', 'b.db'], 1, secret);
    expect(refused.stderr.trim()).toBe(
      `assay: error: run ${runId.slice(0, 12)} was imported from a bundle (generation.jsonl), whose transport settings are never used to make calls; replaying judge needs model(s) 'judge-a'; pass --config FILE with those models (checked against the run), or run the experiment config itself`,
    );
    expect(evil.requests).toHaveLength(0);

    // Replaying an earlier stage judges again after it, so it needs the judge too.
    const rescore = await cli(['replay', runId, '--stage', 'score', '--store', 'b.db'], 1, secret);
    expect(rescore.stderr).toContain("replaying score needs model(s) 'judge-a'");
    expect(evil.requests).toHaveLength(0);

    // With --config, the models are the config's, after checking they are the run's models.
    const before = honest.requests.length;
    const judged = JSON.parse((await cli(['replay', runId, '--stage', 'judge', '--store', 'b.db', '--config', 'exp.yaml', '--json'], 0, secret)).stdout);
    expect(judged.status).toBe('completed');
    expect(honest.requests.length - before).toBe(6);
    expect(honest.requests.slice(before).every((request) => request.model === 'judge-a' && !JSON.stringify(request.headers).includes(secret.STOLEN_SECRET))).toBe(true);
    expect(evil.requests).toHaveLength(0);

    // A config whose model differs from the run's is refused with the difference named.
    workspace.write('other.yaml', config(honest.baseURL).replace('model: judge-a,', 'model: judge-a, params: { temperature: 0.7 },'));
    const mismatch = await cli(['replay', runId, '--stage', 'judge', '--store', 'b.db', '--config', 'other.yaml'], 1);
    expect(mismatch.stderr.trim()).toMatch(new RegExp(`^assay: error: model 'judge-a' in .*other\\.yaml is not the model run ${runId.slice(0, 12)} was made with \\(its params differ\\)`));

    // Prices that came with the bundle are kept as data, and said to be unused.
    const check = (await cli(['quickcheck', runId, '--store', 'b.db'])).stdout;
    expect(check).toContain('the prices that came with the imported bundle are not used');
    const quick = JSON.parse((await cli(['quickcheck', runId, '--store', 'b.db', '--json'])).stdout);
    expect(quick.cost).toMatchObject({ prices: 'current', importedPrices: true });
  });
});

/** A digest of what a store holds for its (one) run: none, or every task's current answers. */
async function logicalDigest(path: string): Promise<string> {
  let store;
  try {
    store = await openStore(path, { create: false });
  } catch {
    return 'no store';
  }
  try {
    const [run] = await store.listRuns();
    if (!run) return 'no run';
    const artifacts = await store.loadArtifacts(run.runId, Array.from({ length: run.taskCount }, (_, ord) => ord));
    const answers = [...artifacts.values()].map((task) => task.candidates.map((candidate) => candidate?.text ?? null));
    return createHash('sha256').update(JSON.stringify({ status: run.status, answers, histogram: await store.getStageHistogram(run.runId) })).digest('hex');
  } finally {
    await store.close();
  }
}

describe('atomic imports', () => {
  let workspace: Workspace;

  beforeEach(() => {
    workspace = new Workspace();
  });
  afterEach(() => {
    workspace.remove();
  });

  const mockConfig = (accuracy: number) => `name: big
datasets: [ { id: arith, path: questions.jsonl, input: question, target: answer, idField: id } ]
models: [ { id: m, provider: mock, options: { accuracy: ${accuracy} } } ]
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
`;

  it('a kill -9 at any moment of an import or a --replace import leaves the store as it was or fully imported', async () => {
    workspace.arithmetic('questions.jsonl', 20_000);
    workspace.write('exp.yaml', mockConfig(0.5));
    await runCli(['run', 'exp.yaml', '--store', 'source.db', '--until-stage', 'generate', '--quiet'], { cwd: workspace.dir });
    await runCli(['export', 'generation', 'exp.yaml', '--store', 'source.db', '-o', 'generations.jsonl'], { cwd: workspace.dir });
    const complete = async (store: string) => {
      const result = await runCli(['import', 'generations.jsonl', '--store', store, '--replace'], { cwd: workspace.dir });
      expect(result.code, result.stderr).toBe(0);
      return logicalDigest(workspace.path(store));
    };
    const imported = await complete('reference.db');
    // Other answers for the same run (a forged copy of the bundle), for targets that --replace must swap whole.
    writeFileSync(workspace.path('other.jsonl'), readFileSync(workspace.path('generations.jsonl'), 'utf8').replaceAll('"text":"', '"text":"other: '));
    forge(workspace.path('other.jsonl'), () => undefined);

    const outcomes = { before: 0, imported: 0 };
    const delays = [150, 300, 500, 700, 900, 1200, 1600, 2200];
    for (const [index, delay] of delays.entries()) {
      const target = `target-${delay}.db`;
      if (index % 2 === 1) expect((await runCli(['import', 'other.jsonl', '--store', target], { cwd: workspace.dir })).code).toBe(0);
      const before = await logicalDigest(workspace.path(target));
      const importing = startCli(['import', 'generations.jsonl', '--store', target, '--replace'], { cwd: workspace.dir });
      await new Promise((resolve) => setTimeout(resolve, delay));
      importing.child.kill('SIGKILL');
      await importing.done;
      const after = await logicalDigest(workspace.path(target));
      if (after === before || (before === 'no store' && after === 'no run')) outcomes.before++;
      else {
        expect(after, `killed after ${delay} ms`).toBe(imported);
        outcomes.imported++;
      }
      // And the same command, run again, completes it.
      expect(await complete(target)).toBe(imported);
    }
    // The kills fell on both sides of the commit (a test that always killed too early would prove nothing).
    expect(outcomes.before).toBeGreaterThan(0);
    expect(outcomes.imported + outcomes.before).toBe(delays.length);
  }, 240_000);
});
