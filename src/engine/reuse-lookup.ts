import { sameCallsMapper } from '../core/generation-groups.js';
import { manifestShape, type ManifestShape } from '../core/manifest.js';
import type { StoredCandidate } from '../spec/event.js';
import type { RunSnapshot } from '../spec/snapshot.js';
import type { ClaimedTask, Store } from '../spec/store.js';

/** A stored answer another run got from the same call, ready to be reused by a task of this run. */
export interface ReusableAnswer {
  readonly runId: string;
  readonly candidate: StoredCandidate;
}

/**
 * Finds answers that other runs in the store already paid for: runs sharing a generation group made the same
 * calls for the tasks of that group (core/generation-groups.ts), so their stored candidates answer ours.
 */
export class ReuseLookup {
  private constructor(
    private readonly store: Store,
    private readonly samples: number,
    private readonly sources: readonly { runId: string; sourceOrd: (ord: number) => number | undefined }[],
  ) {}

  /** The stored runs that made the same calls for some of this run's tasks, newest first. */
  static async open(store: Store, run: { runId: string; snapshot: RunSnapshot; shape: ManifestShape }): Promise<ReuseLookup> {
    const sources = [];
    for (const sourceId of await store.findRunsSharingGenerations(run.runId)) {
      const source = await store.getRun(sourceId);
      if (!source) continue;
      sources.push({ runId: sourceId, sourceOrd: sameCallsMapper(run, { snapshot: source.snapshot, shape: manifestShape(source.snapshot) }) });
    }
    return new ReuseLookup(store, run.snapshot.samples, sources);
  }

  get empty(): boolean {
    return this.sources.length === 0;
  }

  /** With one batched read per source run: the stored answers this batch's tasks can reuse, by task and sample. */
  async find(claimed: readonly ClaimedTask[]): Promise<Map<number, Map<number, ReusableAnswer>>> {
    const reusable = new Map<number, Map<number, ReusableAnswer>>();
    for (const source of this.sources) {
      const wanted = new Map<number, ClaimedTask>();
      for (const task of claimed) {
        if (task.nextStage !== 0) continue;
        const sourceOrd = source.sourceOrd(task.ord);
        if (sourceOrd !== undefined) wanted.set(sourceOrd, task);
      }
      if (wanted.size === 0) continue;
      const artifacts = await this.store.loadArtifacts(source.runId, [...wanted.keys()]);
      for (const [sourceOrd, task] of wanted) {
        const candidates = artifacts.get(sourceOrd)?.candidates ?? [];
        for (let sample = 0; sample < this.samples; sample++) {
          const candidate = candidates[sample];
          if (task.candidateSeqs[sample] != null || !candidate) continue;
          let samples = reusable.get(task.ord);
          if (!samples) reusable.set(task.ord, (samples = new Map()));
          if (!samples.has(sample)) samples.set(sample, { runId: candidate.reusedFrom ?? source.runId, candidate });
        }
      }
    }
    return reusable;
  }
}
