import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../support/cli.js';
import { Workspace } from '../support/workspace.js';

/** The quickstart's mock models over `count` arithmetic questions: no server, no key. */
function mockConfig(extra: { dataset?: string; input?: string; target?: string; name?: string; more?: string } = {}): string {
  return `name: ${extra.name ?? 'first-hour'}
datasets:
  - id: arith
    path: ${extra.dataset ?? 'data/questions.jsonl'}
    input: ${extra.input ?? 'question'}
    target: ${extra.target ?? 'answer'}
    idField: id
models:
  - id: careful
    provider: mock
    options: { accuracy: 0.9 }
prompt: { system: "Answer with a number.", user: "{{input}}" }
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
${extra.more ?? ''}`;
}

describe('the first hour of a user', () => {
  let workspace: Workspace;
  const cli = (args: string[], cwd = workspace.dir, env: Record<string, string | undefined> = {}) => runCli(args, { cwd, env });
  const quickcheck = async (reference: string, ...more: string[]) => {
    const result = await cli(['quickcheck', reference, '--json', ...more]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { status: string; completedThroughStage: string | null; done: number };
  };

  beforeEach(() => {
    workspace = new Workspace();
    workspace.arithmetic('data/questions.jsonl', 6);
    workspace.write('exp.yaml', mockConfig());
  });
  afterEach(() => workspace.remove());

  it('refuses to replay a stage no task has reached, saying how far the run got, and leaves the run as it was', async () => {
    expect((await cli(['run', 'exp.yaml', '--until-stage', 'generate', '--quiet'])).code).toBe(0);
    const before = await quickcheck('exp.yaml');
    expect(before).toMatchObject({ status: 'completed', completedThroughStage: 'generate' });

    for (const stage of ['score', 'parse', 'reduce'] as const) {
      const replayed = await cli(['replay', 'exp.yaml', '--stage', stage]);
      if (stage === 'reduce') {
        // The candidates are there: reduce can be replayed.
        expect(replayed.code, replayed.stderr).toBe(0);
        continue;
      }
      expect(replayed.code).toBe(1);
      expect(replayed.stdout).toBe('');
      const lines = replayed.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^assay: error: run [0-9a-f]{12} has nothing to replay from ${stage}: it is complete through generate, and 0 of 6 tasks are (reduced|parsed); continue it first with \`assay run CONFIG\``));
      expect(await quickcheck('exp.yaml')).toEqual(before);
    }
  });

  it('keeps the default store beside the config, like every other path in it; a run id is looked up in the current folder', async () => {
    workspace.arithmetic('project/data/questions.jsonl', 6);
    workspace.write('project/exp.yaml', mockConfig());
    const ran = await cli(['run', 'project/exp.yaml', '--json']);
    expect(ran.code, ran.stderr).toBe(0);
    const { runId, store } = JSON.parse(ran.stdout) as { runId: string; store: string };
    expect(store).toBe(workspace.path('project', '.assay', 'assay.db'));
    expect(workspace.exists('.assay')).toBe(false);
    const text = await cli(['run', 'project/exp.yaml', '--quiet']);
    expect(text.stdout).toContain(`store: ${store}`);

    // By config, from anywhere: the same store.
    expect((await quickcheck('project/exp.yaml')).done).toBe(6);
    const inside = await cli(['quickcheck', 'exp.yaml', '--json'], workspace.path('project'));
    expect(JSON.parse(inside.stdout).runId).toBe(runId);
    // By run id: the current folder's store, which here is the config's folder...
    expect((await cli(['quickcheck', runId.slice(0, 12)], workspace.path('project'))).code).toBe(0);
    // ...and elsewhere a one-line refusal saying where runs started from a config are.
    const elsewhere = await cli(['quickcheck', runId.slice(0, 12)]);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr.trim().split('\n')).toHaveLength(1);
    expect(elsewhere.stderr).toMatch(/^assay: error: .*no store here; .*a run started from a config is kept beside it, in <config folder>\/\.assay\/assay\.db/);
    expect((await cli(['quickcheck', runId.slice(0, 12), '--store', 'project/.assay/assay.db'])).code).toBe(0);

    // $ASSAY_STORE, then runtime.store, then --store take precedence.
    const shared = await cli(['run', 'project/exp.yaml', '--json'], workspace.dir, { ASSAY_STORE: workspace.path('shared.db') });
    expect(JSON.parse(shared.stdout)).toMatchObject({ action: 'created', store: workspace.path('shared.db') });
    expect((await cli(['quickcheck', runId.slice(0, 12)], workspace.dir, { ASSAY_STORE: 'shared.db' })).code).toBe(0);
    workspace.write('project/pinned.yaml', mockConfig({ more: 'runtime: { store: pinned.db }' }));
    const pinned = await cli(['run', 'project/pinned.yaml', '--json'], workspace.dir, { ASSAY_STORE: workspace.path('shared.db') });
    expect(JSON.parse(pinned.stdout).store).toBe(workspace.path('project', 'pinned.db'));
    const flagged = await cli(['run', 'project/pinned.yaml', '--json', '--store', 'flag.db']);
    expect(JSON.parse(flagged.stdout).store).toBe(workspace.path('flag.db'));
  });

  it('lists every problem of a config on its own line with file:line, and as JSON with --json; one problem stays one line', async () => {
    const bad = mockConfig({ more: 'samples: 0\nruntime: { concurrency: -1, stroe: x.db }' }).replace('provider: mock', 'provider: mokc');
    workspace.write('bad.yaml', bad);
    const result = await cli(['run', 'bad.yaml', '--json']);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    const file = workspace.path('bad.yaml');
    expect(lines[0]).toBe(`assay: error: ${file}: 4 problems in the config`);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(new RegExp(`^  ${file}:10: models\\[0\\]\\.provider: 'mokc' is not known; did you mean 'mock'\\?`)),
      expect.stringMatching(new RegExp(`^  ${file}:\\d+: samples: expected a number >= 1, got number 0$`)),
      expect.stringMatching(new RegExp(`^  ${file}:\\d+: runtime\\.concurrency: expected a number >= 1, got number -1$`)),
      expect.stringMatching(new RegExp(`^  ${file}:\\d+: runtime\\.stroe: unknown field; did you mean 'store'\\?$`)),
    ]);
    const json = JSON.parse(result.stdout) as { error: { code: string; message: string; problems: { location: string; message: string }[] } };
    expect(json.error).toMatchObject({ code: 'config_invalid', message: `${file}: 4 problems in the config` });
    expect(json.error.problems).toHaveLength(4);
    expect(json.error.problems[0]).toEqual({ location: `${file}:10`, message: expect.stringMatching(/^models\[0\]\.provider: 'mokc' is not known/) });
    expect(lines.slice(1)).toEqual(json.error.problems.map((problem) => `  ${problem.location}: ${problem.message}`));

    // More than 20: the first 20, and how many more.
    const models = Array.from({ length: 25 }, (_, index) => `  - { id: m${index}, provider: nope }`).join('\n');
    workspace.write('many.yaml', mockConfig().replace(/^models:\n/m, `models:\n${models}\n`));
    const crowded = await cli(['quickcheck', 'many.yaml']);
    expect(crowded.code).toBe(1);
    const crowdedLines = crowded.stderr.trim().split('\n');
    expect(crowdedLines[0]).toMatch(/many\.yaml: 25 problems in the config$/);
    expect(crowdedLines).toHaveLength(22);
    expect(crowdedLines[20]).toMatch(/many\.yaml:\d+: models\[19\]\.provider: 'nope' is not known/);
    expect(crowdedLines[21]).toBe('  (and 5 more)');

    // One problem: one line, and its JSON.
    workspace.write('one.yaml', mockConfig().replace('provider: mock', 'provider: mokc'));
    const one = await cli(['run', 'one.yaml', '--json']);
    expect(one.code).toBe(1);
    expect(one.stderr.trim().split('\n')).toEqual([`assay: error: ${workspace.path('one.yaml')}:10: models[0].provider: 'mokc' is not known; did you mean 'mock'? expected one of openai, anthropic, google, openai-compatible, recorded, mock`]);
    expect(JSON.parse(one.stdout).error.problems).toEqual([{ location: `${workspace.path('one.yaml')}:10`, message: expect.stringMatching(/^models\[0\]\.provider/) }]);
    const plain = await cli(['run', 'one.yaml']);
    expect(plain.stdout).toBe('');
  });

  it('tells apart runs of the same name in assay runs, and deletes one with assay runs rm, never one a process is working on', async () => {
    workspace.write('other.yaml', mockConfig().replace('id: careful', 'id: sloppy').replace('accuracy: 0.9', 'accuracy: 0.5'));
    const first = JSON.parse((await cli(['run', 'exp.yaml', '--json'])).stdout) as { runId: string };
    const second = JSON.parse((await cli(['run', 'other.yaml', '--json'])).stdout) as { runId: string };

    const listed = await cli(['runs']);
    expect(listed.code, listed.stderr).toBe(0);
    const [header, ...rows] = listed.stdout.trim().split('\n');
    expect(header).toMatch(/run\s+name\s+status\s+through\s+tasks\s+done\s+failed\s+created\s+models\s+metrics\s+config/);
    expect(rows).toHaveLength(2);
    const rowOf = (runId: string) => rows.find((row) => row.startsWith(runId.slice(0, 12)))!;
    expect(rowOf(first.runId)).toMatch(/first-hour .* careful\s+accuracy\s+exp\.yaml$/);
    expect(rowOf(second.runId)).toMatch(/first-hour .* sloppy\s+accuracy\s+other\.yaml$/);
    const json = JSON.parse((await cli(['runs', '--json'])).stdout) as { runId: string; configPath: string; models: string[]; metrics: string[] }[];
    expect(json.find((run) => run.runId === first.runId)).toMatchObject({ configPath: workspace.path('exp.yaml'), models: ['careful'], metrics: ['accuracy'] });

    // Without a terminal to ask on, and without --yes: refused, nothing deleted.
    const unasked = await cli(['runs', 'rm', second.runId.slice(0, 12)]);
    expect(unasked.code).toBe(1);
    expect(unasked.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^assay: error: not deleting run ${second.runId.slice(0, 12)} \\(first-hour, 6 tasks, completed, created .*\\): there is no terminal to ask on; pass --yes to delete it$`))]);
    expect(JSON.parse((await cli(['runs', '--json'])).stdout)).toHaveLength(2);

    const removed = await cli(['runs', 'rm', second.runId.slice(0, 12), '--yes', '--store', '.assay/assay.db']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(new RegExp(`^deleted run ${second.runId.slice(0, 12)} `));
    expect((JSON.parse((await cli(['runs', '--json'])).stdout) as { runId: string }[]).map((run) => run.runId)).toEqual([first.runId]);
    expect((await cli(['quickcheck', second.runId.slice(0, 12)])).code).toBe(1);

    // A run a live process holds a lease on is not deleted; once that process is gone, it is.
    workspace.write('slow.yaml', mockConfig({ name: 'slow', more: 'runtime: { concurrency: 1 }' }).replace('accuracy: 0.9 }', 'accuracy: 0.9, latencyMs: 5000 }').replace('id: careful', 'id: slowpoke'));
    const slow = startCli(['run', 'slow.yaml', '--quiet'], { cwd: workspace.dir, env: { ASSAY_STORE: undefined } });
    try {
      let slowId = '';
      for (let attempt = 0; attempt < 100 && slowId === ''; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const state = await cli(['quickcheck', 'slow.yaml', '--json']);
        if (state.code === 0 && (JSON.parse(state.stdout) as { owners: unknown[] }).owners.length > 0) slowId = JSON.parse(state.stdout).runId;
      }
      expect(slowId, JSON.stringify(slow.output())).not.toBe('');
      const busy = await cli(['runs', 'rm', slowId.slice(0, 12), '--yes']);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toMatch(new RegExp(`^assay: error: run ${slowId.slice(0, 12)} \\(slow, .*\\) is being executed by pid ${slow.child.pid} on .*; it is not deleted; wait for it to finish, or stop it, then delete it\\n$`));
      slow.child.kill('SIGKILL');
      await slow.done;
      expect((await cli(['runs', 'rm', slowId.slice(0, 12), '--yes'])).code).toBe(0);
      expect(JSON.parse((await cli(['runs', '--json'])).stdout)).toHaveLength(1);
    } finally {
      slow.child.kill('SIGKILL');
    }
  });
});
