import { RunNotFoundError } from '../core/errors.js';
import type { Provenance, RunSnapshot } from '../spec/snapshot.js';
import type { Store } from '../spec/store.js';

/** The identity and provenance of a stored run. */
export async function getRunSnapshot(store: Store, runId: string): Promise<{ runId: string; snapshot: RunSnapshot; provenance: Provenance }> {
  const run = await store.getRun(runId);
  if (!run) throw new RunNotFoundError(runId, store.location);
  return { runId, snapshot: run.snapshot, provenance: run.provenance };
}
