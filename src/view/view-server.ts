import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { UserError } from '../core/errors.js';
import { redactText } from '../core/redact.js';
import { manifestShape } from '../core/manifest.js';
import type { Store } from '../spec/store.js';
import type { ViewAssets } from './view-assets.js';
import { BadRequest, compareItemData, itemData, listRunsData, NotFound, progressData, runData, runOf, taskData, tasksData } from './view-data.js';

/**
 * The viewer's HTTP app (Hono, docs/adr/0017-the-viewer.md): the built pages, a JSON API over the store's read
 * queries, and the report page rendered by the report's own HTML code. Every response carries a
 * Content-Security-Policy that allows no inline script; model output reaches the page only as JSON strings.
 */

export interface ViewAppOptions {
  readonly store: Store;
  readonly assets: ViewAssets;
  /** Requests must carry it (query `token` once, then a cookie), or null on loopback. */
  readonly token: string | null;
  /** Host header values accepted (DNS rebinding), or null for any (a token guards the app instead). */
  readonly allowedHosts: readonly string[] | null;
  /**
   * Where a worker thread can open the same store with a read-only connection of its own to build reports
   * (the location as given, credentials and all: it stays in this process), or null for a store held by
   * this process alone (one job's files), whose reports are built here.
   */
  readonly reportLocation?: string | null;
}

export const APP_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** The report page has its own inline stylesheet and SVG charts, and never a script. */
const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

const COOKIE = 'assay_view_token';

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

const escape = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** A small page with no script: the 404 (and other refusals) a browser shows. */
export function messagePage(title: string, message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="/favicon.svg" type="image/svg+xml"><title>${escape(title)} · assay view</title></head>
<body><main class="message"><h1>${escape(title)}</h1><p>${escape(message)}</p><p><a href="/">All runs</a></p></main></body></html>`;
}

/** A report that could not be built for a reason the user can act on (nothing scored yet, say). */
class ReportRefused extends Error {}

/**
 * The run's HTML report by the report's own code. For a store another connection can read (SQLite,
 * PostgreSQL) it is built in a worker thread with its own read-only connection (seconds on a million tasks,
 * during which the server keeps answering); for the files stores, which hold their run in this process, here.
 */
async function buildReportHtml(store: Store, runId: string, location: string | null): Promise<string> {
  const worker = new URL('./report-worker.js', import.meta.url);
  if (location !== null && worker.pathname.endsWith('.js') && existsSync(worker)) {
    const result = await new Promise<{ html?: string; error?: { message: string; line: string | null; user: boolean } }>((resolve, reject) => {
      const thread = new Worker(worker, { workerData: { location, runId } });
      thread.once('message', resolve);
      thread.once('error', reject);
      thread.once('exit', (code) => (code !== 0 ? reject(new Error(`the report worker exited with code ${code}`)) : undefined));
    });
    if (result.html !== undefined) return result.html;
    if (result.error?.user) throw new ReportRefused(result.error.line ?? result.error.message);
    throw new Error(result.error?.message ?? 'the report worker failed');
  }
  const [{ buildReport }, { renderReportHtml }] = await Promise.all([import('../report/build-report.js'), import('../report/format-html.js')]);
  try {
    return await renderReportHtml(await buildReport(store, runId));
  } catch (error) {
    if (UserError.isInstance(error)) throw new ReportRefused(error.line());
    throw error;
  }
}

export function viewApp(options: ViewAppOptions): Hono {
  const { store, assets, token } = options;
  const app = new Hono();
  const reports = new Map<string, string>();
  const building = new Map<string, Promise<string>>();

  app.use('*', async (c, next) => {
    c.header('Content-Security-Policy', APP_CSP);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cache-Control', 'no-store');
    if (options.allowedHosts && !options.allowedHosts.includes(c.req.header('host') ?? '')) {
      return c.text('assay view: this host name is not served (open the URL assay view printed)', 421);
    }
    if (token !== null) {
      const given = c.req.query('token');
      if (sameToken(given, token)) {
        setCookie(c, COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/' });
        // The token leaves the address bar (and the history) at once.
        const url = new URL(c.req.url);
        url.searchParams.delete('token');
        return c.redirect(`${url.pathname}${url.search}`, 303);
      }
      if (!sameToken(getCookie(c, COOKIE), token)) {
        return c.html(messagePage('Access token needed', 'Open the URL with the token that assay view printed.'), 401);
      }
    }
    await next();
  });

  for (const [path, asset] of assets.files) {
    app.get(path, (c) => {
      c.header('Content-Type', asset.type);
      c.header('Cache-Control', 'no-cache');
      return c.body(asset.body);
    });
  }

  const page = (c: Context) => c.html(assets.index);
  const notFound = (c: Context, message: string) => c.html(messagePage('Not found', message), 404);

  /** Checks that what a page URL names exists, so an unknown run or task is a 404, not an empty page. */
  const pageRoute = (path: string, check: (c: Context) => Promise<void>) =>
    app.get(path, async (c) => {
      try {
        await check(c);
      } catch (error) {
        if (error instanceof NotFound) return notFound(c, error.message);
        throw error;
      }
      return page(c);
    });
  const run = (c: Context, name = 'run') => runOf(store, c.req.param(name)!);
  const inRange = (text: string | undefined, count: number, what: string) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0 || value >= count) throw new NotFound(`no ${what} ${text ?? ''} in this run`);
  };
  pageRoute('/', async () => {});
  pageRoute('/runs/:run', async (c) => void (await run(c)));
  pageRoute('/runs/:run/tasks', async (c) => void (await run(c)));
  pageRoute('/runs/:run/tasks/:ord', async (c) => inRange(c.req.param('ord'), (await run(c)).taskCount, 'task'));
  pageRoute('/runs/:run/items/:item', async (c) => {
    const record = await run(c);
    inRange(c.req.param('item'), record.taskCount / Math.max(1, manifestShape(record.snapshot).perItem), 'item');
  });
  pageRoute('/compare/:a/:b/items/:item', async (c) => {
    const a = await run(c, 'a');
    await run(c, 'b');
    inRange(c.req.param('item'), a.taskCount / Math.max(1, manifestShape(a.snapshot).perItem), 'item');
  });

  const api = (path: string, handler: (c: Context) => Promise<unknown>) =>
    app.get(`/api${path}`, async (c) => {
      try {
        return c.json(await handler(c));
      } catch (error) {
        if (error instanceof NotFound) return c.json({ error: error.message }, 404);
        if (error instanceof BadRequest) return c.json({ error: error.message }, 400);
        if (UserError.isInstance(error)) return c.json({ error: redactText(error.line()) }, 400);
        throw error;
      }
    });
  api('/runs', () => listRunsData(store));
  api('/runs/:run', (c) => runData(store, c.req.param('run')!));
  api('/runs/:run/progress', (c) => progressData(store, c.req.param('run')!));
  api('/runs/:run/tasks', (c) => tasksData(store, c.req.param('run')!, new URL(c.req.url).searchParams));
  api('/runs/:run/tasks/:ord', (c) => taskData(store, c.req.param('run')!, c.req.param('ord')!));
  api('/runs/:run/items/:item', (c) => itemData(store, c.req.param('run')!, c.req.param('item')!));
  api('/compare/:a/:b/items/:item', (c) => compareItemData(store, c.req.param('a')!, c.req.param('b')!, c.req.param('item')!));

  // The report's summary, by the report's own code (build-report.ts, format-html.ts), shown in a sandboxed frame.
  app.get('/runs/:run/report.html', async (c) => {
    c.header('Content-Security-Policy', REPORT_CSP);
    c.header('X-Frame-Options', 'SAMEORIGIN');
    const runId = c.req.param('run');
    try {
      const record = await runOf(store, runId);
      // Built once per state of the run (a report of a million tasks takes seconds, and holds the server meanwhile).
      const key = `${runId}@${record.updatedAt}`;
      let html = reports.get(key);
      if (html === undefined) {
        const pending = building.get(key) ?? buildReportHtml(store, runId, options.reportLocation ?? null);
        building.set(key, pending);
        try {
          html = await pending;
        } finally {
          building.delete(key);
        }
        reports.set(key, html);
        if (reports.size > 8) reports.delete(reports.keys().next().value!);
      }
      return c.html(html);
    } catch (error) {
      if (error instanceof NotFound) return notFound(c, error.message);
      if (error instanceof ReportRefused) return c.html(messagePage('No report yet', redactText(error.message)), 200);
      throw error;
    }
  });

  app.notFound((c) => (c.req.path.startsWith('/api/') ? c.json({ error: `no such API path: ${c.req.path}` }, 404) : notFound(c, `nothing at ${c.req.path}`)));
  app.onError((error, c) => {
    process.stderr.write(`assay view: internal error on ${c.req.method} ${c.req.path}: ${redactText(error.stack ?? error.message)}\n`);
    return c.req.path.startsWith('/api/') ? c.json({ error: 'internal error (see the terminal running assay view)' }, 500) : c.html(messagePage('Internal error', 'See the terminal running assay view.'), 500);
  });
  return app;
}
