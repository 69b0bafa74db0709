// `assay view` on a 1M-task store: the time of each task query (in the store and through the HTTP API) and of
// each page in chromium. Run with the store report-scenario.ts `build` made: `STORE_PATH` (or a copy of it in
// PostgreSQL: its URL), and `api` after it to skip the pages in chromium.
import { existsSync } from 'node:fs';
import { openStore } from '../dist/index.js';
import { startView } from '../dist/view/start-view.js';

const [, storePath, onlyApi] = process.argv.slice(2);
const CHROMIUM = '/usr/bin/chromium';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Median and best of `times` runs of `work`, in ms. */
async function time(work: () => Promise<unknown>, times = 5): Promise<{ median: number; best: number }> {
  const samples: number[] = [];
  for (let index = 0; index < times; index++) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  return { median: median(samples), best: Math.min(...samples) };
}

const store = await openStore(storePath!, { create: false, readonly: true });
const [run] = await store.listRuns();
const runId = run!.runId;
const models = run!.snapshot.models.map((model) => model.id);

// Each filter of the task table, as its URL parameters (the API's) and as the store query it becomes.
const queries: [string, string][] = [
  ['first page (no filter)', ''],
  ['model', `model=${models[1]}`],
  ['dataset', 'dataset=d'],
  ['stage reached (done)', 'stage=done'],
  ['failed', 'failed=yes'],
  ['failed, one category', 'category=server_error'],
  ['score: fail', 'score=accuracy&pass=no'],
  ['score: range 0.5..1', 'score=accuracy&min=0.5&max=1'],
  ['model + score: pass', `model=${models[0]}&score=accuracy&pass=yes`],
  ['sorted by score, descending', 'sort=accuracy&desc=yes'],
  ['page 10,000 (offset 500,000)', 'offset=500000'],
  ['text: common ("What is 5")', 'q=What+is+5'],
  ['text: rare (one item)', 'q=What+is+998+%2B+988'],
  ['text: absent (full scan)', 'q=no+such+text+anywhere'],
];

const view = await startView({ store: storePath!, host: '127.0.0.1', port: 0, token: false });
const rows: { name: string; params: string; api: { median: number; best: number }; rows: number }[] = [];
for (const [name, params] of queries) {
  let count = 0;
  const api = await time(async () => {
    const response = await fetch(`http://127.0.0.1:${view.port}/api/runs/${runId}/tasks?${params}`);
    if (!response.ok) throw new Error(`${params}: ${response.status} ${await response.text()}`);
    count = ((await response.json()) as { rows: unknown[] }).rows.length;
  }, name.startsWith('text') ? 3 : 5);
  rows.push({ name, params, api, rows: count });
  process.stderr.write(`   ${name}: ${api.median.toFixed(1)} ms (${count} rows)\n`);
}

const pages: { name: string; ms: number }[] = [];
if (existsSync(CHROMIUM) && onlyApi !== 'api') {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const base = `http://127.0.0.1:${view.port}`;
  const visit = async (name: string, path: string, selector: string) => {
    const samples: number[] = [];
    for (let index = 0; index < 3; index++) {
      const started = performance.now();
      await page.goto(`${base}${path}`, { waitUntil: 'commit' });
      await page.locator(selector).first().waitFor({ timeout: 60_000 });
      samples.push(performance.now() - started);
    }
    pages.push({ name, ms: median(samples) });
    process.stderr.write(`   page ${name}: ${median(samples).toFixed(0)} ms\n`);
  };
  await visit('runs', '/', '#runs tbody tr');
  // The run page: its counts, then the report in its frame (built once, then served from the viewer's cache).
  for (const label of ['first visit', 'next visits']) {
    const samples: { counts: number; report: number }[] = [];
    for (let index = 0; index < (label === 'first visit' ? 1 : 3); index++) {
      const started = performance.now();
      await page.goto(`${base}/runs/${runId}`, { waitUntil: 'commit' });
      // Attached, not 'visible': Playwright's visibility check waits for the report frame's load, the paint does not.
      await page.locator('#count-done').waitFor({ state: 'attached', timeout: 60_000 });
      const counts = performance.now() - started;
      await page.frameLocator('iframe.report').locator('figure.chart svg').first().waitFor({ timeout: 120_000 });
      samples.push({ counts, report: performance.now() - started });
    }
    pages.push({ name: `run, ${label}: counts shown`, ms: median(samples.map((sample) => sample.counts)) });
    pages.push({ name: `run, ${label}: report shown`, ms: median(samples.map((sample) => sample.report)) });
    process.stderr.write(`   page run ${label}: counts ${median(samples.map((sample) => sample.counts)).toFixed(0)} ms, report ${median(samples.map((sample) => sample.report)).toFixed(0)} ms\n`);
  }
  await visit('tasks, first page', `/runs/${runId}/tasks`, '#tasks tbody tr');
  await visit('tasks, score filter', `/runs/${runId}/tasks?score=accuracy&pass=no&model=${models[1]}`, '#tasks tbody tr');
  await visit('task', `/runs/${runId}/tasks/123456`, 'pre.answer');
  await visit('side by side', `/runs/${runId}/items/123456`, '#side-by-side .column');
  await browser.close();
}
// The counts while a report is being built (in its worker thread): a fresh viewer, the report asked for, then
// the run's progress read three times before the report is back.
const fresh = await startView({ store: storePath!, host: '127.0.0.1', port: 0, token: false });
await view.close();
const building = fetch(`http://127.0.0.1:${fresh.port}/runs/${runId}/report.html`).then((response) => response.text());
const during: number[] = [];
for (let index = 0; index < 3; index++) {
  await new Promise((resolve) => setTimeout(resolve, 300));
  const started = performance.now();
  await (await fetch(`http://127.0.0.1:${fresh.port}/api/runs/${runId}/progress`)).json();
  during.push(performance.now() - started);
}
const reportStarted = performance.now();
await building;
const progressDuringReport = { median: median(during), reportLeftMs: performance.now() - reportStarted };
process.stderr.write(`   progress while the report builds: ${progressDuringReport.median.toFixed(1)} ms (report still ${progressDuringReport.reportLeftMs.toFixed(0)} ms from done)\n`);
await fresh.close();
await store.close();
process.stdout.write(JSON.stringify({ tasks: run!.taskCount, queries: rows, pages, progressDuringReport }));
