import type { CompareDocument, Comparison, GroupStatistic, ReportDocument } from '../report/report-document.js';

// A realistic report for tests of the report's formats: three models (one named like an XSS payload), two
// metrics, a `--by difficulty` split with a hostile value, three paired comparisons, priced and unpriced usage,
// a judge panel, and a few nulls. Every text a document carries is somewhere hostile.

export const HOSTILE_MODEL = '<script>alert(1)</script>';
export const HOSTILE_ATTR = '"><img src=x onerror=alert(1)>';
export const HOSTILE_BY = "hard'><svg onload=alert(3)>";
export const HOSTILE_ITEM = 'q<7>&"\'<img src=x onerror=alert(7)>';
export const MODELS = ['gpt-4o-mini', 'claude-haiku & co', HOSTILE_MODEL] as const;
export const METRICS = ['exact-match', HOSTILE_ATTR] as const;

function group(model: string, metric: string, mean: number, extra: Partial<GroupStatistic> = {}): GroupStatistic {
  const n = extra.n ?? 200;
  const se = Math.sqrt((mean * (1 - mean)) / n);
  return {
    model,
    prompt: 'default',
    dataset: 'gsm8k-<mini>',
    by: {},
    metric,
    kind: metric === 'exact-match' ? 'metric' : 'judge',
    n,
    observations: n * 3,
    failed: 1,
    pending: 0,
    mean,
    se,
    ci: [mean - 1.97 * se, mean + 1.97 * se],
    ciMethod: metric === 'exact-match' ? 'wilson' : 't',
    binary: metric === 'exact-match',
    withinItemShare: 0.18,
    cluster: null,
    ...extra,
  };
}

const means: Record<string, [number, number]> = { 'gpt-4o-mini': [0.81, 0.74], 'claude-haiku & co': [0.77, 0.7], [HOSTILE_MODEL]: [0.52, 0.41] };

function comparison(a: string, b: string, metric: string, meanDiff: number, extra: Partial<Comparison> = {}): Comparison {
  return {
    metric,
    dataset: 'gsm8k-<mini>',
    a: { model: a, prompt: 'default', mean: 0.6 + meanDiff },
    b: { model: b, prompt: 'default', mean: 0.6 },
    n: 200,
    meanDiff,
    se: 0.021,
    ci: [meanDiff - 0.041, meanDiff + 0.041],
    ciMethod: 't',
    pValue: 0.0123,
    pAdjusted: 0.0369,
    test: 'mcnemar-exact',
    correlation: 0.42,
    unpairedSe: 0.041,
    mde: 0.059,
    flipped: [31, 23],
    ...extra,
  };
}

export function reportDocument(overrides: Partial<ReportDocument> = {}): ReportDocument {
  const whole = MODELS.flatMap((model) => METRICS.map((metric, index) => group(model, metric, means[model]![index]!)));
  const split = MODELS.flatMap((model) =>
    (['easy', HOSTILE_BY] as const).map((difficulty, index) => group(model, 'exact-match', means[model]![0] + (index === 0 ? 0.08 : -0.12), { n: 100, by: { difficulty }, withinItemShare: null })),
  );
  // A constant side: correlation is null; a tiny p-value shows as <0.001.
  const comparisons = [
    comparison('gpt-4o-mini', 'claude-haiku & co', 'exact-match', 0.04),
    comparison('gpt-4o-mini', HOSTILE_MODEL, 'exact-match', 0.29, { pValue: 1.2e-9, pAdjusted: 3.6e-9 }),
    comparison('claude-haiku & co', HOSTILE_MODEL, HOSTILE_ATTR, 0.25, { correlation: null, test: 'paired-t', pValue: 0.5, pAdjusted: 1 }),
  ];
  return {
    schema: 'assay.report.v1',
    runId: 'r_0123456789abcdef',
    name: `nightly <b>gsm8k</b> & "friends"`,
    status: 'completed',
    completedThroughStage: 'judge',
    generatedAt: '2025-01-02T03:04:05.000Z',
    level: 0.95,
    by: ['difficulty'],
    cluster: null,
    baseline: 'gpt-4o-mini',
    tasks: { total: 1800, scored: 1794, failed: 6, pending: 0 },
    groups: [...whole, ...split],
    comparisons,
    usage: [
      { model: 'gpt-4o-mini', stage: 'generate', calls: 600, inputTokens: 180_000, outputTokens: 90_000, cost: 0.081 },
      { model: 'gpt-4o-mini', stage: 'judge', calls: 600, inputTokens: 240_000, outputTokens: 12_000, cost: 0.0432 },
      { model: 'claude-haiku & co', stage: 'generate', calls: 600, inputTokens: 180_000, outputTokens: 95_000, cost: 0.52 },
      { model: HOSTILE_MODEL, stage: 'generate', calls: 600, inputTokens: 180_000, outputTokens: 70_000, cost: null },
    ],
    cost: { total: 0.6442, currency: 'USD', unpriced: [HOSTILE_MODEL], prices: 'recorded', importedPrices: false },
    latency: [
      { model: 'gpt-4o-mini', calls: 600, p50Ms: 812, p95Ms: 2140 },
      { model: HOSTILE_MODEL, calls: 600, p50Ms: 1405.6, p95Ms: 5230 },
    ],
    failures: [
      { stage: 'generate', category: 'rate-limit', count: 4 },
      { stage: 'parse', category: `unparseable <${HOSTILE_ATTR}>`, count: 2 },
    ],
    agreement: [
      { judge: 'panel', trait: 'helpful', measure: 'krippendorff-alpha', level: 'interval', value: 0.712, units: 600, raters: 3 },
      { judge: 'panel', trait: 'safe', measure: 'krippendorff-alpha', level: 'nominal', value: null, units: 600, raters: 3 },
    ],
    ...overrides,
  };
}

export function compareDocument(): CompareDocument {
  const report = reportDocument();
  return {
    schema: 'assay.compare.v1',
    runA: { runId: 'r_aaaaaaaaaaaaaaaa', name: 'before' },
    runB: { runId: 'r_bbbbbbbbbbbbbbbb', name: `after ${HOSTILE_MODEL}` },
    generatedAt: '2025-01-03T00:00:00.000Z',
    level: 0.95,
    sharedItems: 200,
    onlyInA: 3,
    onlyInB: 0,
    unmatched: [],
    comparisons: report.comparisons.slice(0, 2).map((entry) => ({ ...entry, a: { ...entry.a, runId: 'r_aaaaaaaaaaaaaaaa' }, b: { ...entry.b, runId: 'r_bbbbbbbbbbbbbbbb' } })),
    flippedItems: [
      {
        metric: 'exact-match',
        dataset: 'gsm8k-<mini>',
        a: { model: HOSTILE_MODEL, prompt: 'default' },
        b: { model: 'gpt-small', prompt: 'default' },
        truncated: false,
        aOnly: [
          { dataset: 'gsm8k-<mini>', item: HOSTILE_ITEM, a: 1, b: 0 },
          { dataset: 'gsm8k-<mini>', item: 'q12', a: 1, b: 0 },
        ],
        bOnly: [{ dataset: 'gsm8k-<mini>', item: 'q40', a: 0, b: 1 }],
      },
    ],
  };
}
