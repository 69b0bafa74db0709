import { describe, expect, it } from 'vitest';
import { compareDocument, HOSTILE_ATTR, HOSTILE_BY, HOSTILE_ITEM, HOSTILE_MODEL, MODELS, reportDocument } from '../testing/report-document.js';
import { escapeHtml, fixed, interval, pValue, renderCompareHtml, renderReportHtml } from './format-html.js';
import { byCharts, costByModel, costChart, forestChart, renderChartSvg, scoreCharts } from './html-charts.js';

const HOSTILE = [HOSTILE_MODEL, HOSTILE_ATTR, HOSTILE_BY, HOSTILE_ITEM, '<b>gsm8k</b>', 'gsm8k-<mini>'];

const svgCount = (html: string) => html.match(/<svg\b/g)?.length ?? 0;

/**
 * Reads the page as an HTML parser would, well enough for this page: every `<` must open a comment, a doctype
 * or a tag with well-formed attributes (text and attribute values carry `&lt;`, never `<`). Returns the
 * elements and attribute names it met, so a test can say no `script` element or `on*` attribute exists.
 */
function markup(html: string): { elements: Set<string>; attributes: Set<string> } {
  const elements = new Set<string>();
  const attributes = new Set<string>();
  const token = /<!--[\s\S]*?-->|<!DOCTYPE html>|<\/([a-zA-Z][a-zA-Z0-9:-]*)\s*>|<([a-zA-Z][a-zA-Z0-9:-]*)((?:\s+[^\s"'<>/=]+(?:="[^"<]*"|='[^'<]*')?)*)\s*\/?>|([^<]+)/gy;
  let at = 0;
  for (let match = token.exec(html); match !== null && match[0].length > 0; match = token.exec(html)) {
    at = token.lastIndex;
    if (match[2]) {
      elements.add(match[2].toLowerCase());
      for (const attribute of match[3]!.matchAll(/\s+([^\s"'<>/=]+)(?:="[^"<]*"|='[^'<]*')?/g)) attributes.add(attribute[1]!.toLowerCase());
    }
    if (match[4] !== undefined && /<|&(?!(amp|lt|gt|quot|#39|#x?[0-9a-f]+);)/i.test(match[4])) throw new Error(`unescaped text near ${JSON.stringify(match[4].slice(0, 80))}`);
  }
  if (at !== html.length) throw new Error(`not a well-formed tag at ${at}: ${JSON.stringify(html.slice(at, at + 120))}`);
  return { elements, attributes };
}

function expectSafe(html: string): void {
  for (const text of HOSTILE) expect(html, `raw ${text}`).not.toContain(text);
  expect(html).not.toMatch(/<script/i);
  const { elements, attributes } = markup(html);
  for (const element of ['script', 'img', 'iframe', 'object', 'embed', 'image', 'foreignobject', 'link', 'base', 'form']) expect(elements.has(element), `<${element}>`).toBe(false);
  expect([...attributes].filter((name) => name.startsWith('on') || name === 'href' || name === 'src' || name === 'xlink:href' || name === 'style')).toEqual(
    // The page's own `href="#section"` links, and nothing else that loads or runs something.
    elements.has('nav') ? ['href'] : [],
  );
  expect([...html.matchAll(/href="([^"]*)"/g)].every((match) => match[1]!.startsWith('#'))).toBe(true);
  // No link to anything outside the file: the only URLs are the SVG namespaces.
  const withoutNamespaces = html.replace(/\sxmlns(?::xlink)?="http:\/\/www\.w3\.org\/(2000\/svg|1999\/xlink)"/g, '');
  expect(withoutNamespaces).not.toMatch(/https?:|\/\/[a-z]|url\(/i);
}

describe('renderReportHtml', () => {
  it('draws a score chart per metric, cost against score, the --by split and the forest plot as inline SVG', async () => {
    const html = await renderReportHtml(reportDocument());
    // Two metrics, cost/score, one split (exact-match by difficulty), one forest plot.
    expect(svgCount(html)).toBe(5);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`);
    for (const id of ['scores', 'splits', 'comparisons', 'usage', 'latency', 'failures', 'agreement']) expect(html).toContain(`<section id="${id}">`);
  });

  it('escapes every text of the document, in tables and in charts, and has no script, handler or outside link', async () => {
    const html = await renderReportHtml(reportDocument());
    expectSafe(html);
    for (const model of MODELS) expect(html).toContain(escapeHtml(model));
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain(escapeHtml(HOSTILE_BY));
    expect(html).toContain('<title>assay report: nightly &lt;b&gt;gsm8k&lt;/b&gt; &amp; &quot;friends&quot;</title>');
    // The hostile names are in the charts too, as SVG text.
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g)!;
    expect(svgs.some((svg) => svg.includes('&lt;script&gt;alert(1)&lt;/script&gt;</text>'))).toBe(true);
    expect(svgs.some((svg) => svg.includes(`${escapeHtml(HOSTILE_BY).replace(/&#39;/g, "'")}</text>`) || svg.includes(`${escapeHtml(HOSTILE_BY)}</text>`))).toBe(true);
  });

  it('formats numbers with three decimals, p-values readably and nulls as a dash', async () => {
    const html = await renderReportHtml(reportDocument());
    expect(html).toContain('<td class="num">0.810</td>');
    expect(html).toContain('<td class="num">[0.755, 0.865]</td>');
    expect(html).toContain('<td class="num">&lt;0.001</td>');
    expect(html).toContain('<td class="num">0.0123</td>');
    // A constant side's correlation and an undefined alpha.
    expect(html.match(/<td class="num">–<\/td>/g)!.length).toBeGreaterThanOrEqual(2);
    expect(html).toContain('<td class="num">31 / 23</td>');
    expect(html).toContain('<td class="num">$0.1242</td>'); // gpt-4o-mini over generate and judge
    expect(fixed(null)).toBe('–');
    expect(fixed(Number.NaN)).toBe('–');
    expect(fixed(-0.0001)).toBe('0.000');
    expect(fixed(-0.25)).toBe('-0.250');
    expect(pValue(0.0009)).toBe('<0.001');
    expect(pValue(0.04567)).toBe('0.0457');
    expect(pValue(1)).toBe('1');
    expect(interval([0.1, 0.23456])).toBe('[0.100, 0.235]');
  });

  it('leaves out the charts there is nothing to draw for', async () => {
    const full = reportDocument();
    const plain = reportDocument({ comparisons: [], by: [], groups: full.groups.filter((group) => Object.keys(group.by).length === 0) });
    const html = await renderReportHtml(plain);
    expect(svgCount(html)).toBe(3); // two metrics and cost against score
    expect(html).not.toContain('<section id="splits">');
    expect(html).not.toContain('<section id="comparisons">');
    expectSafe(html);

    const unpriced = await renderReportHtml({ ...plain, usage: plain.usage.map((row) => ({ ...row, cost: null })), cost: { ...plain.cost, total: null } });
    expect(svgCount(unpriced)).toBe(2);

    const nothing = await renderReportHtml(reportDocument({ groups: [], comparisons: [], usage: [], latency: [], failures: [], agreement: [], by: [] }));
    expect(svgCount(nothing)).toBe(0);
    expect(nothing).toContain('Nothing is scored yet.');
    expectSafe(nothing);
  });

  it('adds a comparison of two runs with the items that flipped', async () => {
    const compare = compareDocument();
    const html = await renderReportHtml(reportDocument(), { compare });
    expect(svgCount(html)).toBe(6);
    expect(html).toContain('<section id="flipped">');
    expect(html).toContain(escapeHtml(HOSTILE_ITEM));
    expectSafe(html);

    const alone = await renderCompareHtml(compare);
    expect(svgCount(alone)).toBe(1);
    expect(alone).toContain(escapeHtml(HOSTILE_ITEM));
    expect(alone).toContain(`<title>assay compare: before vs after ${escapeHtml(HOSTILE_MODEL)}</title>`);
    expectSafe(alone);
  });
});

describe('the chart specs', () => {
  it('render without a warning from vega or vega-lite', async () => {
    const doc = reportDocument();
    const charts = [...scoreCharts(doc.groups, doc.level), ...byCharts(doc.groups, doc.level), forestChart(doc.comparisons, doc.level)!, costChart(doc.groups, doc.usage)!];
    expect(charts).toHaveLength(5);
    for (const chart of charts) expect((await renderChartSvg(chart.spec)).warnings, chart.title).toEqual([]);
  });

  it('sum cost over stages and skip a model whose cost is unknown', () => {
    const doc = reportDocument();
    const costs = costByModel(doc.usage);
    expect(costs.get('gpt-4o-mini')).toBeCloseTo(0.1242, 10);
    expect(costs.get(HOSTILE_MODEL)).toBeNull();
    const values = (costChart(doc.groups, doc.usage)!.spec as { data: { values: { model: string }[] } }).data.values;
    expect(values.map((row) => row.model)).toEqual(['gpt-4o-mini', 'claude-haiku & co']);
  });

  it('draw nothing from nothing', () => {
    expect(scoreCharts([], 0.95)).toEqual([]);
    expect(byCharts([], 0.95)).toEqual([]);
    expect(forestChart([], 0.95)).toBeNull();
    expect(costChart([], [])).toBeNull();
  });
});
