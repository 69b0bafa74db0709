import type { TopLevelSpec } from 'vega-lite';
import type { Comparison, GroupStatistic } from './report-document.js';
import type { UsageSummary } from '../experiment/summary.js';

// Vega-Lite specs for the charts of the HTML report, and their rendering to static SVG in Node. The specs are
// plain data (built here, tested without a renderer); `renderChartSvg` loads vega and vega-lite only when a
// chart is drawn, so commands that never write HTML do not pay for loading them.

/** A chart to draw: a caption for the page and the Vega-Lite spec. */
export interface ChartSpec {
  readonly title: string;
  readonly spec: TopLevelSpec;
}

const WIDTH = 340;
const STEP = 22;
/**
 * Without a canvas in Node, vega estimates a text's width as 0.8 em per character (wider than it is drawn), so
 * label limits are set high enough for about 45 characters; longer labels end in `…` (tables have them whole).
 */
const LABEL_LIMIT = 380;
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const CONFIG = {
  background: 'white',
  font: FONT,
  axis: { labelLimit: LABEL_LIMIT, labelFontSize: 11, titleFontSize: 12, titleFontWeight: 600 },
  legend: { labelLimit: LABEL_LIMIT, labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 13, anchor: 'start' },
  view: { stroke: null },
} as const;

/** The metrics in the order they first appear. */
export function metricsOf(groups: readonly GroupStatistic[]): string[] {
  return [...new Set(groups.map((group) => group.metric))];
}

const finite = (value: number | null | undefined): value is number => typeof value === 'number' && Number.isFinite(value);

/** Labels a group's model, and its prompt and dataset only when the report has more than one of them. */
export function seriesLabeller(groups: readonly GroupStatistic[]): (group: Pick<GroupStatistic, 'model' | 'prompt' | 'dataset'>) => string {
  const prompts = new Set(groups.map((group) => group.prompt)).size > 1;
  const datasets = new Set(groups.map((group) => group.dataset)).size > 1;
  return (group) => [group.model, prompts ? group.prompt : null, datasets ? group.dataset : null].filter((part) => part !== null).join(' · ');
}

/** One colour per model across every chart: the models in the order they first appear in the groups. */
function modelColor(groups: readonly GroupStatistic[]) {
  return { field: 'model', type: 'nominal', legend: null, scale: { domain: [...new Set(groups.map((group) => group.model))] } } as const;
}

/** `x` on a [0, 1] axis when every value lies in it (rates), else a scale that includes zero. */
function scoreScale(values: readonly number[]): { domain?: [number, number]; zero: boolean } {
  return values.every((value) => value >= 0 && value <= 1) ? { domain: [0, 1], zero: true } : { zero: true };
}

/** (1) Per metric: the mean of each model (and prompt) over the whole dataset, with its interval as an error bar. */
export function scoreCharts(groups: readonly GroupStatistic[], level: number): ChartSpec[] {
  const color = modelColor(groups);
  const whole = groups.filter((group) => Object.keys(group.by).length === 0 && finite(group.mean));
  const label = seriesLabeller(whole);
  return metricsOf(whole).map((metric) => {
    const rows = whole
      .filter((group) => group.metric === metric)
      .map((group) => ({ series: label(group), model: group.model, mean: group.mean!, low: finite(group.ci?.[0]) ? group.ci![0] : group.mean!, high: finite(group.ci?.[1]) ? group.ci![1] : group.mean!, n: group.n }));
    const scale = scoreScale(rows.flatMap((row) => [row.mean, row.low, row.high]));
    const y = { field: 'series', type: 'nominal', title: null, sort: null } as const;
    return {
      title: `${metric}: mean with ${pct(level)} interval`,
      spec: {
        config: CONFIG,
        width: WIDTH,
        height: { step: STEP },
        data: { values: rows },
        encoding: { y },
        layer: [
          {
            mark: { type: 'bar', height: { band: 0.6 }, opacity: 0.85 },
            encoding: { x: { field: 'mean', type: 'quantitative', title: `mean ${metric}`, scale }, color },
          },
          { mark: { type: 'rule', color: '#222', strokeWidth: 1.5 }, encoding: { x: { field: 'low', type: 'quantitative' }, x2: { field: 'high' } } },
          { mark: { type: 'tick', color: '#222', thickness: 1.5, size: 10, orient: 'vertical' }, encoding: { x: { field: 'low', type: 'quantitative' } } },
          { mark: { type: 'tick', color: '#222', thickness: 1.5, size: 10, orient: 'vertical' }, encoding: { x: { field: 'high', type: 'quantitative' } } },
        ],
      },
    };
  });
}

/**
 * A comparison's row label: `a − b` with the metric (and the dataset when there are several), so no two rows
 * share a label. The runs of `assay compare` are said on the page, not on every row.
 */
export function comparisonLabeller(comparisons: readonly Comparison[]): (comparison: Comparison) => string {
  const prompts = new Set(comparisons.flatMap((comparison) => [comparison.a.prompt, comparison.b.prompt])).size > 1;
  const datasets = new Set(comparisons.map((comparison) => comparison.dataset)).size > 1;
  const side = (model: string, prompt: string) => (prompts ? `${model} · ${prompt}` : model);
  return (comparison) => `${side(comparison.a.model, comparison.a.prompt)} − ${side(comparison.b.model, comparison.b.prompt)} [${comparison.metric}${datasets ? `, ${comparison.dataset}` : ''}]`;
}

/** (2) A forest plot: one row per paired comparison, the difference a − b with its interval, and a rule at zero. */
export function forestChart(comparisons: readonly Comparison[], level: number): ChartSpec | null {
  const shown = comparisons.filter((comparison) => finite(comparison.meanDiff));
  if (shown.length === 0) return null;
  const label = comparisonLabeller(shown);
  const rows = shown.map((comparison, index) => ({
    key: index,
    label: label(comparison),
    metric: comparison.metric,
    diff: comparison.meanDiff,
    low: finite(comparison.ci?.[0]) ? comparison.ci![0] : comparison.meanDiff,
    high: finite(comparison.ci?.[1]) ? comparison.ci![1] : comparison.meanDiff,
  }));
  return {
    title: `Paired differences (a − b) with ${pct(level)} intervals`,
    spec: {
      config: CONFIG,
      width: WIDTH,
      height: { step: STEP },
      layer: [
        {
          data: { values: rows },
          encoding: { y: { field: 'label', type: 'nominal', title: null, sort: null } },
          layer: [
            { mark: { type: 'rule', strokeWidth: 2 }, encoding: { x: { field: 'low', type: 'quantitative', title: 'difference a − b', scale: { zero: true } }, x2: { field: 'high' }, color: { field: 'metric', type: 'nominal', title: 'metric' } } },
            { mark: { type: 'point', filled: true, size: 60 }, encoding: { x: { field: 'diff', type: 'quantitative' }, color: { field: 'metric', type: 'nominal', title: 'metric' } } },
          ],
        },
        { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: '#888', strokeDash: [4, 3] }, encoding: { x: { field: 'zero', type: 'quantitative' } } },
      ],
    },
  };
}

/** The `key=value, …` label of a split group, and the key of its fields (one chart per metric and set of fields). */
function byLabel(by: Readonly<Record<string, string>>): string {
  const entries = Object.entries(by);
  if (entries.length === 1) return entries[0]![1];
  return entries
    .map(([field, value]) => `${field}=${value}`)
    .join(', ');
}

/** (3) Per metric and `--by` split: the mean of each value of the split for each model (and prompt), with its interval. */
export function byCharts(groups: readonly GroupStatistic[], level: number): ChartSpec[] {
  const split = groups.filter((group) => Object.keys(group.by).length > 0 && finite(group.mean));
  const label = seriesLabeller(split);
  const charts = new Map<string, { metric: string; fields: string[]; groups: GroupStatistic[] }>();
  for (const group of split) {
    const fields = Object.keys(group.by);
    const key = JSON.stringify([group.metric, fields]);
    const chart = charts.get(key) ?? { metric: group.metric, fields, groups: [] };
    chart.groups.push(group);
    charts.set(key, chart);
  }
  return [...charts.values()].map(({ metric, fields, groups: members }) => {
    const rows = members.filter((group) => finite(group.mean)).map((group) => ({
      value: byLabel(group.by),
      series: label(group),
      mean: group.mean!,
      low: finite(group.ci?.[0]) ? group.ci![0] : group.mean!,
      high: finite(group.ci?.[1]) ? group.ci![1] : group.mean!,
    }));
    const scale = scoreScale(rows.flatMap((row) => [row.mean, row.low, row.high]));
    const y = { field: 'value', type: 'nominal', title: fields.join(', '), sort: null } as const;
    const yOffset = { field: 'series', type: 'nominal', sort: null } as const;
    return {
      title: `${metric} by ${fields.join(', ')}: mean with ${pct(level)} interval`,
      spec: {
        config: CONFIG,
        width: WIDTH,
        // With an offset channel the step is the height of one bar within a value's band.
        height: { step: 14 },
        data: { values: rows },
        encoding: { y, yOffset },
        layer: [
          {
            mark: { type: 'bar', opacity: 0.85 },
            encoding: { x: { field: 'mean', type: 'quantitative', title: `mean ${metric}`, scale }, color: { field: 'series', type: 'nominal', title: 'model', scale: { domain: [...new Set(split.map(label))] } } },
          },
          { mark: { type: 'rule', color: '#222', strokeWidth: 1.5 }, encoding: { x: { field: 'low', type: 'quantitative' }, x2: { field: 'high' } } },
        ],
      },
    };
  });
}

/** Each model's cost in USD over every stage it was called in; null when any of its calls has no price. */
export function costByModel(usage: readonly UsageSummary[]): Map<string, number | null> {
  const costs = new Map<string, number | null>();
  for (const row of usage) {
    const before = costs.has(row.model) ? costs.get(row.model)! : 0;
    costs.set(row.model, before === null || row.cost === null || !finite(row.cost) ? (row.calls > 0 || before === null ? null : before) : before + row.cost);
  }
  return costs;
}

/**
 * (4) Cost against score: one point per model with a known cost, at its cost (USD, summed over stages) and its
 * mean of the first metric over the whole dataset (groups of several prompts or datasets weighted by their n).
 */
export function costChart(groups: readonly GroupStatistic[], usage: readonly UsageSummary[]): ChartSpec | null {
  const whole = groups.filter((group) => Object.keys(group.by).length === 0 && finite(group.mean) && group.n > 0);
  const metric = metricsOf(whole)[0];
  if (metric === undefined) return null;
  const costs = costByModel(usage);
  const rows: { model: string; cost: number; mean: number }[] = [];
  for (const model of new Set(whole.map((group) => group.model))) {
    const cost = costs.get(model);
    if (!finite(cost)) continue;
    const members = whole.filter((group) => group.model === model && group.metric === metric);
    const n = members.reduce((sum, group) => sum + group.n, 0);
    if (n === 0) continue;
    rows.push({ model, cost, mean: members.reduce((sum, group) => sum + (group.mean ?? 0) * group.n, 0) / n });
  }
  if (rows.length === 0) return null;
  const x = { field: 'cost', type: 'quantitative', title: 'cost (USD, all stages)', scale: { zero: true }, axis: { format: '$.4~f' } } as const;
  const y = { field: 'mean', type: 'quantitative', title: `mean ${metric}`, scale: scoreScale(rows.map((row) => row.mean)) } as const;
  return {
    title: `Cost against ${metric}`,
    spec: {
      config: CONFIG,
      width: WIDTH,
      height: 260,
      data: { values: rows },
      encoding: { x, y },
      layer: [
        { mark: { type: 'point', filled: true, size: 80 }, encoding: { color: modelColor(groups) } },
        { mark: { type: 'text', align: 'left', dx: 7, dy: -7, fontSize: 11, limit: 200 }, encoding: { text: { field: 'model', type: 'nominal' } } },
      ],
    },
  };
}

function pct(level: number): string {
  return `${Number((level * 100).toFixed(2))}%`;
}

/** A chart drawn as static SVG, and what vega and vega-lite warned about while drawing it. */
export interface RenderedChart {
  readonly svg: string;
  readonly warnings: readonly string[];
}

/** Compiles a Vega-Lite spec and renders it to SVG in Node (no DOM, no canvas, no script in the output). */
export async function renderChartSvg(spec: TopLevelSpec): Promise<RenderedChart> {
  const [vl, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const warnings: string[] = [];
  const logger = collectingLogger(vega, warnings);
  const compiled = vl.compile(spec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger, logLevel: vega.Warn });
  try {
    const svg = await view.toSVG();
    // vega's SVG renderer escapes every text and attribute; this is a last guard that it stays markup only.
    if (/<(script|foreignObject|iframe|image|a)[\s>/]/i.test(svg)) throw new Error('the chart renderer produced an element a static chart has no use for');
    return { svg, warnings };
  } finally {
    view.finalize();
  }
}

type Vega = typeof import('vega');

function collectingLogger(vega: Vega, warnings: string[]) {
  const text = (args: readonly unknown[]) => args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(' ');
  let level: number = vega.Warn;
  const logger = {
    level(value?: number): any {
      if (value === undefined) return level;
      level = value;
      return logger;
    },
    error(...args: readonly unknown[]) {
      warnings.push(`error: ${text(args)}`);
      return logger;
    },
    warn(...args: readonly unknown[]) {
      if (level >= vega.Warn) warnings.push(text(args));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  return logger;
}
