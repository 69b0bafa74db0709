import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAIServer, solve, type Reply } from '../support/openai-server.js';
import { runCli, startCli, waitFor, type RunningCli } from '../support/cli.js';
import { Workspace } from '../support/workspace.js';

// `assay view` end to end: the real CLI serving a real store, driven in Debian's chromium (installed by
// .ci/run; never a downloaded browser). Screenshots of each page go to docs/commands/view/.

const CHROMIUM = '/usr/bin/chromium';
const TITLE = existsSync(CHROMIUM) ? 'assay view in headless Chromium' : `assay view in headless Chromium: SKIPPED, no ${CHROMIUM} (apt-get install chromium, as .ci/run does)`;
const SHOTS = fileURLToPath(new URL('../../docs/commands/view/', import.meta.url));

/** What model-a says to the first question: markup and script that must show as text and never run. */
const HOSTILE = '<img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=2;alert(2)</script> The answer is 21.';

function config(name: string, dataset: string, temperature = 0): string {
  const model = (id: string) => `  - id: ${id}
    provider: openai-compatible
    model: ${id}
    baseURL: BASE
    params: { temperature: ${temperature}, maxTokens: 64 }`;
  return `name: ${name}
datasets:
  - id: arith
    path: ${dataset}
    input: question
    target: answer
    idField: id
models:
${model('model-a')}
${model('model-b')}
prompt: { system: "Answer with a number.", user: "{{input}}" }
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
runtime:
  concurrency: 1
  store: store.db
  maxAttempts: 1
  retryBaseDelayMs: 10
`;
}

/** Starts `assay view` and resolves with its URL (from --json) once it listens. */
async function startView(workspace: Workspace, ...args: string[]): Promise<{ cli: RunningCli; url: string }> {
  const cli = startCli(['view', '--store', 'store.db', '--port', '0', '--json', ...args], { cwd: workspace.dir });
  await waitFor(() => cli.output().stdout.includes('}') || cli.child.exitCode !== null, 30_000, 'assay view to listen');
  const { url } = JSON.parse(cli.output().stdout) as { url: string };
  return { cli, url };
}

async function stop(cli: RunningCli | undefined): Promise<void> {
  if (!cli || cli.child.exitCode !== null) return;
  cli.child.kill('SIGTERM');
  await cli.done;
}

describe.skipIf(!existsSync(CHROMIUM))(TITLE, () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;
  let view: { cli: RunningCli; url: string };
  let browser: Browser;
  let context: BrowserContext;
  const problems: string[] = [];
  const dialogs: string[] = [];
  const runIds: Record<string, string> = {};
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  let live: RunningCli | undefined;
  const cli = (...args: string[]) => runCli(args, { cwd: workspace.dir });

  const open = async (path: string): Promise<Page> => {
    const page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`${path}: ${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`${path}: page error: ${error.message}`));
    page.on('dialog', (dialog) => {
      dialogs.push(`${path}: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(new URL(path, view.url).href, { waitUntil: 'load' });
    return page;
  };
  const shoot = async (page: Page, name: string) => {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: false });
  };

  beforeAll(async () => {
    workspace = new Workspace();
    // model-a answers right (the first question with hostile markup around it); model-b is wrong on even items.
    server = await new FakeOpenAIServer((request): Reply => {
      const right = solve(request.prompt);
      const even = Number(/What is (\d+)/.exec(request.prompt)?.[1] ?? 0) % 2 === 0;
      if (request.prompt.includes('live')) return { kind: 'answer', text: right, after: gate, delayMs: 150 };
      if (request.model === 'model-a') return { kind: 'answer', text: request.prompt === 'What is 11 + 10?' ? HOSTILE : right };
      return { kind: 'answer', text: even ? 'The answer is 0.' : right };
    }).start();
    workspace.arithmetic('questions.jsonl', 6);
    const liveRows = Array.from({ length: 8 }, (_, index) => JSON.stringify({ id: `q${index + 1}`, question: `live: What is ${index} + 1?`, answer: String(index + 1) }));
    workspace.write('live.jsonl', `${liveRows.join('\n')}\n`);
    for (const [name, dataset, temperature] of [
      ['two-models', 'questions.jsonl', 0],
      ['two-models-warm', 'questions.jsonl', 0.5],
    ] as const) {
      workspace.write(`${name}.yaml`, config(name, dataset, temperature).replace(/BASE/g, server.baseURL));
      const result = await cli('run', `${name}.yaml`, '--json');
      expect(result.code, result.stderr).toBe(0);
      runIds[name] = (JSON.parse(result.stdout) as { runId: string }).runId;
    }
    view = await startView(workspace);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  }, 120_000);

  afterAll(async () => {
    release();
    await stop(live);
    await stop(view?.cli);
    await browser?.close();
    await server?.stop();
    workspace?.remove();
  });

  it('lists every run on the runs page, and its search narrows the list', async () => {
    const page = await open('/');
    await page.locator('#runs tbody tr').first().waitFor();
    expect(await page.locator('#runs tbody tr').count()).toBe(2);
    expect(await page.locator('#runs').textContent()).toContain('two-models-warm');
    await shoot(page, 'runs');
    await page.fill('input[name=q]', 'warm');
    await expect.poll(() => page.locator('#runs tbody tr').count()).toBe(1);
    expect(page.url()).toContain('?q=warm');
    await page.close();
  });

  it('shows a run: counts, failures, usage and the report summary drawn by the report code', async () => {
    const page = await open(`/runs/${runIds['two-models']}`);
    await page.locator('#count-done').waitFor();
    expect(await page.locator('#count-done').textContent()).toBe('12');
    expect(await page.locator('#usage').textContent()).toContain('model-b');
    const report = page.frameLocator('iframe.report');
    // The HTML report's own charts (vega-lite SVG, rendered by src/report/format-html.ts).
    await report.locator('figure.chart svg').first().waitFor();
    expect(await report.locator('body').textContent()).toContain('accuracy');
    await shoot(page, 'run');
    await page.close();
  });

  it('narrows the task table with a filter, and the filter lives in the URL', async () => {
    const page = await open(`/runs/${runIds['two-models']}/tasks`);
    await page.locator('#tasks tbody tr').first().waitFor();
    expect(await page.locator('#tasks tbody tr').count()).toBe(12);
    await page.selectOption('select[name=model]', 'model-b');
    await page.selectOption('select[name=pass]', 'no');
    await page.fill('input[name=score]', 'accuracy');
    await page.click('form.filters button[type=submit]');
    await expect.poll(() => page.locator('#tasks tbody tr').count()).toBe(3);
    expect(page.url()).toMatch(/model=model-b/);
    expect(page.url()).toMatch(/pass=no/);
    const models = await page.locator('#tasks tbody tr td:nth-child(3)').allTextContents();
    expect(new Set(models)).toEqual(new Set(['model-b']));
    await shoot(page, 'tasks');
    // The URL alone gives the same table (a shared link), and back goes to the unfiltered one.
    const again = await open(new URL(page.url()).pathname + new URL(page.url()).search);
    await expect.poll(() => again.locator('#tasks tbody tr').count()).toBe(3);
    await again.close();
    await page.goBack();
    await expect.poll(() => page.locator('#tasks tbody tr').count()).toBe(12);
    await page.close();
  });

  it('shows a hostile answer as text on the task page, and runs none of it', async () => {
    const page = await open(`/runs/${runIds['two-models']}/tasks/0`);
    await page.locator('pre.answer').first().waitFor();
    expect(await page.locator('pre.answer').first().textContent()).toBe(HOSTILE);
    expect(await page.locator('#prompt').textContent()).toContain('What is 11 + 10?');
    expect(await page.locator('#events').textContent()).toContain('generate-completed');
    const ran = await page.evaluate(() => {
      const scope = globalThis as unknown as { __pwned?: number; document: { querySelectorAll(selector: string): ArrayLike<unknown> } };
      return { pwned: scope.__pwned ?? null, images: scope.document.querySelectorAll('main img').length, scripts: scope.document.querySelectorAll('main script').length };
    });
    expect(ran).toEqual({ pwned: null, images: 0, scripts: 0 });
    await shoot(page, 'task');
    await page.close();
    expect(dialogs).toEqual([]);
  });

  it("shows a task's judges: each judgment's scores, then the judge's prompt and raw reply as text", async () => {
    // A judged run in a store of its own (the other tests count the runs of store.db).
    const reply = '{"reasoning": "<b onmouseover=alert(3)>fine</b><script>window.__pwned=3</script>", "correct": true, "clarity": 4, "tone": "formal"}';
    workspace.write(
      'judged.yaml',
      `name: judged
datasets: [ { id: arith, path: questions.jsonl, input: question, target: answer, idField: id } ]
models: [ { id: answerer, provider: mock, options: { accuracy: 1 } } ]
evaluators: [ { id: judge-model, provider: mock, options: { reply: '${reply}' } } ]
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
judges:
  - id: quality
    kind: rubric
    models: [judge-model]
    traits:
      - { name: correct, kind: boolean, description: "Is the final number right?" }
      - { name: clarity, kind: score, min: 1, max: 5, description: "How clear is the working?" }
runtime: { store: judged.db }
`,
    );
    const judged = await cli('run', 'judged.yaml', '--json');
    expect(judged.code, judged.stderr).toBe(0);
    const runId = (JSON.parse(judged.stdout) as { runId: string }).runId;
    const second = startCli(['view', '--store', 'judged.db', '--port', '0', '--json'], { cwd: workspace.dir });
    try {
      await waitFor(() => second.output().stdout.includes('}') || second.child.exitCode !== null, 30_000, 'the second viewer to listen');
      const { url } = JSON.parse(second.output().stdout) as { url: string };
      const page = await context.newPage();
      page.on('pageerror', (error) => problems.push(`judged task: page error: ${error.message}`));
      await page.goto(new URL(`/runs/${runId}/tasks/0`, url).href, { waitUntil: 'load' });
      await page.locator('#judges .judgment').first().waitFor();
      // Traits are reported as judge.trait; a 1-5 score as its place on the scale, (4 - 1) / (5 - 1).
      expect(await page.locator("#judges h3").first().textContent()).toBe('quality (rubric): quality.correct 1, quality.clarity 0.750');
      const section = (await page.locator('#judges').textContent())!;
      expect(section).toContain('judge-model');
      expect(section).toContain('Is the final number right?');
      // The raw reply, markup and all, is text.
      expect(section).toContain('<script>window.__pwned=3</script>');
      expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned ?? null)).toBeNull();
      expect(await page.locator('#judges script, #judges b').count()).toBe(0);
      await page.close();
    } finally {
      await stop(second);
    }
  });

  it('puts both models side by side on one item, marking the scores that differ', async () => {
    const page = await open(`/runs/${runIds['two-models']}/items/1`);
    await page.locator('#side-by-side .column').first().waitFor();
    expect(await page.locator('#side-by-side .column').evaluateAll((columns) => columns.map((column) => (column as unknown as { dataset: { model: string } }).dataset.model))).toEqual(['model-a', 'model-b']);
    // Item 1 (q2: 12 + 13): model-b said 0.
    expect(await page.locator('#side-by-side').textContent()).toContain('The answer is 0.');
    expect(await page.locator('tr.differs[data-score=accuracy]').count()).toBe(2);
    await shoot(page, 'side-by-side');
    await page.close();
  });

  it('puts the same item of two runs side by side', async () => {
    const page = await open(`/compare/${runIds['two-models']}/${runIds['two-models-warm']}/items/2`);
    await page.locator('#side-by-side .column').first().waitFor();
    expect(await page.locator('#side-by-side .column h3').allTextContents()).toEqual(['a: model-a', 'a: model-b', 'b: model-a', 'b: model-b']);
    await shoot(page, 'compare');
    await page.close();
  });

  it("updates a running run's counts without a reload", async () => {
    workspace.write('live.yaml', config('live', 'live.jsonl').replace(/BASE/g, server.baseURL));
    live = startCli(['run', 'live.yaml'], { cwd: workspace.dir });
    // The run is in the store (and running) once its first call is waiting at the gate.
    await waitFor(() => server.requests.some((request) => request.prompt.includes('live')), 30_000, 'the live run to call');
    const runs = JSON.parse((await cli('runs', '--store', 'store.db', '--json')).stdout) as { runId: string; name: string }[];
    const runId = runs.find((run) => run.name === 'live')!.runId;
    const page = await open(`/runs/${runId}`);
    await page.locator('#count-done').waitFor();
    expect(await page.locator('#run-status').textContent()).toBe('running');
    expect(await page.locator('#count-done').textContent()).toBe('0');
    await page.evaluate(() => ((globalThis as unknown as { __samePage: boolean }).__samePage = true));
    release();
    await expect.poll(() => page.locator('#count-done').textContent(), { timeout: 30_000 }).not.toBe('0');
    await expect.poll(() => page.locator('#count-done').textContent(), { timeout: 30_000 }).toBe('16');
    expect(await page.locator('#run-status').textContent()).toBe('completed');
    expect(await page.evaluate(() => (globalThis as unknown as { __samePage?: boolean }).__samePage)).toBe(true);
    expect((await live.done).code).toBe(0);
    await page.close();
  }, 90_000);

  it('answers an unknown run or task with a 404 page', async () => {
    for (const path of ['/runs/no-such-run', `/runs/${runIds['two-models']}/tasks/9999`, `/runs/${runIds['two-models']}/items/99`, '/elsewhere']) {
      const response = await fetch(new URL(path, view.url));
      expect(response.status, path).toBe(404);
      const body = await response.text();
      expect(body).toContain('Not found');
      expect(body).not.toMatch(/at .*\.js:\d+/);
    }
    const api = await fetch(new URL('/api/runs/no-such-run', view.url));
    expect([api.status, await api.json()]).toEqual([404, { error: 'no run no-such-run in this store' }]);
    // A bad filter is a 400 naming the parameter, not a stack.
    const bad = await fetch(new URL(`/api/runs/${runIds['two-models']}/tasks?model=nobody&limit=5`, view.url));
    expect([bad.status, ((await bad.json()) as { error: string }).error]).toEqual([400, "model 'nobody' is not one of this run's: model-a, model-b"]);
    const limit = await fetch(new URL(`/api/runs/${runIds['two-models']}/tasks?limit=0`, view.url));
    expect(limit.status).toBe(400);
  });

  it('sends a CSP that forbids inline script with every page', async () => {
    const response = await fetch(view.url);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(await response.text()).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('logged no console error, page error or dialog on any page', () => {
    expect(problems).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});

describe('assay view: read-only, access token and bad input', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;
  const cli = (...args: string[]) => runCli(args, { cwd: workspace.dir });

  beforeAll(async () => {
    workspace = new Workspace();
    server = await new FakeOpenAIServer().start();
    workspace.arithmetic('questions.jsonl', 4);
    workspace.write('run.yaml', config('small', 'questions.jsonl').replace(/BASE/g, server.baseURL));
    expect((await cli('run', 'run.yaml')).code).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    workspace?.remove();
  });

  it('never writes to the store: its bytes are the same after a viewing session', async () => {
    const before = readFileSync(workspace.path('store.db'));
    const view = await startView(workspace);
    try {
      const runs = (await (await fetch(new URL('/api/runs', view.url))).json()) as { runId: string }[];
      const runId = runs[0]!.runId;
      for (const path of [`/runs/${runId}`, `/api/runs/${runId}`, `/api/runs/${runId}/tasks?q=what&sort=accuracy&desc=yes`, `/api/runs/${runId}/tasks/0`, `/api/runs/${runId}/items/0`, `/runs/${runId}/report.html`]) {
        expect((await fetch(new URL(path, view.url))).status, path).toBe(200);
      }
    } finally {
      await stop(view.cli);
    }
    expect(readFileSync(workspace.path('store.db')).equals(before)).toBe(true);
  });

  it('views a progressive save while its job runs: no lock taken, progress as the job writes it, then the finished results', async () => {
    // The job's first two answers come at once, the rest when the test lets them.
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    const slow = await new FakeOpenAIServer((request, self) => ({ kind: 'answer', text: solve(request.prompt), ...(self.requests.length > 2 ? { after: held } : {}) })).start();
    try {
      workspace.arithmetic('job.jsonl', 6);
      workspace.write('job.yaml', config('job', 'job.jsonl').replace(/BASE/g, slow.baseURL).replace('  store: store.db\n', ''));
      const job = startCli(['run', 'job.yaml', '--output', 'out.json', '--progressive-save', '--quiet'], { cwd: workspace.dir });
      await waitFor(() => slow.requests.length >= 3, 30_000, 'the job to answer twice');
      const cliView = startCli(['view', '--store', 'out.json', '--port', '0', '--json'], { cwd: workspace.dir });
      await waitFor(() => cliView.output().stdout.includes('}') || cliView.child.exitCode !== null, 30_000, 'assay view to listen');
      expect(cliView.child.exitCode, cliView.output().stderr).toBeNull();
      const { url } = JSON.parse(cliView.output().stdout) as { url: string };
      const runs = async () => (await (await fetch(new URL('/api/runs', url))).json()) as { runId: string; name: string; tasks: number; done: number; status: string }[];
      try {
        const first = await runs();
        expect(first).toHaveLength(1);
        expect(first[0]).toMatchObject({ name: 'job', tasks: 12 });
        expect(first[0]!.done).toBeLessThan(12);
        letGo();
        // The job is not held back by the viewer (it never took the job's lock) and finishes.
        const finished = await job.done;
        expect(finished.code, finished.stderr).toBe(0);
        expect(existsSync(workspace.path('out.json'))).toBe(true);
        // ... and the viewer, still running, now shows the finished job from its results file.
        await expect.poll(async () => (await runs())[0]?.done, { timeout: 10_000, interval: 200 }).toBe(12);
      } finally {
        await stop(cliView);
      }
    } finally {
      letGo();
      await slow.stop();
    }
  });

  it('--open hands the URL (with its token) to the desktop opener, and without one says so in a line and still serves', async () => {
    // A stand-in for xdg-open on PATH that records what it was asked to open.
    const bin = workspace.path('bin');
    mkdirSync(bin, { recursive: true });
    const opened = workspace.path('opened.txt');
    writeFileSync(`${bin}/xdg-open`, `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`, { mode: 0o755 });
    const cli = startCli(['view', '--store', 'store.db', '--port', '0', '--host', '0.0.0.0', '--open', '--json'], { cwd: workspace.dir, env: { PATH: `${bin}:${process.env.PATH}` } });
    try {
      await waitFor(() => cli.output().stdout.includes('}') || cli.child.exitCode !== null, 30_000, 'assay view to listen');
      const { url } = JSON.parse(cli.output().stdout) as { url: string };
      await waitFor(() => existsSync(opened) && readFileSync(opened, 'utf8').length > 0, 10_000, 'the opener to be called');
      expect(readFileSync(opened, 'utf8')).toBe(url);
      expect(new URL(url).searchParams.get('token')).toMatch(/^[\w-]{32}$/);
    } finally {
      await stop(cli);
    }
    // No opener at all: one line on stderr, and the viewer serves anyway.
    const lonely = startCli(['view', '--store', 'store.db', '--port', '0', '--open', '--json'], { cwd: workspace.dir, env: { PATH: workspace.path('nothing-here') } });
    try {
      await waitFor(() => lonely.output().stdout.includes('}') || lonely.child.exitCode !== null, 30_000, 'assay view to listen');
      const { url } = JSON.parse(lonely.output().stdout) as { url: string };
      await waitFor(() => lonely.output().stderr.includes('xdg-open'), 10_000, 'the line about the missing opener');
      expect(lonely.output().stderr.trim().split('\n')).toEqual(['could not start xdg-open: open the URL yourself']);
      expect((await fetch(new URL('/api/runs', url))).status).toBe(200);
    } finally {
      await stop(lonely);
    }
  });

  it('beyond loopback requires the random token printed with the URL: once in the query, then a cookie', async () => {
    const view = await startView(workspace, '--host', '0.0.0.0');
    try {
      const url = new URL(view.url);
      const token = url.searchParams.get('token');
      expect(token).toMatch(/^[\w-]{32}$/);
      const bare = new URL('/api/runs', url);
      bare.searchParams.delete('token');
      expect((await fetch(bare)).status).toBe(401);
      expect((await fetch(new URL('/api/runs?token=wrong', url))).status).toBe(401);
      const first = await fetch(url, { redirect: 'manual' });
      expect(first.status).toBe(303);
      expect(first.headers.get('location')).toBe('/');
      const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
      expect(first.headers.get('set-cookie')).toMatch(/HttpOnly/i);
      expect((await fetch(bare, { headers: { cookie } })).status).toBe(200);
    } finally {
      await stop(view.cli);
    }
  });

  it('refuses bad input with one line and exit 1', async () => {
    writeFileSync(workspace.path('junk.db'), 'this is not a database, just text\n'.repeat(200));
    copyFileSync(workspace.path('questions.jsonl'), workspace.path('copy.jsonl'));
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const cases: [string[], RegExp][] = [
        [['view', '--store', 'missing.db'], /no store here/],
        [['view', '--store', 'junk.db'], /not an assay store|not a SQLite database/],
        [['view', '--store', 'copy.jsonl'], /not an assay store|not a SQLite database/],
        [['view', '--store', 'store.db', '--port', String(taken)], new RegExp(`port ${taken} on 127.0.0.1 is already in use`)],
        [['view', '--store', 'store.db', '--host', '0.0.0.0', '--no-token'], /--no-token is refused with --host 0.0.0.0/],
        [['view', '--store', 'store.db', '--port', 'many'], /port/],
      ];
      for (const [args, message] of cases) {
        const result = await cli(...args);
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(1);
        expect(result.stderr, args.join(' ')).toMatch(message);
        expect(result.stderr.trim().split('\n').filter((line) => !line.startsWith('(run with --help')), args.join(' ')).toHaveLength(1);
      }
    } finally {
      blocker.close();
    }
  });
});
