import { writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { Workspace } from '../support/workspace.js';

// Classes of bad input the mutation chaos suite found (test/chaos/input-mutations.ts): each must end in one
// `assay: error:` line and exit 1, never a stack trace, a second line or a hang.

const CONFIG = `name: hostile
datasets: [ { id: arith, path: questions.jsonl, input: question, target: answer, idField: id } ]
models: [ { id: m, provider: mock } ]
parse: { kind: last-number }
metrics: [ { kind: numeric-match } ]
`;

describe('hostile configs and datasets', () => {
  let workspace: Workspace;
  beforeEach(() => {
    workspace = new Workspace();
    workspace.arithmetic('questions.jsonl', 3);
  });
  afterEach(() => workspace.remove());

  const oneErrorLine = async (config: string, expected: RegExp) => {
    workspace.write('exp.yaml', config);
    const result = await runCli(['run', 'exp.yaml', '--store', 'store.db'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^assay: error: /);
    expect(lines[0]).toMatch(expected);
    expect(lines[0]!.length).toBeLessThan(1000);
    expect(workspace.exists('store.db')).toBe(false);
  };

  it('refuses YAML aliases that make a cycle, explode, or point nowhere', async () => {
    await oneErrorLine(`${CONFIG}runtime: &loop { concurrency: 2, again: *loop }\n`, /the config is not a tree: an alias refers to a mapping or list that contains it/);
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...['b', 'c', 'd', 'e'].map((name, index) => `${name}: &${name} [${Array(10).fill(`*${'abcd'[index]}`).join(',')}]`)].join('\n');
    await oneErrorLine(`${CONFIG}${bomb}\n`, /YAML error: Excessive alias count/);
    await oneErrorLine(`${CONFIG}seed: *nowhere\n`, /YAML error: Unresolved alias/);
    await oneErrorLine(`${CONFIG}? { a: 1 }\n: 2\n`, /unknown field/);
  });

  it('shortens a huge quoted value and folds line breaks, so the error stays one readable line', async () => {
    await oneErrorLine(CONFIG.replace('provider: mock', `provider: "${'漢'.repeat(100_000)}"`), /models\[0\]\.provider: .*… \(\d+ characters\)/);
  });

  it('refuses a dataset row nested too deeply, and a checkpoint that is not UTF-8 or is damaged', async () => {
    workspace.write('questions.jsonl', `{"id":"q1","question":"a","answer":"1","deep":${'['.repeat(20_000)}${']'.repeat(20_000)}}\n`);
    await oneErrorLine(CONFIG, /questions\.jsonl:1: the row is nested too deeply to be read/);
    const checkpoint = (body: string) => `name: kc
datasets: [ { id: kc, path: bench.jsonld, format: karenina } ]
models: [ { id: m, provider: mock } ]
${body}`;
    writeFileSync(workspace.path('bench.jsonld'), Buffer.from(`\ufeff${JSON.stringify({ '@type': 'DataFeed', dataFeedElement: [] })}`, 'utf16le'));
    await oneErrorLine(checkpoint(''), /bench\.jsonld: the file is not UTF-8 text/);
    workspace.write('bench.jsonld', JSON.stringify({ '@type': 'DataFeed', dataFeedElement: [{ item: { text: 'q?', additionalProperty: [null], rating: [null] } }] }));
    await oneErrorLine(checkpoint(''), /bench\.jsonld: not a karenina checkpoint assay can read: its structure is damaged/);
  });
});
