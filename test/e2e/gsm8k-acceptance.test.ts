import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Experiment } from '../../src/experiment/experiment.js';
import { openStore } from '../../src/stores/open-store.js';
import { runCli } from '../support/cli.js';
import { Workspace } from '../support/workspace.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG = `${ROOT}examples/gsm8k/recorded.yaml`;
const SOLUTIONS = `${ROOT}../shared/data/gsm8k/example_model_solutions.jsonl`;
const MODELS = ['6b_finetuning', '6b_verification', '175b_finetuning', '175b_verification'] as const;

interface Solutions {
  readonly labels: Map<string, boolean>;
  readonly accuracy: Record<string, number>;
}

/** The original authors' grading: is_correct per (question, model). */
function originalLabels(): Solutions {
  const labels = new Map<string, boolean>();
  const correct: Record<string, number> = {};
  const rows = readFileSync(SOLUTIONS, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, { is_correct: boolean }> & { question: string });
  for (const row of rows) {
    for (const model of MODELS) {
      labels.set(`${row.question}\u0000${model}`, row[model]!.is_correct);
      correct[model] = (correct[model] ?? 0) + (row[model]!.is_correct ? 1 : 0);
    }
  }
  return { labels, accuracy: Object.fromEntries(MODELS.map((model) => [model, correct[model]! / rows.length])) };
}

describe('GSM8K graded from four real models recorded answers', () => {
  const workspace = new Workspace();
  const store = workspace.path('gsm8k.db');
  let firstRun: { runId: string; scores: { model: string; metric: string; mean: number; n: number }[]; modelCalls: number; tasks: number };

  beforeAll(async () => {
    const result = await runCli(['run', CONFIG, '--store', store, '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    firstRun = JSON.parse(result.stdout);
  });
  afterAll(() => workspace.remove());

  it('agrees with the original is_correct label on every one of the 4 x 1,319 answers', async () => {
    expect(firstRun).toMatchObject({ status: 'completed', tasks: 5276, done: 5276, failed: 0, modelCalls: 5276 });
    const { labels } = originalLabels();
    const compiled = Experiment.fromConfig(CONFIG).compile();
    expect(compiled.runId).toBe(firstRun.runId);
    const opened = await openStore(store, { create: false });
    try {
      const artifacts = await opened.loadArtifacts(compiled.runId, [...compiled.tasks()].map((task) => task.ord));
      let compared = 0;
      const disagreements: string[] = [];
      for (const task of compiled.tasks()) {
        const item = compiled.items()[task.itemOrd]!;
        const label = labels.get(`${item.input}\u0000${compiled.models[task.modelIndex]!.id}`);
        const verdict = artifacts.get(task.ord)!.scores!.accuracy!.value === 1;
        compared++;
        if (verdict !== label) disagreements.push(task.key);
      }
      expect(compared).toBe(4 * 1319);
      expect(disagreements).toEqual([]);
    } finally {
      await opened.close();
    }
  });

  it('reports per-model accuracies equal to the labels', async () => {
    const { accuracy } = originalLabels();
    for (const model of MODELS) {
      const row = firstRun.scores.find((score) => score.model === model && score.metric === 'accuracy')!;
      expect(row.n).toBe(1319);
      expect(row.mean).toBe(accuracy[model]);
    }
    const quick = await runCli(['quickcheck', firstRun.runId.slice(0, 10), '--store', store, '--json'], { cwd: workspace.dir });
    const scores = JSON.parse(quick.stdout).scores as { model: string; metric: string; mean: number; n: number }[];
    expect(scores.map((score) => [score.model, score.metric, score.mean, score.n])).toEqual(MODELS.map((model) => [model, 'accuracy', accuracy[model], 1319]));
  });

  it('re-scores a changed metric by reusing the stored answers: zero reads of the recorded answers', async () => {
    const changed = readFileSync(CONFIG, 'utf8')
      .replaceAll('../../../shared/', `${ROOT}../shared/`)
      .replace('{ kind: numeric-match, name: accuracy }', '{ kind: numeric-match, name: accuracy, relativeTolerance: 0.01 }');
    workspace.write('changed-metric.yaml', changed);
    const result = await runCli(['run', 'changed-metric.yaml', '--store', store, '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.runId).not.toBe(firstRun.runId);
    expect(summary).toMatchObject({ status: 'completed', action: 'created', modelCalls: 0, reusedGenerations: 5276, done: 5276 });
    const opened = await openStore(store, { create: false });
    try {
      const [event] = await opened.readTaskEvents(summary.runId, 0);
      expect(event).toMatchObject({ type: 'generate-completed', payload: { candidate: { reusedFrom: firstRun.runId } } });
    } finally {
      await opened.close();
    }
    const noReuse = await runCli(['run', 'changed-metric.yaml', '--store', workspace.path('other.db'), '--no-reuse', '--json'], { cwd: workspace.dir });
    expect(JSON.parse(noReuse.stdout)).toMatchObject({ modelCalls: 5276, reusedGenerations: 0 });
  });

  it('replays the score stage from stored parses, leaving generations untouched and keeping history', async () => {
    const result = await runCli(['replay', firstRun.runId, '--stage', 'score', '--store', store, '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ action: 'replayed', status: 'completed', modelCalls: 0, done: 5276 });
    expect(summary.scores.find((score: { model: string }) => score.model === '175b_verification').mean).toBe(originalLabels().accuracy['175b_verification']);
    const opened = await openStore(store, { create: false });
    try {
      for (const ord of [0, 1, 2500, 5275]) {
        const types = (await opened.readTaskEvents(firstRun.runId, ord)).map((event) => event.type);
        expect(types).toEqual(['generate-completed', 'reduce-completed', 'parse-completed', 'score-completed', 'score-completed']);
      }
    } finally {
      await opened.close();
    }
  });

  it('reports each model with a Wilson interval and every pair with the paired statistics of an independent computation', async () => {
    const result = await runCli(['report', firstRun.runId, '--store', store, '--json'], { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    const { labels, accuracy } = originalLabels();
    // Reference values: scipy 1.17.1 over the original is_correct labels (the snippet):
    //   X[m] = 1.0 where row[m]['is_correct'] else 0.0, over the 1,319 rows of example_model_solutions.jsonl
    //   ci = scipy.stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method='wilson')
    //   se = X[m].std(ddof=1) / sqrt(n)
    const wilson: Record<string, [number, number, number]> = {
      '6b_finetuning': [0.19543139440558893, 0.2398750854306672, 0.011350909906677552],
      '6b_verification': [0.36447409684415993, 0.41705679026785886, 0.013437829864668651],
      '175b_finetuning': [0.32201685382696366, 0.3733359057098653, 0.01311389838214695],
      '175b_verification': [0.5356326528399583, 0.5890988475978164, 0.013664299060751955],
    };
    for (const model of MODELS) {
      const group = report.groups.find((entry: { model: string; metric: string }) => entry.model === model && entry.metric === 'accuracy');
      expect(group).toMatchObject({ n: 1319, ciMethod: 'wilson', binary: true, dataset: 'gsm8k' });
      expect(group.mean).toBe(accuracy[model]);
      expect(group.ci[0]).toBeCloseTo(wilson[model]![0], 12);
      expect(group.ci[1]).toBeCloseTo(wilson[model]![1], 12);
      expect(group.se).toBeCloseTo(wilson[model]![2], 12);
    }
    // Per pair (a before b in config order), from the same X:
    //   d = X[a] - X[b]; se = d.std(ddof=1)/sqrt(n); unpaired = sqrt(X[a].var(ddof=1)/n + X[b].var(ddof=1)/n)
    //   p = scipy.stats.binomtest(aOnly, aOnly + bOnly, 0.5).pvalue (exact McNemar); r = numpy.corrcoef(X[a], X[b])[0, 1]
    //   holm: sort p ascending, p_(i) * (m - i + 1), running maximum, capped at 1
    const reference: Record<string, { p: number; se: number; unpaired: number; r: number; holm: number }> = {
      '6b_finetuning|6b_verification': { p: 3.928874710490944e-36, se: 0.01350874904966465, unpaired: 0.01759029355017395, r: 0.41608469822225586, holm: 1.5715498841963777e-35 },
      '6b_finetuning|175b_finetuning': { p: 7.466006443046378e-21, se: 0.013684933094532302, unpaired: 0.01734409082329734, r: 0.3813789845275091, holm: 1.4932012886092756e-20 },
      '6b_finetuning|175b_verification': { p: 1.6569333623969997e-99, se: 0.014869117830683065, unpaired: 0.017763902288944772, r: 0.30452676581273175, holm: 9.941600174381998e-99 },
      '6b_verification|175b_finetuning': { p: 0.003150656880360618, se: 0.014361068314278445, unpaired: 0.01877630427557716, r: 0.4151270576867355, holm: 0.003150656880360618 },
      '6b_verification|175b_verification': { p: 1.2400534250724266e-32, se: 0.014106395994627242, unpaired: 0.019164768203488596, r: 0.45828145994847963, holm: 3.72016027521728e-32 },
      '175b_finetuning|175b_verification': { p: 2.8913946350346335e-45, se: 0.014684157296028007, unpaired: 0.018939044315882024, r: 0.3991884152192718, holm: 1.4456973175173168e-44 },
    };
    const questions = [...new Set([...labels.keys()].map((key) => key.split('\u0000')[0]!))];
    expect(report.comparisons).toHaveLength(6);
    for (const comparison of report.comparisons) {
      const key = `${comparison.a.model}|${comparison.b.model}`;
      const expected = reference[key]!;
      expect(expected, key).toBeDefined();
      // Discordant pairs counted here straight from the labels.
      const aOnly = questions.filter((question) => labels.get(`${question}\u0000${comparison.a.model}`) && !labels.get(`${question}\u0000${comparison.b.model}`)).length;
      const bOnly = questions.filter((question) => !labels.get(`${question}\u0000${comparison.a.model}`) && labels.get(`${question}\u0000${comparison.b.model}`)).length;
      expect(comparison).toMatchObject({ metric: 'accuracy', n: 1319, test: 'mcnemar-exact', flipped: [aOnly, bOnly] });
      expect(comparison.meanDiff).toBeCloseTo(accuracy[comparison.a.model]! - accuracy[comparison.b.model]!, 12);
      expect(comparison.pValue / expected.p).toBeCloseTo(1, 9);
      expect(comparison.pAdjusted / expected.holm).toBeCloseTo(1, 9);
      expect(comparison.se).toBeCloseTo(expected.se, 12);
      expect(comparison.unpairedSe).toBeCloseTo(expected.unpaired, 12);
      expect(comparison.correlation).toBeCloseTo(expected.r, 12);
      expect(comparison.se).toBeLessThan(comparison.unpairedSe);
    }
  });
});

