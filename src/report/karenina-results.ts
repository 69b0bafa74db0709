import { createWriteStream, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createManifest, manifestShape } from '../core/manifest.js';
import { syncAndRename } from '../stores/files/progressive-save.js';
import { templateOfRow } from '../karenina/template-of-row.js';
import type { MetricScore } from '../spec/metric.js';
import type { ModelIdentity } from '../spec/snapshot.js';
import type { Store } from '../spec/store.js';
import { stageName } from '../spec/stage.js';
import { summarizeRun } from '../experiment/summary.js';

const BATCH = 1000;
export const KARENINA_FORMAT_VERSION = '2.2';

/** A model as karenina's verification config lists it; what assay does not have is null. */
function modelEntry(identity: ModelIdentity | undefined, id: string): Record<string, unknown> {
  return {
    id,
    model_name: identity?.model ?? null,
    model_provider: identity?.provider ?? null,
    interface: null,
    temperature: typeof identity?.params?.temperature === 'number' ? identity.params.temperature : null,
    system_prompt: identity?.system ?? null,
  };
}

const TRAIT_GROUP: Record<string, 'llm_traits' | 'regex_traits' | 'metric_traits'> = { boolean: 'llm_traits', score: 'llm_traits', class: 'llm_traits', regex: 'regex_traits', keywords: 'metric_traits' };

/**
 * Writes a run's results in karenina's verification-results export format (format_version 2.2): one entry
 * per task under `results`, with the template verification (from the `karenina-verify` metric) and the rubric
 * trait scores (from rubric judges). What assay does not know is null, as karenina writes it. docs/karenina.md
 * lists where every field comes from.
 */
export async function writeKareninaResults(store: Store, runId: string, write: (text: string) => Promise<void>): Promise<{ tasks: number }> {
  const run = (await store.getRun(runId))!;
  const items = await store.loadItems(runId);
  const manifest = createManifest(manifestShape(run.snapshot), items);
  const summary = await summarizeRun(store, runId, { action: 'reused', untilStage: 'judge', modelCalls: 0, reusedGenerations: 0, durationMs: 0 });
  const evaluators = new Map(run.snapshot.evaluators.map((identity) => [identity.id, identity]));
  const parserModel = typeof run.snapshot.parse.args.model === 'string' ? run.snapshot.parse.args.model : null;
  const verifyMetric = run.snapshot.metrics.find((metric) => metric.id === 'karenina-verify');
  const verifyName = verifyMetric ? String(verifyMetric.args.name ?? 'verify') : null;
  const rubricJudges = run.snapshot.judges.filter((judge) => judge.id === 'rubric').map((judge) => String(judge.args.id));

  const traits = new Map<string, Record<string, unknown>>();
  for (const item of items) {
    for (const trait of (Array.isArray(item.fields.rubric) ? item.fields.rubric : []) as Record<string, unknown>[]) if (typeof trait.name === 'string' && !traits.has(trait.name)) traits.set(trait.name, trait);
  }
  const rubricDefinition = traits.size === 0 ? null : { llm_traits: [] as unknown[], regex_traits: [] as unknown[], metric_traits: [] as unknown[], callable_traits: [] };
  for (const trait of traits.values()) rubricDefinition?.[TRAIT_GROUP[String(trait.kind)] ?? 'llm_traits'].push(trait);

  const metadata = {
    export_timestamp: new Date().toISOString(),
    karenina_version: null,
    job_id: runId,
    verification_config: {
      answering_models: run.snapshot.models.map((identity) => modelEntry(identity, identity.id)),
      parsing_models: parserModel ? [modelEntry(evaluators.get(parserModel), parserModel)] : [],
      replicate_count: run.snapshot.replicates,
      rubric_enabled: rubricJudges.length > 0,
    },
    job_summary: {
      total_questions: items.length,
      successful_count: summary.done,
      failed_count: summary.failed,
      start_time: run.createdAt,
      end_time: null,
      total_duration: null,
      is_complete: summary.done === summary.tasks,
    },
  };
  await write(`{"format_version":${JSON.stringify(KARENINA_FORMAT_VERSION)},\n"metadata":${JSON.stringify(metadata)},\n"shared_data":${JSON.stringify({ rubric_definition: rubricDefinition })},\n"results":[\n`);
  let first = true;
  for (let start = 0; start < manifest.taskCount; start += BATCH) {
    const ords = Array.from({ length: Math.min(BATCH, manifest.taskCount - start) }, (_, index) => start + index);
    const artifacts = await store.loadArtifacts(runId, ords);
    const chunk: string[] = [];
    for (const ord of ords) {
      const task = manifest.task(ord);
      const found = artifacts.get(ord);
      const item = items[task.itemOrd]!;
      const failure = found?.progress.failed ? found.progress.failure : null;
      const template = templateOfRow(item.fields);
      const verify = verifyName ? (found?.scores?.[verifyName] as MetricScore | undefined) : undefined;
      const details = (verify?.details ?? {}) as { fieldResults?: unknown; regex?: unknown };
      const parsed = found?.parsed;
      const judged = (found?.judgments ?? []).filter((judgment) => judgment.kind === 'rubric');
      const traitScores = { llm_trait_scores: {} as Record<string, unknown>, regex_trait_scores: {} as Record<string, unknown>, metric_trait_scores: {} as Record<string, unknown> };
      for (const judgment of judged) {
        for (const [name, score] of Object.entries(judgment.scores)) {
          const trait = name.slice(judgment.judge.length + 1);
          const group = TRAIT_GROUP[String(traits.get(trait)?.kind)] ?? 'llm_traits';
          const key = group === 'llm_traits' ? 'llm_trait_scores' : group === 'regex_traits' ? 'regex_trait_scores' : 'metric_trait_scores';
          traitScores[key][trait] = group === 'regex_traits' ? score.value === 1 : group === 'metric_traits' ? { score: score.value, ...(score.parts ?? {}) } : score.value;
        }
      }
      const entry = {
        metadata: {
          question_id: item.itemId,
          failure: failure ? { category: failure.category, stage: failure.stage, reason: failure.message } : null,
          question_text: item.input,
          answering: { model_name: run.snapshot.models[task.modelIndex]!.model, id: run.snapshot.models[task.modelIndex]!.id },
          parsing: { model_name: parserModel ? (evaluators.get(parserModel)?.model ?? parserModel) : null, id: parserModel },
          replicate: task.replicate,
          timestamp: null,
          completed_without_errors: !failure,
          execution_time: null,
          task_key: task.key,
          stage: stageName(found?.progress.nextStage ?? 0),
        },
        template: {
          raw_llm_response: found?.reduced?.text ?? null,
          parsed_gt_response: template ? template.correct : null,
          parsed_llm_response: parsed?.ok ? parsed.value : null,
          template_verification_performed: verify !== undefined,
          verify_result: verify ? verify.value === 1 : null,
          verify_granular_result: verify?.parts?.granular ?? null,
          field_results: verify ? (details.fieldResults ?? null) : null,
          regex_validations_performed: verify?.parts?.regex !== undefined,
          regex_overall_success: verify?.parts?.regex !== undefined ? verify.parts.regex === 1 : null,
          answer_template: template ? template.python : null,
        },
        rubric: judged.length === 0 ? null : { rubric_evaluation_performed: true, ...traitScores },
      };
      chunk.push(`${first ? '' : ',\n'}${JSON.stringify(entry)}`);
      first = false;
    }
    await write(chunk.join(''));
  }
  await write('\n]}\n');
  return { tasks: manifest.taskCount };
}

/** The same, as a file: written to a partial file and renamed, so it is either complete or absent. */
export async function writeKareninaResultsFile(store: Store, runId: string, path: string): Promise<{ tasks: number }> {
  const partial = `${path}.${process.pid}.partial`;
  const out = createWriteStream(partial);
  try {
    const result = await writeKareninaResults(store, runId, async (text) => {
      if (!out.write(text)) await once(out, 'drain');
    });
    out.end();
    await once(out, 'close');
    syncAndRename(partial, path);
    return result;
  } catch (error) {
    out.destroy();
    rmSync(partial, { force: true });
    throw error;
  }
}
