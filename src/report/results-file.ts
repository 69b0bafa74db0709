import { createWriteStream, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createManifest, manifestShape } from '../core/manifest.js';
import { stageName } from '../spec/stage.js';
import type { Store } from '../spec/store.js';
import { summarizeRun } from '../experiment/summary.js';
import { toolVersion } from '../experiment/tool-version.js';
import { outputFormat, syncAndRename } from '../stores/files/progressive-save.js';
import { csvRow } from './csv-row.js';

const BATCH = 1000;

/**
 * Writes a run's results as one file: JSON (`{ format, metadata, summary, items, results }`, every text exact,
 * one item and one result per line, which is how stores/files/results-file-store.ts reads it back) or, for
 * a `.csv` path, one row per task with a column per score (text cells that could run as a formula are quoted),
 * or (format `karenina`) karenina's verification-results export.
 * Written to a partial file and renamed, so the output is either complete or absent.
 */
export async function writeResultsFile(store: Store, runId: string, path: string, format: 'json' | 'csv' | 'karenina' = outputFormat(path)): Promise<{ tasks: number; format: 'json' | 'csv' | 'karenina' }> {
  if (format === 'karenina') {
    // karenina's verification-results export (docs/karenina.md), for loading assay's results into karenina's tools.
    const { writeKareninaResultsFile } = await import('./karenina-results.js');
    return { ...(await writeKareninaResultsFile(store, runId, path)), format };
  }
  const run = (await store.getRun(runId))!;
  const items = await store.loadItems(runId);
  const manifest = createManifest(manifestShape(run.snapshot), items);
  const summary = await summarizeRun(store, runId, { action: 'reused', untilStage: 'judge', modelCalls: 0, reusedGenerations: 0, durationMs: 0 });
  const partial = `${path}.${process.pid}.partial`;
  const out = createWriteStream(partial);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  const scoreNames = summary.scores.map((row) => row.metric).filter((name, index, all) => all.indexOf(name) === index);
  try {
    if (format === 'json') {
      const metadata = { runId, name: run.name, snapshot: run.snapshot, provenance: run.provenance, createdAt: run.createdAt, writtenAt: new Date().toISOString(), tool: `assay ${toolVersion()}` };
      const { action: _action, untilStage: _until, modelCalls: _calls, reusedGenerations: _reused, durationMs: _duration, ...counts } = summary;
      await write(`{"format":"assay.results","version":1,\n"metadata":${JSON.stringify(metadata)},\n"summary":${JSON.stringify(counts)},\n"items":[\n`);
      // Each item once, in manifest order, with its whole dataset row (`fields`), so a report can split by any
      // field. Added after version 1 was first written: a reader must accept a file without it.
      for (let start = 0; start < items.length; start += BATCH) {
        const lines = items.slice(start, start + BATCH).map((item, offset) => {
          const entry = { dataset: item.datasetId, item: item.itemId, input: item.input, target: item.target, fields: item.fields };
          return `${start + offset === 0 ? '' : ',\n'}${JSON.stringify(entry)}`;
        });
        await write(lines.join(''));
      }
      await write(`${items.length > 0 ? '\n' : ''}],\n"results":[\n`);
    } else {
      await write(csvRow(['task', 'dataset', 'item', 'model', 'prompt', 'replicate', 'stage', 'answer', 'parsed', 'unparseable', ...scoreNames, 'failure_stage', 'failure_category', 'failure_message']));
    }
    let first = true;
    for (let start = 0; start < manifest.taskCount; start += BATCH) {
      const ords = Array.from({ length: Math.min(BATCH, manifest.taskCount - start) }, (_, index) => start + index);
      const artifacts = await store.loadArtifacts(runId, ords);
      const chunk: string[] = [];
      for (const ord of ords) {
        const task = manifest.task(ord);
        const found = artifacts.get(ord);
        const progress = found?.progress;
        const item = items[task.itemOrd]!;
        const scores = { ...(found?.scores ?? {}), ...Object.assign({}, ...(found?.judgments ?? []).map((judgment) => judgment.scores)) } as Record<string, { value: number }>;
        const failure = progress?.failed ? progress.failure : null;
        if (format === 'json') {
          const entry = {
            task: task.key,
            dataset: item.datasetId,
            item: item.itemId,
            model: run.snapshot.models[task.modelIndex]!.id,
            prompt: run.snapshot.prompts[task.promptIndex]!.id,
            replicate: task.replicate,
            stage: stageName(progress?.nextStage ?? 0),
            input: item.input,
            target: item.target,
            candidates: found?.candidates ?? [],
            reduced: found?.reduced ?? null,
            parsed: found?.parsed ?? null,
            scores: found?.scores ?? null,
            judgments: found?.judgments ?? null,
            failure,
          };
          chunk.push(`${first ? '' : ',\n'}${JSON.stringify(entry)}`);
          first = false;
        } else {
          const parsed = found?.parsed;
          chunk.push(
            csvRow([
              task.key,
              item.datasetId,
              item.itemId,
              run.snapshot.models[task.modelIndex]!.id,
              run.snapshot.prompts[task.promptIndex]!.id,
              task.replicate,
              stageName(progress?.nextStage ?? 0),
              found?.reduced?.text ?? '',
              parsed?.ok ? parsedCell(parsed.value) : '',
              parsed && !parsed.ok ? parsed.reason : '',
              ...scoreNames.map((name) => scores[name]?.value ?? ''),
              failure?.stage ?? '',
              failure?.category ?? '',
              failure?.message ?? '',
            ]),
          );
        }
      }
      await write(chunk.join(''));
    }
    if (format === 'json') await write('\n]}\n');
    out.end();
    await once(out, 'close');
    syncAndRename(partial, path);
  } catch (error) {
    out.destroy();
    rmSync(partial, { force: true });
    throw error;
  }
  return { tasks: manifest.taskCount, format };
}

/** A parsed number stays a number cell (so `-3` is not quoted as text); anything else is its text or JSON. */
function parsedCell(value: unknown): string | number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return typeof value === 'string' ? value : JSON.stringify(value);
}
