import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReportHtml } from '../../src/report/format-html.js';
import { compareDocument, HOSTILE_ATTR, HOSTILE_BY, HOSTILE_ITEM, HOSTILE_MODEL, MODELS, reportDocument } from '../../src/testing/report-document.js';

// The HTML report opened in a real browser: Debian's chromium (installed by .ci/run; never a downloaded one),
// from a file:// URL, watching every request, console message, page error and dialog.

const CHROMIUM = '/usr/bin/chromium';

const TITLE = existsSync(CHROMIUM) ? 'the HTML report in headless Chromium' : `the HTML report in headless Chromium: SKIPPED, no ${CHROMIUM} (apt-get install chromium, as .ci/run does)`;

describe.skipIf(!existsSync(CHROMIUM))(TITLE, () => {
  let dir: string;
  let url: string;
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'assay-report-html-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, await renderReportHtml(reportDocument(), { compare: compareDocument() }));
    url = pathToFileURL(file).href;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('request', (request) => requests.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') consoleErrors.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('dialog', (dialog) => {
      dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(url, { waitUntil: 'load' });
  });

  afterAll(async () => {
    await browser?.close();
    if (process.env.ASSAY_KEEP_REPORT_HTML) console.log(`report and screenshot kept in ${dir}`);
    else if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads nothing but the file itself, with no console error, page error or dialog', async () => {
    // Let anything lazy (an image, a font, a CSP report) have its chance to ask.
    await page.waitForTimeout(300);
    expect(requests).toEqual([url]);
    expect(consoleErrors).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(dialogs).toEqual([]);
  });

  it('has no script, no event handler attribute and no element that loads anything', async () => {
    const found = await page.evaluate(() => {
      // Runs in the page; the tests are compiled without the DOM library, so the little used of it is typed here.
      type Element = { tagName: string; attributes: ArrayLike<{ name: string }> };
      const document = (globalThis as unknown as { document: { scripts: ArrayLike<unknown>; querySelectorAll(selector: string): ArrayLike<Element> } }).document;
      const all = Array.from(document.querySelectorAll('*'));
      return {
        scripts: document.scripts.length,
        handlers: all.flatMap((element) => Array.from(element.attributes).filter((attribute) => attribute.name.toLowerCase().startsWith('on')).map((attribute) => `${element.tagName} ${attribute.name}`)),
        loaders: all.filter((element) => ['IMG', 'IFRAME', 'OBJECT', 'EMBED', 'LINK', 'IMAGE', 'FOREIGNOBJECT', 'image', 'foreignObject'].includes(element.tagName)).map((element) => element.tagName),
      };
    });
    expect(found).toEqual({ scripts: 0, handlers: [], loaders: [] });
  });

  it('draws every chart with a nonzero size, with axes and labels', async () => {
    const charts = page.locator('figure.chart svg');
    // Two metrics, cost against score, the difficulty split, and a forest plot for the report and for the compare.
    expect(await charts.count()).toBe(6);
    for (const chart of await charts.all()) {
      const box = await chart.boundingBox();
      expect(box!.width).toBeGreaterThan(100);
      expect(box!.height).toBeGreaterThan(50);
      expect(await chart.locator('g.role-axis').count()).toBeGreaterThanOrEqual(2);
      expect(await chart.locator('text').count()).toBeGreaterThan(5);
    }
  });

  it('shows the tables, with hostile names as plain text', async () => {
    const tables = page.locator('table');
    expect(await tables.count()).toBeGreaterThanOrEqual(9);
    for (const table of await tables.all()) await expect.poll(() => table.isVisible()).toBe(true);
    await expect.poll(() => page.getByText(HOSTILE_MODEL).first().isVisible()).toBe(true);
    for (const text of [...MODELS, HOSTILE_ATTR, HOSTILE_BY, HOSTILE_ITEM]) expect(await page.locator('td').getByText(text, { exact: true }).count(), text).toBeGreaterThan(0);
    // And in a chart, as SVG text.
    expect(await page.locator('svg text').getByText(HOSTILE_MODEL, { exact: true }).count()).toBeGreaterThan(0);
    expect(await page.title()).toBe('assay report: nightly <b>gsm8k</b> & "friends"');
  });

  it('takes a screenshot of the whole page', async () => {
    const path = join(dir, 'report.png');
    await page.screenshot({ path, fullPage: true });
    expect(statSync(path).size).toBeGreaterThan(10_000);
    expect(readFileSync(path).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });
});
