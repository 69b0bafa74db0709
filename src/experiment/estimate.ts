import { renderPrompt } from '../core/prompt-render.js';
import { hashValue } from '../core/canonical-json.js';
import { reachesStage, stageCountsFromHistogram } from '../core/execution-state.js';
import { sameCallsMapper } from '../core/generation-groups.js';
import { manifestShape, taskCoordinates } from '../core/manifest.js';
import type { RunSnapshot } from '../spec/snapshot.js';
import type { CompiledRun } from './compile.js';
import type { Stage } from '../spec/stage.js';
import type { Store } from '../spec/store.js';
import type { Experiment } from './experiment.js';
import { priceBook, planFromCompiled } from './run-plan.js';
import { openExistingStore } from '../stores/open-store.js';

/** Where an output-token figure comes from: seen in earlier runs of the model, its maxTokens cap, or a guess. */
export type OutputBasis = 'observed' | 'maxTokens' | 'assumed';

export interface EstimateRow {
  readonly model: string;
  readonly role: 'answering' | 'evaluator';
  readonly stage: Stage;
  /** Calls to pay for: those stored answers will not serve. */
  readonly calls: number;
  /** Calls that answers already in the store will serve for free (the same request, asked before). */
  readonly reused: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly outputBasis: OutputBasis;
  /** USD, or null when the model has no known price. */
  readonly cost: number | null;
  readonly priceSource: 'config' | 'table' | 'free' | 'unknown';
}

export interface Estimate {
  readonly runId: string;
  readonly tasks: number;
  readonly rows: readonly EstimateRow[];
  readonly total: { readonly calls: number; readonly inputTokens: number; readonly outputTokens: number; readonly cost: number | null };
  /** What is left to spend when the run already exists in the store (done work is not paid twice). */
  readonly remaining: { readonly calls: number; readonly cost: number | null; readonly store: string } | null;
  readonly notes: readonly string[];
}

const ASSUMED_OUTPUT = 256;
const JUDGE_OUTPUT = 120;

/**
 * Predicts what running an experiment costs, before spending anything: calls per model and stage, input
 * tokens counted on the rendered prompts (an OpenAI tokenizer: exact for OpenAI models, close for others),
 * output tokens from earlier runs of the same model in the store, else `maxTokens` as an upper bound, and cost
 * from the configured or well-known prices.
 */
export async function estimateExperiment(experiment: Experiment, storePath: string): Promise<Estimate> {
  const compiled = experiment.compile();
  const { countTokens } = await import('gpt-tokenizer');
  const plan = planFromCompiled(compiled, experiment.config.models, experiment.config.evaluators);
  const prices = await priceBook(plan);
  const store = await openExistingStore(storePath);
  try {
    const observed = store ? await observedOutputs(store) : new Map<string, number>();
    const notes: string[] = ['input tokens are counted with an OpenAI tokenizer (o200k): exact for OpenAI models, an approximation for others'];
    const config = experiment.config;
    const samples = config.samples;
    const perModelTasks = compiled.taskCount / compiled.models.length;

    // Prompt tokens per (item, prompt), the same for every model and replicate.
    let promptTokens = 0;
    let questionChars = 0;
    let itemCount = 0;
    for (const item of compiled.streamItems()) {
      itemCount++;
      for (const prompt of compiled.prompts) {
        const rendered = renderPrompt(prompt, item);
        const turns = rendered.messages ?? [...(rendered.system !== undefined ? [{ content: rendered.system }] : []), { content: rendered.prompt }];
        promptTokens += turns.reduce((sum, turn) => sum + countTokens(turn.content), 0) + 4;
      }
      questionChars += item.input.length;
    }
    const promptTokensPerTask = promptTokens / (itemCount * compiled.prompts.length);

    const rows: EstimateRow[] = [];
    const outputOf = (model: { id: string; provider: string; model: string; params: { maxTokens?: number } }, fallback: number): { tokens: number; basis: OutputBasis } => {
      const seen = observed.get(`${model.provider}\u0000${model.model}`);
      if (seen !== undefined) return { tokens: seen, basis: 'observed' };
      if (model.params.maxTokens !== undefined) return { tokens: model.params.maxTokens, basis: 'maxTokens' };
      return { tokens: fallback, basis: 'assumed' };
    };
    const reuse = store ? await reusableTasks(store, compiled) : null;
    const row = (model: { id: string }, role: EstimateRow['role'], stage: Stage, asked: number, inputPerCall: number, output: { tokens: number; basis: OutputBasis }, modelIndex?: number): void => {
      const share = reuse === null ? 0 : modelIndex !== undefined ? reuse.generate[modelIndex]! / perModelTasks : reuse.stages[stage] / compiled.taskCount;
      const reused = Math.round(asked * Math.min(1, share));
      const calls = asked - reused;
      const inputTokens = Math.round(calls * inputPerCall);
      const outputTokens = Math.round(calls * output.tokens);
      const entry = prices.entry(model.id);
      rows.push({ model: model.id, role, stage, calls, reused, inputTokens, outputTokens, outputBasis: output.basis, cost: prices.cost(model.id, { inputTokens, outputTokens }), priceSource: entry.source });
    };

    let answerTokens = 0;
    for (const identity of compiled.snapshot.models) {
      const model = { ...identity, params: identity.params as { maxTokens?: number } };
      const output = outputOf(model, ASSUMED_OUTPUT);
      answerTokens = Math.max(answerTokens, output.tokens);
      row(model, 'answering', 'generate', perModelTasks * samples, promptTokensPerTask, output, compiled.snapshot.models.indexOf(identity));
    }
    const evaluator = (id: string) => {
      const identity = compiled.snapshot.evaluators.find((candidate) => candidate.id === id)!;
      return { ...identity, params: identity.params as { maxTokens?: number } };
    };
    const questionTokens = Math.ceil(questionChars / itemCount / 4);
    const readerInput = questionTokens + answerTokens + 150;
    if (config.reduce.kind === 'best-of' && samples > 1) {
      const model = evaluator(config.reduce.model as string);
      row(model, 'evaluator', 'reduce', compiled.taskCount, questionTokens + answerTokens * samples + 80, outputOf(model, 60));
    }
    if (config.parse.kind === 'template') {
      const model = evaluator(config.parse.model as string);
      row(model, 'evaluator', 'parse', compiled.taskCount, readerInput, outputOf(model, 60));
    }
    for (const judge of config.judges) {
      const panel = (judge.models as string[] | undefined) ?? [];
      const modelTraits = ((judge.traits as { kind: string }[] | undefined) ?? []).some((trait) => ['boolean', 'score', 'class'].includes(trait.kind));
      const perTask = judge.kind === 'pairwise' ? (judge.swap === false ? 1 : 2) : modelTraits || judge.itemTraits !== undefined ? 1 : 0;
      for (const id of panel) {
        const model = evaluator(id);
        row(model, 'evaluator', 'judge', compiled.taskCount * perTask, readerInput + (judge.kind === 'pairwise' ? answerTokens : 0), outputOf(model, JUDGE_OUTPUT));
      }
      if (judge.itemTraits !== undefined) notes.push(`judge '${judge.id}' reads traits from the items: counted as one call per task and panel model`);
    }
    const reusedCalls = rows.reduce((sum, entry) => sum + entry.reused, 0);
    if (reusedCalls > 0 && reuse) {
      notes.push(`${reusedCalls} calls will be served by answers already in the store (from ${reuse.sources.map((id) => id.slice(0, 12)).join(', ')}): they cost nothing and are not counted in the total`);
    }
    if (config.judges.length > 0 || config.parse.kind === 'template') {
      notes.push('evaluator requests repeated within the run (the same judge prompt for two tasks) are sent once; that saving is not predicted here');
    }
    if (rows.some((entry) => entry.outputBasis === 'maxTokens')) notes.push('output tokens at maxTokens are an upper bound: real answers are usually shorter');
    if (rows.some((entry) => entry.outputBasis === 'assumed')) notes.push(`output tokens without history or maxTokens are assumed (${ASSUMED_OUTPUT} per answer, ${JUDGE_OUTPUT} per judgment)`);
    const unpriced = [...new Set(rows.filter((entry) => entry.cost === null && entry.calls > 0).map((entry) => entry.model))];
    if (unpriced.length > 0) notes.push(`no known price for ${unpriced.join(', ')}: set price: { input, output } (USD per million tokens) on them`);

    const sum = (pick: (entry: EstimateRow) => number) => rows.reduce((total, entry) => total + pick(entry), 0);
    const cost = unpriced.length > 0 && rows.every((entry) => entry.cost === null) ? null : sum((entry) => entry.cost ?? 0);
    const total = { calls: sum((entry) => entry.calls), inputTokens: sum((entry) => entry.inputTokens), outputTokens: sum((entry) => entry.outputTokens), cost };

    let remaining: Estimate['remaining'] = null;
    const run = store ? await store.getRun(compiled.runId) : undefined;
    if (store && run) {
      const counts = stageCountsFromHistogram(await store.getStageHistogram(compiled.runId), compiled.taskCount, compiled.pipeline);
      const left = (stage: Stage) => (compiled.taskCount === 0 ? 0 : (counts.stages[stage].pending + counts.stages[stage].failed) / compiled.taskCount);
      const scaled = rows.map((entry) => ({ calls: entry.calls * left(entry.stage), cost: entry.cost === null ? null : entry.cost * left(entry.stage) }));
      remaining = {
        calls: Math.round(scaled.reduce((acc, entry) => acc + entry.calls, 0)),
        cost: scaled.some((entry) => entry.cost === null) && cost === null ? null : scaled.reduce((acc, entry) => acc + (entry.cost ?? 0), 0),
        store: store.location,
      };
      notes.push(`run ${compiled.runId.slice(0, 12)} already exists in ${store.location}: work done there is not paid again`);
    }
    return { runId: compiled.runId, tasks: compiled.taskCount, rows, total, remaining, notes };
  } finally {
    await store?.close();
  }
}

/**
 * Which of a new run's tasks stored runs already answered with the same calls: per answering model, the tasks
 * whose generation a complete-through-generate run shares (core/generation-groups.ts); per evaluator stage, the
 * tasks whose answers come from a run with the same parser, reducer or judges and evaluator models, complete
 * through that stage (their evaluator requests will be the same, so the stored replies serve them).
 */
async function reusableTasks(store: Store, compiled: CompiledRun): Promise<{ generate: number[]; stages: Record<Stage, number>; sources: string[] }> {
  const target = { snapshot: compiled.snapshot, shape: compiled.shape };
  const generate = compiled.snapshot.models.map(() => 0);
  const stages: Record<Stage, number> = { generate: 0, reduce: 0, parse: 0, score: 0, judge: 0 };
  const covered = new Uint8Array(compiled.taskCount);
  const sources: string[] = [];
  const same = (pick: (snapshot: RunSnapshot) => unknown, source: RunSnapshot) => hashValue(pick(source)) === hashValue(pick(compiled.snapshot));
  for (const source of await store.listRuns()) {
    if (source.runId === compiled.runId || !reachesStage(source.completedThroughStage, 'generate')) continue;
    const map = sameCallsMapper(target, { snapshot: source.snapshot, shape: manifestShape(source.snapshot) });
    const evaluators = (snapshot: RunSnapshot) => snapshot.evaluators;
    const sameStage = {
      reduce: reachesStage(source.completedThroughStage, 'reduce') && same((snapshot) => [snapshot.reduce, evaluators(snapshot)], source.snapshot),
      parse: reachesStage(source.completedThroughStage, 'parse') && same((snapshot) => [snapshot.reduce, snapshot.parse, evaluators(snapshot)], source.snapshot),
      judge: reachesStage(source.completedThroughStage, 'judge') && same((snapshot) => [snapshot.reduce, snapshot.parse, snapshot.judges, evaluators(snapshot)], source.snapshot),
    };
    let used = false;
    for (let ord = 0; ord < compiled.taskCount; ord++) {
      if (covered[ord] || map(ord) === undefined) continue;
      covered[ord] = 1;
      used = true;
      generate[taskCoordinates(compiled.shape, ord).modelIndex]!++;
      for (const stage of ['reduce', 'parse', 'judge'] as const) if (sameStage[stage]) stages[stage]++;
    }
    if (used) sources.push(source.runId);
  }
  return { generate, stages, sources };
}

/** Average output tokens per call of each (provider, model) across every run in the store. */
async function observedOutputs(store: Store): Promise<Map<string, number>> {
  const totals = new Map<string, { calls: number; tokens: number }>();
  for (const run of await store.listRuns()) {
    const identities = new Map([...run.snapshot.models, ...run.snapshot.evaluators].map((identity) => [identity.id, identity]));
    for (const usage of await store.getUsageTotals(run.runId)) {
      const identity = identities.get(usage.model);
      if (!identity || usage.calls === 0 || usage.outputTokens === 0) continue;
      const key = `${identity.provider}\u0000${identity.model}`;
      const entry = totals.get(key) ?? { calls: 0, tokens: 0 };
      entry.calls += usage.calls;
      entry.tokens += usage.outputTokens;
      totals.set(key, entry);
    }
  }
  return new Map([...totals].map(([key, entry]) => [key, Math.round(entry.tokens / entry.calls)]));
}
