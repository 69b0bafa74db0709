import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
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
});
