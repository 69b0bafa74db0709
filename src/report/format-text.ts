import type { CompareDocument, Comparison, GroupStatistic, ReportDocument } from './report-document.js';
import { csvRow } from './csv-row.js';

/** A number with `digits` decimals, or an en dash when there is none. */
export function num(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

/** A p-value as a reader expects it: `<0.001`, else two significant digits. */
export function pValueText(value: number | null): string {
  if (value === null) return '–';
  if (value < 0.001) return '<0.001';
  return value >= 0.1 ? value.toFixed(2) : value.toPrecision(2);
}

export function intervalText(ci: readonly [number, number] | null, digits = 3): string {
  return ci ? `[${num(ci[0], digits)}, ${num(ci[1], digits)}]` : '–';
}

export function signed(value: number | null, digits = 3): string {
  if (value === null || !Number.isFinite(value)) return '–';
  return `${value > 0 ? '+' : ''}${value.toFixed(digits)}`;
}

function byText(by: Readonly<Record<string, string>>): string {
  const entries = Object.entries(by);
  return entries.length === 0 ? 'all' : entries.map(([field, value]) => `${field}=${value}`).join(', ');
}

function sideText(side: { model: string; prompt: string; runId?: string }, multiplePrompts: boolean): string {
  const run = side.runId ? `${side.runId.slice(0, 8)}:` : '';
  return multiplePrompts ? `${run}${side.model}/${side.prompt}` : `${run}${side.model}`;
}

/** The test's name for readers. */
export function testText(test: Comparison['test']): string {
  return test === 'mcnemar-exact' ? 'exact McNemar' : test === 'clustered-t' ? 'clustered t' : 'paired t';
}

/** A confidence level as a percentage, with as many decimals as it needs (0.95 -> 95, 0.999999 -> 99.9999). */
export function levelText(level: number): string {
  return String(Number((level * 100).toPrecision(10)));
}

// ---- Markdown -------------------------------------------------------------------------------------------

/** A Markdown table cell: pipes and line breaks would break the table. */
function cell(text: string | number): string {
  return String(text).replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

/**
 * Text from the run (a model id, a field value) made inert in Markdown: backslash-escapes for the characters
 * that start markup, links, HTML or math (`_` inside words is left, as in `6b_finetuning`: it never emphasises).
 */
export function md(text: string): string {
  return text.replace(/[\\`*<>\[\]$&!#~]/g, (char) => `\\${char}`).replace(/(^|\s)_|_(\s|$)/g, (match) => match.replace('_', '\\_'));
}

function mdTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const lines = [`| ${header.map(cell).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

function groupRows(groups: readonly GroupStatistic[], doc: { cluster: string | null }): { header: string[]; rows: (string | number)[][] } {
  const replicates = groups.some((group) => group.withinItemShare !== null);
  const header = ['model', 'prompt', 'dataset', 'split', 'metric', 'n', 'mean', 'se', 'CI', 'method'];
  if (replicates) header.push('within-item share');
  if (doc.cluster) header.push('clusters', 'design effect');
  header.push('failed', 'pending');
  const rows = groups.map((group) => {
    const row: (string | number)[] = [md(group.model), md(group.prompt), md(group.dataset), md(byText(group.by)), md(group.metric), group.n, num(group.mean), num(group.se), intervalText(group.ci), group.n === 0 ? '–' : group.ciMethod];
    if (replicates) row.push(num(group.withinItemShare, 2));
    if (doc.cluster) row.push(group.cluster?.clusters ?? '–', num(group.cluster?.designEffect, 2));
    row.push(group.failed, group.pending);
    return row;
  });
  return { header, rows };
}

function comparisonRows(comparisons: readonly Comparison[], multiplePrompts: boolean): { header: string[]; rows: (string | number)[][] } {
  const header = ['metric', 'dataset', 'a', 'b', 'n', 'mean a', 'mean b', 'a − b', 'se (paired)', 'CI', 'se (unpaired)', 'r', 'p', 'p (Holm)', 'test', 'MDE (80%)', 'a better / b better'];
  const rows = comparisons.map((comparison) => [
    md(comparison.metric),
    md(comparison.dataset),
    md(sideText(comparison.a, multiplePrompts)),
    md(sideText(comparison.b, multiplePrompts)),
    comparison.n,
    num(comparison.a.mean),
    num(comparison.b.mean),
    signed(comparison.meanDiff),
    num(comparison.se),
    intervalText(comparison.ci),
    num(comparison.unpairedSe),
    num(comparison.correlation, 2),
    pValueText(comparison.pValue),
    pValueText(comparison.pAdjusted),
    testText(comparison.test),
    num(comparison.mde),
    `${comparison.flipped[0]} / ${comparison.flipped[1]}`,
  ]);
  return { header, rows };
}

export function reportMarkdown(doc: ReportDocument): string {
  const out: string[] = [];
  const percent = levelText(doc.level);
  out.push(`# Report: ${md(doc.name)} (${doc.runId.slice(0, 12)})`);
  out.push('');
  const through = doc.completedThroughStage ? `, complete through ${doc.completedThroughStage}` : '';
  out.push(`Status ${doc.status}${through}. Tasks: ${doc.tasks.total} (${doc.tasks.scored} scored, ${doc.tasks.failed} failed, ${doc.tasks.pending} pending). Intervals at ${percent}%.`);
  if (doc.cluster) out.push(`Standard errors, intervals and tests clustered by ${md(doc.cluster)}.`);
  out.push('');
  out.push('## Scores');
  out.push('');
  const groups = groupRows(doc.groups, doc);
  out.push(mdTable(groups.header, groups.rows));
  out.push('');
  out.push('Replicates of an item are averaged first; n counts items. Method: wilson for 0/1 scores, t otherwise (clipped to [0, 1] for scores in it), clustered-t with clusters.');
  if (doc.comparisons.length > 0) {
    const multiplePrompts = new Set(doc.groups.map((group) => group.prompt)).size > 1;
    out.push('');
    out.push(doc.baseline ? `## Paired comparisons (against ${md(doc.baseline)})` : '## Paired comparisons');
    out.push('');
    const comparisons = comparisonRows(doc.comparisons, multiplePrompts);
    out.push(mdTable(comparisons.header, comparisons.rows));
    out.push('');
    out.push('Over the items both sides scored. p (Holm) adjusts for the comparisons of the same metric and dataset; MDE is the smallest true difference detected with 80% power.');
  }
  if (doc.usage.length > 0) {
    out.push('');
    out.push('## Usage and cost');
    out.push('');
    out.push(mdTable(['model', 'stage', 'calls', 'input tokens', 'output tokens', 'cost (USD)'], doc.usage.map((row) => [md(row.model), row.stage, row.calls, row.inputTokens, row.outputTokens, row.cost === null ? 'unknown' : row.cost.toFixed(4)])));
    out.push('');
    const total = doc.cost.total === null ? 'unknown' : `$${doc.cost.total.toFixed(4)}`;
    out.push(`Total cost ${total}${doc.cost.unpriced.length > 0 ? ` (no price for ${doc.cost.unpriced.join(', ')})` : ''}${doc.cost.prices === 'current' ? ", at this machine's prices" : ''}.`);
  }
  if (doc.latency.length > 0) {
    out.push('');
    out.push('## Latency of answering calls');
    out.push('');
    out.push(mdTable(['model', 'calls', 'p50 (ms)', 'p95 (ms)'], doc.latency.map((row) => [md(row.model), row.calls, Math.round(row.p50Ms), Math.round(row.p95Ms)])));
  }
  if (doc.failures.length > 0) {
    out.push('');
    out.push('## Failures');
    out.push('');
    out.push(mdTable(['stage', 'category', 'tasks'], doc.failures.map((row) => [row.stage, row.category, row.count])));
  }
  if (doc.agreement.length > 0) {
    out.push('');
    out.push('## Judge agreement');
    out.push('');
    out.push(mdTable(['judge', 'trait', "Krippendorff's alpha", 'level', 'tasks', 'raters'], doc.agreement.map((row) => [md(row.judge), md(row.trait), num(row.value), row.level, row.units, row.raters])));
  }
  return `${out.join('\n')}\n`;
}

export function compareMarkdown(doc: CompareDocument): string {
  const out: string[] = [];
  out.push(`# Compare: ${md(doc.runA.name)} (${doc.runA.runId.slice(0, 12)}) vs ${md(doc.runB.name)} (${doc.runB.runId.slice(0, 12)})`);
  out.push('');
  out.push(`${doc.sharedItems} items in common, paired by dataset and item id (${doc.onlyInA} only in a, ${doc.onlyInB} only in b, left out). a is the first run, b the second. Intervals at ${levelText(doc.level)}%.`);
  if (doc.unmatched.length > 0) out.push(`Not compared (no counterpart in the other run): ${doc.unmatched.map((cellOf) => `${cellOf.run}: ${md(cellOf.model)}/${md(cellOf.prompt)}`).join(', ')}.`);
  out.push('');
  const multiplePrompts = doc.comparisons.some((comparison) => comparison.a.prompt !== comparison.b.prompt);
  const comparisons = comparisonRows(doc.comparisons, multiplePrompts);
  out.push(mdTable(comparisons.header, comparisons.rows));
  for (const flipped of doc.flippedItems) {
    out.push('');
    out.push(`## ${md(flipped.metric)}: ${md(flipped.a.model)} → ${md(flipped.b.model)}`);
    for (const [title, list] of [['Better in a', flipped.aOnly], ['Better in b', flipped.bOnly]] as const) {
      out.push('');
      out.push(`${title} (${list.length}${flipped.truncated ? ', list cut' : ''}):`);
      if (list.length > 0) {
        out.push('');
        out.push(mdTable(['dataset', 'item', 'a', 'b'], list.map((item) => [md(item.dataset), md(item.item), num(item.a), num(item.b)])));
      }
    }
  }
  return `${out.join('\n')}\n`;
}

// ---- CSV ------------------------------------------------------------------------------------------------

const CSV_HEADER = [
  'row', 'metric', 'kind', 'dataset', 'split', 'model', 'prompt', 'n', 'mean', 'se', 'ci_low', 'ci_high', 'ci_method',
  'within_item_share', 'clusters', 'design_effect', 'failed', 'pending',
  'a_run', 'a_model', 'a_prompt', 'a_mean', 'b_run', 'b_model', 'b_prompt', 'b_mean', 'mean_diff', 'p_value', 'p_holm', 'test',
  'correlation', 'unpaired_se', 'mde', 'a_better', 'b_better', 'level',
];

const blank = (value: number | null | undefined): string | number => (value === null || value === undefined || !Number.isFinite(value) ? '' : value);

function csvComparison(comparison: Comparison, level: number): (string | number)[] {
  return [
    'comparison', comparison.metric, '', comparison.dataset, '', '', '', comparison.n, '', blank(comparison.se), blank(comparison.ci?.[0]), blank(comparison.ci?.[1]), comparison.ciMethod,
    '', '', '', '', '',
    comparison.a.runId ?? '', comparison.a.model, comparison.a.prompt, comparison.a.mean, comparison.b.runId ?? '', comparison.b.model, comparison.b.prompt, comparison.b.mean,
    comparison.meanDiff, blank(comparison.pValue), blank(comparison.pAdjusted), comparison.test, blank(comparison.correlation), blank(comparison.unpairedSe), blank(comparison.mde),
    comparison.flipped[0], comparison.flipped[1], level,
  ];
}

/** One row per group and one per comparison, under one header (`row` says which). */
export function reportCsv(doc: ReportDocument): string {
  const lines = [csvRow(CSV_HEADER)];
  for (const group of doc.groups) {
    lines.push(
      csvRow([
        'group', group.metric, group.kind, group.dataset, byText(group.by), group.model, group.prompt, group.n, blank(group.mean), blank(group.se), blank(group.ci?.[0]), blank(group.ci?.[1]), group.ciMethod,
        blank(group.withinItemShare), blank(group.cluster?.clusters), blank(group.cluster?.designEffect), group.failed, group.pending,
        ...new Array(CSV_HEADER.length - 19).fill(''),
        doc.level,
      ]),
    );
  }
  for (const comparison of doc.comparisons) lines.push(csvRow(csvComparison(comparison, doc.level)));
  return lines.join('');
}

export function compareCsv(doc: CompareDocument): string {
  return [csvRow(CSV_HEADER), ...doc.comparisons.map((comparison) => csvRow(csvComparison(comparison, doc.level)))].join('');
}

// ---- LaTeX ----------------------------------------------------------------------------------------------

/** Text safe inside a LaTeX table cell. */
export function latexText(text: string): string {
  return text.replace(/[\\{}&%$#_~^|<>"]/g, (char) => {
    switch (char) {
      case '\\':
        return '\\textbackslash{}';
      case '|':
        return '\\textbar{}';
      case '<':
        return '\\textless{}';
      case '>':
        return '\\textgreater{}';
      case '"':
        return "''";
      case '~':
        return '\\textasciitilde{}';
      case '^':
        return '\\textasciicircum{}';
      default:
        return `\\${char}`;
    }
  });
}

function latexTable(caption: string, columns: string, header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    '\\begin{table}[ht]',
    '\\centering',
    `\\caption{${latexText(caption)}}`,
    `\\begin{tabular}{${columns}}`,
    '\\toprule',
    `${header.join(' & ')} \\\\`,
    '\\midrule',
    ...rows.map((row) => `${row.join(' & ')} \\\\`),
    '\\bottomrule',
    '\\end{tabular}',
    '\\end{table}',
  ].join('\n');
}

const latexNum = (value: number | null | undefined, digits = 3) =>
  value === null || value === undefined || !Number.isFinite(value) ? '--' : value < 0 && Number(value.toFixed(digits)) !== 0 ? `$-$${(-value).toFixed(digits)}` : Math.abs(value).toFixed(digits);
const latexCi = (ci: readonly [number, number] | null) => (ci ? `[${latexNum(ci[0])}, ${latexNum(ci[1])}]` : '--');
const latexP = (value: number | null) => (value === null ? '--' : value < 0.001 ? '$<$0.001' : pValueText(value));

function latexComparisons(comparisons: readonly Comparison[], caption: string): string {
  const prompts = comparisons.some((comparison) => comparison.a.prompt !== comparison.b.prompt || comparison.a.prompt !== comparisons[0]!.a.prompt);
  const datasets = new Set(comparisons.map((comparison) => comparison.dataset)).size > 1;
  const side = (entry: Comparison['a']) => latexText(sideText(entry, prompts));
  return latexTable(
    caption,
    `l${datasets ? 'l' : ''}lrrrrrrl`,
    ['Metric', ...(datasets ? ['Dataset'] : []), 'Comparison', '$n$', '$\\Delta$', 'SE', 'CI', '$p$', '$p$ (Holm)', 'Test'],
    comparisons.map((comparison) => [
      latexText(comparison.metric),
      ...(datasets ? [latexText(comparison.dataset)] : []),
      `${side(comparison.a)} vs ${side(comparison.b)}`,
      String(comparison.n),
      `${comparison.meanDiff > 0 ? '+' : ''}${latexNum(comparison.meanDiff)}`,
      latexNum(comparison.se),
      latexCi(comparison.ci),
      latexP(comparison.pValue),
      latexP(comparison.pAdjusted),
      testText(comparison.test),
    ]),
  );
}

/** Tables for a paper (booktabs): scores with intervals, and the paired comparisons. */
export function reportLatex(doc: ReportDocument): string {
  const percent = levelText(doc.level);
  const prompts = new Set(doc.groups.map((group) => group.prompt)).size > 1;
  const datasets = new Set(doc.groups.map((group) => group.dataset)).size > 1;
  const splits = doc.groups.some((group) => Object.keys(group.by).length > 0);
  const failures = doc.groups.some((group) => group.failed > 0 || group.pending > 0);
  const header = ['Model', ...(prompts ? ['Prompt'] : []), ...(datasets ? ['Dataset'] : []), ...(splits ? ['Split'] : []), 'Metric', '$n$', 'Mean', 'SE', `${percent}\\% CI`, ...(failures ? ['Failed', 'Pending'] : [])];
  const columns = `${'l'.repeat(header.length - 4 - (failures ? 2 : 0))}rrrl${failures ? 'rr' : ''}`;
  const parts = [
    '% assay report: needs \\usepackage{booktabs}; names outside ASCII need \\usepackage[T1]{fontenc} (and a Unicode engine for other scripts)',
    latexTable(
      `Scores of ${doc.name} with ${percent}% intervals`,
      columns,
      header,
      doc.groups.map((group) => [
        latexText(group.model),
        ...(prompts ? [latexText(group.prompt)] : []),
        ...(datasets ? [latexText(group.dataset)] : []),
        ...(splits ? [latexText(byText(group.by))] : []),
        latexText(group.metric),
        String(group.n),
        latexNum(group.mean),
        latexNum(group.se),
        latexCi(group.ci),
        ...(failures ? [String(group.failed), String(group.pending)] : []),
      ]),
    ),
  ];
  if (doc.comparisons.length > 0) parts.push(latexComparisons(doc.comparisons, `Paired differences (a minus b), ${percent}% intervals`));
  return `${parts.join('\n\n')}\n`;
}

export function compareLatex(doc: CompareDocument): string {
  return `% assay compare: needs \\usepackage{booktabs}\n${latexComparisons(doc.comparisons, `${doc.runA.name} vs ${doc.runB.name}: paired differences over ${doc.sharedItems} items`)}\n`;
}
