import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { Workspace } from './support/workspace.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCS = join(ROOT, 'docs');

function markdownFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? markdownFiles(join(directory, entry.name)) : entry.name.endsWith('.md') ? [join(directory, entry.name)] : [],
  );
}

interface Block {
  readonly language: string;
  readonly info: string;
  readonly body: string;
}

function blocks(markdown: string): Block[] {
  return [...markdown.matchAll(/```(\w*)([^\n]*)\n([\s\S]*?)```/g)].map((match) => ({ language: match[1]!, info: match[2]!.trim(), body: match[3]! }));
}

const pages = markdownFiles(DOCS).filter((file) => blocks(readFileSync(file, 'utf8')).some((block) => block.info === 'test'));

describe('documentation examples', () => {
  let workspace: Workspace | undefined;
  afterEach(() => workspace?.remove());

  it('has runnable examples', () => {
    expect(pages.length).toBeGreaterThanOrEqual(5);
  });

  for (const page of pages) {
    it(`runs the examples in ${relative(ROOT, page)}`, async () => {
      workspace = new Workspace();
      cpSync(join(ROOT, 'examples'), join(workspace.dir, 'examples'), { recursive: true });
      cpSync(join(ROOT, 'examples', 'data'), join(workspace.dir, 'data'), { recursive: true });
      for (const block of blocks(readFileSync(page, 'utf8'))) {
        const file = /^file=(\S+)$/.exec(block.info);
        if (file) workspace.write(file[1]!, block.body);
        if (block.info !== 'test') continue;
        for (const line of block.body.split('\n').map((text) => text.trim())) {
          if (line === '' || line.startsWith('#')) continue;
          const expectedExit = Number(/#\s*exit (\d+)\s*$/.exec(line)?.[1] ?? 0);
          const command = line.replace(/\s+#.*$/, '').split(/\s+/);
          expect(command[0], line).toBe('assay');
          const result = await runCli(command.slice(1), { cwd: workspace.dir });
          expect(result.code, `${line}\n${result.stderr}`).toBe(expectedExit);
          if (command.includes('--json')) expect(() => JSON.parse(result.stdout), line).not.toThrow();
        }
      }
    });
  }
});

describe('--help and the command pages', () => {
  const commands: [string[], string][] = [
    [['run'], 'run.md'],
    [['report'], 'report.md'],
    [['results'], 'results.md'],
    [['compare'], 'compare.md'],
    [['quickcheck'], 'quickcheck.md'],
    [['inspect', 'snapshot'], 'inspect.md'],
    [['inspect', 'state'], 'inspect.md'],
    [['inspect', 'evaluation'], 'inspect.md'],
    [['replay'], 'replay.md'],
    [['runs'], 'runs.md'],
    [['runs', 'rm'], 'runs.md'],
    [['store', 'copy'], 'store.md'],
    [['export'], 'bundles.md'],
    [['import'], 'bundles.md'],
    [['status'], 'status.md'],
    [['worker'], 'worker.md'],
    [['submit'], 'worker.md'],
    [['estimate'], 'estimate.md'],
    [['view'], 'view.md'],
  ];
  for (const [command, page] of commands) {
    it(`documents every option of assay ${command.join(' ')}, and --help lists every option documented`, async () => {
      const help = await runCli([...command, '--help'], { cwd: ROOT });
      expect(help.code).toBe(0);
      const helpOptions = new Set([...help.stdout.matchAll(/--[a-z][a-z-]+/g)].map((match) => match[0]).filter((option) => option !== '--help'));
      const markdown = readFileSync(join(DOCS, 'commands', page), 'utf8');
      const synopsis = blocks(markdown).find((block) => block.body.includes(`assay ${command.join(' ')} `))!.body;
      const documented = new Set([...synopsis.matchAll(/--[a-z][a-z-]+/g)].map((match) => match[0]));
      expect([...helpOptions].sort()).toEqual([...documented].sort());
    });
  }
});

describe('the README and what the docs promise', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  it('starts with the same two commands: install and run the quickstart, then the tests', () => {
    const first = blocks(readme).find((block) => block.language === 'sh')!;
    expect(first.body.split('\n').filter(Boolean).map((line) => line.replace(/\s+#.*$/, ''))).toEqual(['npm install && npx assay run examples/quickstart.yaml', 'npm test']);
  });

  it('says how to use assay from another project: a clone installed by path, or a packed tarball', () => {
    const section = readme.slice(readme.indexOf('## Using assay from your own project'));
    expect(section.length).toBeLessThan(readme.length);
    expect(section).toContain('npm install /path/to/assay ');
    expect(section).toContain('npm pack');
    expect(section).toMatch(/npm install \/path\/to\/assay-[\d.]+\.tgz/);
  });

  it('promises no feature for a later version that is already there', () => {
    for (const file of [...markdownFiles(DOCS), join(ROOT, 'README.md')]) {
      expect(readFileSync(file, 'utf8'), relative(ROOT, file)).not.toMatch(/(bundles?|export|import)[^.]{0,40}?a\s+later\s+version/i);
    }
  });
});
