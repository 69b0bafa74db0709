import type { CompareDocument, Comparison, FlippedItem, GroupStatistic, ReportDocument } from './report-document.js';
import { byCharts, costByModel, costChart, forestChart, renderChartSvg, scoreCharts, type ChartSpec } from './html-charts.js';

// `assay report --format html`: one self-contained page. Styles are inline, charts are static SVG drawn by
// Vega-Lite in Node, and there is no script, font, image or link to anything outside the file; a
// Content-Security-Policy says so to the browser too. Every text from the document goes through `escapeHtml`.

/** Text made safe for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const NONE = '–';

/** A number with a fixed count of decimals; `–` for null or a value that is not finite. */
export function fixed(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NONE;
  const text = value.toFixed(digits);
  return /^-0\.?0*$/.test(text) ? text.slice(1) : text;
}

/** A p-value: `<0.001`, else three significant digits. */
export function pValue(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NONE;
  if (value < 0.001) return '<0.001';
  return Number(value.toPrecision(3)).toString();
}

/** A confidence interval `[low, high]` with three decimals. */
export function interval(ci: readonly [number, number] | null | undefined): string {
  if (!ci) return NONE;
  return `[${fixed(ci[0])}, ${fixed(ci[1])}]`;
}

function integer(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NONE;
  return Math.round(value).toLocaleString('en-US');
}

function usd(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NONE;
  return `$${value.toFixed(value < 1 ? 4 : 2)}`;
}

function percent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return NONE;
  return `${(value * 100).toFixed(1)}%`;
}

/** A table cell: `text` is escaped here; numeric cells are right-aligned. */
interface Cell {
  readonly text: string;
  readonly numeric?: boolean;
  readonly title?: string;
}

const num = (text: string): Cell => ({ text, numeric: true });
const txt = (text: string): Cell => ({ text });

function table(caption: string, header: readonly (string | Cell)[], rows: readonly (readonly Cell[])[]): string {
  const head = header.map((cell) => (typeof cell === 'string' ? txt(cell) : cell));
  const th = head.map((cell) => `<th scope="col"${cell.numeric ? ' class="num"' : ''}${cell.title ? ` title="${escapeHtml(cell.title)}"` : ''}>${escapeHtml(cell.text)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td${cell.numeric ? ' class="num"' : ''}>${escapeHtml(cell.text)}</td>`).join('')}</tr>`).join('\n');
  return `<div class="table-wrap"><table>\n${caption ? `<caption>${escapeHtml(caption)}</caption>\n` : ''}<thead><tr>${th}</tr></thead>\n<tbody>\n${body}\n</tbody></table></div>`;
}

function section(id: string, title: string, content: string): string {
  return `<section id="${escapeHtml(id)}">\n<h2>${escapeHtml(title)}</h2>\n${content}\n</section>`;
}

const empty = (text: string) => `<p class="empty">${escapeHtml(text)}</p>`;

async function figures(charts: readonly (ChartSpec | null)[]): Promise<string> {
  const drawn = await Promise.all(charts.filter((chart): chart is ChartSpec => chart !== null).map(async (chart) => ({ chart, rendered: await renderChartSvg(chart.spec) })));
  if (drawn.length === 0) return '';
  return `<div class="charts">\n${drawn.map(({ chart, rendered }) => `<figure class="chart">\n<figcaption>${escapeHtml(chart.title)}</figcaption>\n${rendered.svg}\n</figure>`).join('\n')}\n</div>`;
}

/** The groups table: one row per score of a model x prompt x dataset (x `--by` values). */
function groupsTable(doc: ReportDocument): string {
  const byFields = [...new Set([...doc.by, ...doc.groups.flatMap((group) => Object.keys(group.by))])];
  const clustered = doc.groups.some((group) => group.cluster !== null);
  const shares = doc.groups.some((group) => group.withinItemShare !== null);
  const header: (string | Cell)[] = [
    'model',
    'prompt',
    'dataset',
    ...byFields,
    'metric',
    num('n'),
    num('failed'),
    num('pending'),
    num('mean'),
    num('se'),
    { text: `${ciLabel(doc.level)}`, numeric: true },
    'method',
    ...(shares ? [{ text: 'within-item share', numeric: true, title: 'share of the variance of the mean from disagreement between replicates of an item' }] : []),
    ...(clustered ? ['cluster', num('clusters'), num('se (independent)'), num('design effect')] : []),
  ];
  const rows = doc.groups.map((group: GroupStatistic) => [
    txt(group.model),
    txt(group.prompt),
    txt(group.dataset),
    ...byFields.map((field) => txt(group.by[field] ?? NONE)),
    txt(group.metric),
    num(integer(group.n)),
    num(integer(group.failed)),
    num(integer(group.pending)),
    num(fixed(group.mean)),
    num(fixed(group.se)),
    num(interval(group.ci)),
    txt(group.ciMethod),
    ...(shares ? [num(percent(group.withinItemShare))] : []),
    ...(clustered ? [txt(group.cluster?.field ?? NONE), num(integer(group.cluster?.clusters)), num(fixed(group.cluster?.seIndependent)), num(fixed(group.cluster?.designEffect, 2))] : []),
  ]);
  return table('Scores by group', header, rows);
}

function ciLabel(level: number): string {
  return `${Number((level * 100).toFixed(2))}% ci`;
}

function sideLabel(side: Comparison['a']): string {
  return [side.model, side.prompt, side.runId ? `run ${side.runId.slice(0, 10)}` : null].filter((part) => part !== null).join(' · ');
}

function comparisonsTable(comparisons: readonly Comparison[], level: number): string {
  const header: (string | Cell)[] = [
    'metric',
    'dataset',
    'a',
    'b',
    num('n'),
    num('mean a'),
    num('mean b'),
    num('diff (a − b)'),
    num('se'),
    num(ciLabel(level)),
    { text: 'unpaired se', numeric: true, title: 'the standard error if the two sides were independent samples' },
    num('correlation'),
    num('p'),
    { text: 'p (Holm)', numeric: true, title: 'Holm-adjusted over the comparisons of the same metric and dataset' },
    'test',
    { text: 'mde', numeric: true, title: 'smallest true difference this n detects with 80% power' },
    { text: 'a only / b only', numeric: true, title: 'items only a got right / only b got right (else a > b / b > a)' },
  ];
  const rows = comparisons.map((comparison) => [
    txt(comparison.metric),
    txt(comparison.dataset),
    txt(sideLabel(comparison.a)),
    txt(sideLabel(comparison.b)),
    num(integer(comparison.n)),
    num(fixed(comparison.a.mean)),
    num(fixed(comparison.b.mean)),
    num(fixed(comparison.meanDiff)),
    num(fixed(comparison.se)),
    num(interval(comparison.ci)),
    num(fixed(comparison.unpairedSe)),
    num(fixed(comparison.correlation)),
    num(pValue(comparison.pValue)),
    num(pValue(comparison.pAdjusted)),
    txt(comparison.test),
    num(fixed(comparison.mde)),
    num(`${integer(comparison.flipped[0])} / ${integer(comparison.flipped[1])}`),
  ]);
  return table('Paired comparisons', header, rows);
}

function usageTables(doc: ReportDocument): string {
  if (doc.usage.length === 0) return empty('No model calls were recorded.');
  const rows = doc.usage.map((row) => [txt(row.model), txt(row.stage), num(integer(row.calls)), num(integer(row.inputTokens)), num(integer(row.outputTokens)), num(usd(row.cost))]);
  const perModel = [...costByModel(doc.usage)].map(([model, cost]) => {
    const rowsOf = doc.usage.filter((row) => row.model === model);
    const sum = (pick: (row: (typeof rowsOf)[number]) => number) => rowsOf.reduce((total, row) => total + pick(row), 0);
    return [txt(model), num(integer(sum((row) => row.calls))), num(integer(sum((row) => row.inputTokens))), num(integer(sum((row) => row.outputTokens))), num(usd(cost))];
  });
  const { cost } = doc;
  const notes = [
    `Total cost: ${cost.total === null ? 'unknown' : usd(cost.total)} (${cost.currency}; prices ${cost.prices === 'recorded' ? 'recorded with the run' : "from this machine's config and price table"}${cost.importedPrices ? '; the imported run’s own prices are not used' : ''}).`,
    ...(cost.unpriced.length > 0 ? [`No price for ${cost.unpriced.join(', ')}; set price on them in the config.`] : []),
  ];
  return [
    notes.map((note) => `<p>${escapeHtml(note)}</p>`).join('\n'),
    table('Cost by model (all stages)', ['model', num('calls'), num('input tokens'), num('output tokens'), num('cost (USD)')], perModel),
    table('Usage by model and stage', ['model', 'stage', num('calls'), num('input tokens'), num('output tokens'), num('cost (USD)')], rows),
  ].join('\n');
}

function summaryList(entries: readonly (readonly [string, string])[]): string {
  return `<dl class="summary">\n${entries.map(([term, value]) => `<div><dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}</dd></div>`).join('\n')}\n</dl>`;
}

function nav(links: readonly (readonly [string, string])[]): string {
  return `<nav><ul>${links.map(([id, title]) => `<li><a href="#${escapeHtml(id)}">${escapeHtml(title)}</a></li>`).join('')}</ul></nav>`;
}

/** The sections of a run's report, charts included. */
async function reportSections(doc: ReportDocument): Promise<{ links: [string, string][]; html: string }> {
  const links: [string, string][] = [];
  const parts: string[] = [];
  const add = (id: string, title: string, content: string) => {
    links.push([id, title]);
    parts.push(section(id, title, content));
  };

  parts.push(
    summaryList([
      ['run', doc.name],
      ['run id', doc.runId],
      ['status', doc.status],
      ['completed through stage', doc.completedThroughStage ?? NONE],
      ['tasks', `${integer(doc.tasks.total)} total, ${integer(doc.tasks.scored)} scored, ${integer(doc.tasks.failed)} failed, ${integer(doc.tasks.pending)} pending`],
      ['confidence level', `${Number((doc.level * 100).toFixed(2))}%`],
      ['split by', doc.by.length > 0 ? doc.by.join(', ') : NONE],
      ['clustered by', doc.cluster ?? NONE],
      ['baseline', doc.baseline ?? NONE],
      ['total cost', doc.cost.total === null ? 'unknown' : usd(doc.cost.total)],
      ['generated', doc.generatedAt],
    ]),
  );

  const scores = await figures([...scoreCharts(doc.groups, doc.level), costChart(doc.groups, doc.usage)]);
  add('scores', 'Scores', (scores || '') + (doc.groups.length > 0 ? groupsTable(doc) : empty('Nothing is scored yet.')));

  const splits = await figures(byCharts(doc.groups, doc.level));
  if (splits) add('splits', `Scores by ${doc.by.join(', ') || 'item field'}`, splits);

  if (doc.comparisons.length > 0) add('comparisons', 'Paired comparisons', (await figures([forestChart(doc.comparisons, doc.level)])) + comparisonsTable(doc.comparisons, doc.level));

  add('usage', 'Usage and cost', usageTables(doc));

  add(
    'latency',
    'Latency',
    doc.latency.length > 0
      ? table('Answering latency by model', ['model', num('calls'), num('p50 (ms)'), num('p95 (ms)')], doc.latency.map((row) => [txt(row.model), num(integer(row.calls)), num(integer(row.p50Ms)), num(integer(row.p95Ms))]))
      : empty('No answering calls were timed.'),
  );

  add(
    'failures',
    'Failures',
    doc.failures.length > 0 ? table('Failed tasks by stage and category', ['stage', 'category', num('count')], doc.failures.map((row) => [txt(row.stage), txt(row.category), num(integer(row.count))])) : empty('No task failed.'),
  );

  if (doc.agreement.length > 0) {
    add(
      'agreement',
      'Judge agreement',
      table(
        'Agreement of judge panels (Krippendorff’s alpha)',
        ['judge', 'trait', 'measure', 'level', num('alpha'), num('units'), num('raters')],
        doc.agreement.map((row) => [txt(row.judge), txt(row.trait), txt(row.measure), txt(row.level), num(fixed(row.value)), num(integer(row.units)), num(integer(row.raters))]),
      ),
    );
  }
  return { links, html: parts.join('\n') };
}

function flippedTable(caption: string, items: readonly FlippedItem[]): string {
  return `<details${items.length <= 50 ? ' open' : ''}><summary>${escapeHtml(`${caption} (${items.length})`)}</summary>\n${
    items.length > 0 ? table('', ['dataset', 'item', num('a'), num('b')], items.map((item) => [txt(item.dataset), txt(item.item), num(fixed(item.a)), num(fixed(item.b))])) : empty('None.')
  }\n</details>`;
}

/** The sections of a comparison of two runs. */
async function compareSections(doc: CompareDocument): Promise<{ links: [string, string][]; html: string }> {
  const links: [string, string][] = [];
  const parts: string[] = [
    summaryList([
      ['run a', `${doc.runA.name} (${doc.runA.runId})`],
      ['run b', `${doc.runB.name} (${doc.runB.runId})`],
      ['shared items', integer(doc.sharedItems)],
      ['confidence level', `${Number((doc.level * 100).toFixed(2))}%`],
      ['generated', doc.generatedAt],
    ]),
  ];
  links.push(['compare-comparisons', 'Run comparison']);
  parts.push(
    section(
      'compare-comparisons',
      'Run comparison: a − b',
      doc.comparisons.length > 0 ? (await figures([forestChart(doc.comparisons, doc.level)])) + comparisonsTable(doc.comparisons, doc.level) : empty('The runs share no scored items to compare.'),
    ),
  );
  if (doc.flippedItems.length > 0) {
    links.push(['flipped', 'Flipped items']);
    parts.push(
      section(
        'flipped',
        'Flipped items',
        doc.flippedItems
          .map((flipped) => `<h3>${escapeHtml(`${flipped.metric}: ${flipped.a.model}/${flipped.a.prompt} vs ${flipped.b.model}/${flipped.b.prompt}`)}${flipped.truncated ? ' (lists cut)' : ''}</h3>\n${flippedTable(`Better in run a (${doc.runA.name})`, flipped.aOnly)}\n${flippedTable(`Better in run b (${doc.runB.name})`, flipped.bOnly)}`)
          .join('\n'),
      ),
    );
  }
  return { links, html: parts.join('\n') };
}

/** A run's report as one self-contained HTML page; with `compare`, a comparison of two runs follows it. */
export async function renderReportHtml(doc: ReportDocument, options: { compare?: CompareDocument } = {}): Promise<string> {
  const report = await reportSections(doc);
  const compare = options.compare ? await compareSections(options.compare) : null;
  const body = compare ? `${report.html}\n<h1 class="part">${escapeHtml(`Compared: ${options.compare!.runA.name} vs ${options.compare!.runB.name}`)}</h1>\n${compare.html}` : report.html;
  return page(`assay report: ${doc.name}`, [...report.links, ...(compare?.links ?? [])], body, doc.generatedAt);
}

/** A comparison of two runs (`assay compare`) as one self-contained HTML page. */
export async function renderCompareHtml(doc: CompareDocument): Promise<string> {
  const compare = await compareSections(doc);
  return page(`assay compare: ${doc.runA.name} vs ${doc.runB.name}`, compare.links, compare.html, doc.generatedAt);
}

function page(title: string, links: readonly (readonly [string, string])[], body: string, generatedAt: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="assay">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
${nav(links)}
</header>
<main>
${body}
</main>
<footer>${escapeHtml(`Written by assay at ${generatedAt}. Self-contained: no scripts, no network.`)}</footer>
</body>
</html>
`;
}

const STYLE = `
:root { color-scheme: light; --fg: #1d1f23; --muted: #5d6470; --line: #d9dde3; --stripe: #f5f7fa; --accent: #2f5d9e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: #fff; }
header, main, footer { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 20px; border-bottom: 1px solid var(--line); }
h1 { font-size: 22px; margin: 0 0 8px; overflow-wrap: anywhere; }
h1.part { margin-top: 40px; padding-top: 16px; border-top: 2px solid var(--line); }
h2 { font-size: 18px; margin: 32px 0 12px; }
h3 { font-size: 15px; margin: 20px 0 8px; overflow-wrap: anywhere; }
nav ul { list-style: none; padding: 0; margin: 8px 0 12px; display: flex; flex-wrap: wrap; gap: 4px 16px; }
nav a { color: var(--accent); text-decoration: none; }
nav a:hover { text-decoration: underline; }
dl.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 8px 24px; margin: 20px 0; }
dl.summary div { border-left: 3px solid var(--line); padding-left: 8px; }
dt { color: var(--muted); font-size: 12px; }
dd { margin: 0; overflow-wrap: anywhere; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; margin: 8px 0 16px; }
figure.chart { margin: 0; padding: 8px 12px 12px; border: 1px solid var(--line); border-radius: 6px; max-width: 100%; overflow-x: auto; }
figcaption { font-weight: 600; margin-bottom: 6px; overflow-wrap: anywhere; }
figure.chart svg { display: block; max-width: none; }
.table-wrap { overflow-x: auto; margin: 8px 0 16px; }
table { border-collapse: collapse; font-size: 13px; }
caption { text-align: left; color: var(--muted); padding: 4px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; max-width: 24em; overflow-wrap: break-word; }
th { background: #eef1f5; font-weight: 600; white-space: nowrap; position: sticky; top: 0; }
tbody tr:nth-child(even) { background: var(--stripe); }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.empty { color: var(--muted); font-style: italic; }
details { margin: 8px 0; }
summary { cursor: pointer; font-weight: 600; }
footer { color: var(--muted); font-size: 12px; padding: 24px; border-top: 1px solid var(--line); margin-top: 32px; }
@media print { th { position: static; } figure.chart { break-inside: avoid; } }
`;
