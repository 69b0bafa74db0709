import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
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
