import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sealBundleHeader } from '../../src/bundles/bundle-file.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeOpenAIServer, solve } from '../support/openai-server.js';
import { runCli } from '../support/cli.js';
import { httpConfig, Workspace } from '../support/workspace.js';

const JUDGED = fileURLToPath(new URL('../../examples/judged.yaml', import.meta.url));
const KINDS = ['generation', 'reduction', 'parse', 'score', 'evaluation'] as const;

/** A bundle whose header counts and checksum are recomputed for its (edited) body: only deeper checks can refuse it. */
function resealed(lines: string[], edit: (header: Record<string, unknown>) => void = () => undefined): string {
  const [headerLine, ...body] = lines;
  const header = JSON.parse(headerLine!);
  const bodyText = body.map((line) => `${line}\n`).join('');
  header.records = body.filter((line) => !line.startsWith('{"type":"item"')).length;
  edit(header);
  return `${JSON.stringify(sealBundleHeader(header, bodyText))}\n${bodyText}`.trimEnd();
}

describe('stage bundles', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;
  const cli = async (args: string[], expectedCode = 0) => {
    const result = await runCli(args, { cwd: workspace.dir });
    expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(expectedCode);
    return result;
  };
  const json = async (...args: string[]) => JSON.parse((await cli([...args, '--json'])).stdout);

  beforeEach(async () => {
    workspace = new Workspace();
    server = await new FakeOpenAIServer().start();
    workspace.arithmetic('questions.jsonl', 12);
    workspace.write('experiment.yaml', httpConfig(server.baseURL).replace('  store: store.db\n', ''));
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  it('moves generations between stores: scoring on the second store calls no model and matches the first', async () => {
    await cli(['run', 'experiment.yaml', '--store', 'a.db', '--until-stage', 'generate']);
    expect(server.requests).toHaveLength(12);
    const exported = await json('export', 'generation', 'experiment.yaml', '--store', 'a.db', '-o', 'generations.jsonl.gz');
    expect(exported).toMatchObject({ kind: 'generation', items: 12, records: 12 });
    expect(readFileSync(workspace.path('generations.jsonl.gz')).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));

    const imported = await json('import', 'generations.jsonl.gz', '--store', 'b.db');
    expect(imported).toMatchObject({ kind: 'generation', records: 12, imported: 12, unchanged: 0, createdRun: true });
    const onB = await json('run', 'experiment.yaml', '--store', 'b.db', '--until-stage', 'score');
    expect(onB).toMatchObject({ status: 'completed', completedThroughStage: 'score', modelCalls: 0, done: 12 });
    expect(server.requests).toHaveLength(12);

    const onA = await json('run', 'experiment.yaml', '--store', 'a.db');
    expect(onB.scores).toEqual(onA.scores);
    expect(await json('inspect', 'state', 'experiment.yaml', '--store', 'b.db')).toEqual(await json('inspect', 'state', 'experiment.yaml', '--store', 'a.db'));
  });

  it('round-trips all five kinds, and importing twice is importing once', async () => {
    workspace.write('data/arithmetic.jsonl', readFileSync(fileURLToPath(new URL('../../examples/data/arithmetic.jsonl', import.meta.url)), 'utf8'));
    workspace.write('judged.yaml', readFileSync(JUDGED, 'utf8'));
    const full = await json('run', 'judged.yaml', '--store', 'a.db');
    expect(full.stages.judge.completed).toBe(50);
    for (const kind of KINDS) await cli(['export', kind, 'judged.yaml', '--store', 'a.db', '-o', `${kind}.jsonl`]);
    for (const kind of KINDS) {
      const result = await json('import', `${kind}.jsonl`, '--store', 'b.db');
      expect(result, kind).toMatchObject({ kind, records: 50, imported: 50, unchanged: 0 });
    }
    const a = await json('quickcheck', 'judged.yaml', '--store', 'a.db');
    const b = await json('quickcheck', 'judged.yaml', '--store', 'b.db');
    expect(b.scores).toEqual(a.scores);
    expect(b.stages).toEqual(a.stages);
    expect(b).toMatchObject({ status: 'completed', completedThroughStage: 'judge', done: 50 });
    const task = '--task=arithmetic/q007/careful-mock/default/0';
    expect((await json('inspect', 'evaluation', 'judged.yaml', '--store', 'b.db', task)).judgments).toEqual((await json('inspect', 'evaluation', 'judged.yaml', '--store', 'a.db', task)).judgments);
    for (const kind of KINDS) {
      expect(await json('import', `${kind}.jsonl`, '--store', 'b.db'), kind).toMatchObject({ imported: 0, unchanged: 50 });
    }
  });

  it('refuses imports out of order and different artifacts without --replace, and replaces with it', async () => {
    await cli(['run', 'experiment.yaml', '--store', 'a.db']);
    await cli(['export', 'reduction', 'experiment.yaml', '--store', 'a.db', '-o', 'reductions.jsonl']);
    const early = await cli(['import', 'reductions.jsonl', '--store', 'empty.db'], 1);
    expect(early.stderr).toMatch(/task 'arith\/q1\/local\/default\/0' has no generation in this store yet; nothing was imported; import the generation bundle first/);
    expect(workspace.exists('empty.db')).toBe(false);

    // The same run (same config) answered differently elsewhere.
    server.behaviour = (request) => ({ kind: 'answer', text: `${solve(request.prompt)} Or maybe 0.` });
    await cli(['run', 'experiment.yaml', '--store', 'elsewhere.db', '--until-stage', 'generate']);
    await cli(['export', 'generation', 'experiment.yaml', '--store', 'elsewhere.db', '-o', 'other.jsonl']);
    const conflict = await cli(['import', 'other.jsonl', '--store', 'a.db'], 1);
    expect(conflict.stderr).toMatch(/already has a different generation in this store; nothing was imported; pass --replace to replace it/);
    expect((await json('quickcheck', 'experiment.yaml', '--store', 'a.db')).scores[0].mean).toBe(1);

    const replaced = await json('import', 'other.jsonl', '--store', 'a.db', '--replace');
    expect(replaced).toMatchObject({ imported: 12, replaced: 12 });
    const state = await json('inspect', 'state', 'experiment.yaml', '--store', 'a.db');
    expect(state.stages.reduce).toMatchObject({ completed: 0, pending: 12 });
    const rescored = await json('run', 'experiment.yaml', '--store', 'a.db');
    expect(rescored).toMatchObject({ modelCalls: 0, status: 'completed' });
    expect(rescored.scores[0].mean).toBe(0);
  });

  it('refuses tampered, truncated and foreign files with the reason, writing nothing', async () => {
    await cli(['run', 'experiment.yaml', '--store', 'a.db']);
    await cli(['export', 'score', 'experiment.yaml', '--store', 'a.db', '-o', 'scores.jsonl']);
    const lines = readFileSync(workspace.path('scores.jsonl'), 'utf8').trimEnd().split('\n');
    const cases: [string, string, RegExp][] = [
      ['tampered.jsonl', [...lines.slice(0, -1), lines.at(-1)!.replace('"value":1', '"value":0')].join('\n'), /checksum mismatch: the file was altered or damaged after export; nothing was imported/],
      // The checksum covers the header too: an edited name (or transport, or price) is caught as damage.
      ['renamed.jsonl', [lines[0]!.replace('"name":"', '"name":"x'), ...lines.slice(1)].join('\n'), /checksum mismatch: the file was altered or damaged after export/],
      ['truncated.jsonl', lines.slice(0, -3).join('\n'), /its header says 12 and 12 \(truncated\?\)/],
      ['foreign.jsonl', '{"hello":"world"}\n', /not an assay bundle \(no assay\.bundle header\)/],
      ['forged.jsonl', resealed([lines[0]!.replace('"samples":1', '"samples":2'), ...lines.slice(1)]), /its snapshot does not hash to its run id/],
      ['wrong-type.jsonl', resealed([...lines.slice(0, -1), lines.at(-1)!.replace('"value":1', '"value":"one"')]), /line 25 is not what an assay bundle holds \(scores\.accuracy\.value: /],
      ['stranger.jsonl', resealed([...lines, lines.at(-1)!.replace('arith/q12/', 'arith/q99/')]), /record 13 names task 'arith\/q99\/local\/default\/0', which is not a task of run/],
    ];
    for (const [name, content, reason] of cases) {
      writeFileSync(workspace.path(name), `${content}\n`);
      const refused = await cli(['import', name, '--store', 'b.db'], 1);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr, name).toMatch(reason);
      expect(workspace.exists('b.db'), name).toBe(false);
    }
  });
});
