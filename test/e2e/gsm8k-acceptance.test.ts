import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Experiment } from '../../src/experiment/experiment.js';
import { openSqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
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
    const opened = openSqliteStore(store, { create: false });
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
    const opened = openSqliteStore(store, { create: false });
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
    const opened = openSqliteStore(store, { create: false });
    try {
      for (const ord of [0, 1, 2500, 5275]) {
        const types = (await opened.readTaskEvents(firstRun.runId, ord)).map((event) => event.type);
        expect(types).toEqual(['generate-completed', 'reduce-completed', 'parse-completed', 'score-completed', 'score-completed']);
      }
    } finally {
      await opened.close();
    }
  });
});
