import { ARTIFACT_KINDS, type ArtifactKind, type ArtifactRecord } from '../core/records.js';
import { createManifest, manifestShape } from '../core/manifest.js';
import { storeReduction } from '../core/reduction.js';
import { UserError } from '../core/errors.js';
import { toolVersion } from '../experiment/tool-version.js';
import type { Store } from '../spec/store.js';
import { BUNDLE_FORMAT, BUNDLE_VERSION, writeBundle, type BundleHeader } from './bundle-file.js';

const BATCH = 1000;

/**
 * Writes one kind of a run's artifacts (with the run's snapshot and items) to a portable, checksummed bundle.
 * Only tasks that have the artifact are included; a `.gz` path is gzipped.
 */
export async function exportBundle(store: Store, runId: string, kind: ArtifactKind, path: string): Promise<BundleHeader> {
  if (!ARTIFACT_KINDS.includes(kind)) throw new UserError('bad_bundle_kind', `unknown bundle kind '${kind}'`, { hint: `expected one of ${ARTIFACT_KINDS.join(', ')}` });
  const run = await store.getRun(runId);
  if (!run) throw new UserError('run_not_found', `no run ${runId} in store ${store.location}`);
  const items = await store.loadItems(runId);
  const manifest = createManifest(manifestShape(run.snapshot), items);

  async function* body(): AsyncGenerator<{ line: string; item: boolean }> {
    for (const item of items) yield { line: JSON.stringify({ type: 'item', ...item }), item: true };
    for (let first = 0; first < manifest.taskCount; first += BATCH) {
      const ords = Array.from({ length: Math.min(BATCH, manifest.taskCount - first) }, (_, index) => first + index);
      const artifacts = await store.loadArtifacts(runId, ords);
      for (const ord of ords) {
        const task = manifest.task(ord).key;
        const found = artifacts.get(ord);
        if (!found) continue;
        for (const record of recordsFor(kind, task, found)) yield { line: JSON.stringify(record), item: false };
      }
    }
  }

  return writeBundle(path, { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, kind, runId, name: run.name, snapshot: run.snapshot, provenance: run.provenance, createdAt: new Date().toISOString(), tool: `assay ${toolVersion()}` }, body());
}

function recordsFor(kind: ArtifactKind, task: string, artifacts: Awaited<ReturnType<Store['loadArtifacts']>> extends Map<number, infer A> ? A : never): ArtifactRecord[] {
  switch (kind) {
    case 'generation':
      return artifacts.candidates.flatMap((candidate, sample) => (candidate ? [{ type: 'generation' as const, task, sample, candidate }] : []));
    case 'reduction':
      return artifacts.reduced ? [{ type: 'reduction', task, reduced: storeReduction(artifacts.reduced, (sample) => artifacts.candidates[sample]?.text) }] : [];
    case 'parse':
      return artifacts.parsed ? [{ type: 'parse', task, outcome: artifacts.parsed }] : [];
    case 'score':
      return artifacts.scores ? [{ type: 'score', task, scores: artifacts.scores }] : [];
    case 'evaluation':
      return artifacts.judgments ? [{ type: 'evaluation', task, judgments: artifacts.judgments, scores: Object.assign({}, ...artifacts.judgments.map((judgment) => judgment.scores)) }] : [];
  }
}

export const exportGenerationBundle = (store: Store, runId: string, path: string) => exportBundle(store, runId, 'generation', path);
export const exportReductionBundle = (store: Store, runId: string, path: string) => exportBundle(store, runId, 'reduction', path);
export const exportParseBundle = (store: Store, runId: string, path: string) => exportBundle(store, runId, 'parse', path);
export const exportScoreBundle = (store: Store, runId: string, path: string) => exportBundle(store, runId, 'score', path);
export const exportEvaluationBundle = (store: Store, runId: string, path: string) => exportBundle(store, runId, 'evaluation', path);
