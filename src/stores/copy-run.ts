import { StoreError } from '../core/errors.js';
import { applyTaskEvent, initialProgress } from '../core/task-progress.js';
import type { StoredEvent, TaskEvent } from '../spec/event.js';
import type { PipelineShape, Store, TaskProgress, TaskResultRow } from '../spec/store.js';
import { activeOwners, describeOwners } from './active-owners.js';

export type CopyOutcome = 'copied' | 'unchanged';

const PAGE = 1_000;

/** Every task row's results of a run, in manifest order (the numbers only: what a copy must reproduce). */
async function allResults(store: Store, runId: string): Promise<TaskResultRow[]> {
  const rows: TaskResultRow[] = [];
  for (let after = -1; ; ) {
    const page = await store.readResults(runId, after, PAGE);
    // A row claimed but never written to holds nothing a copy carries (the copy has no row for it).
    rows.push(...page.filter((row) => row.nextStage !== 0 || row.failed));
    if (page.length < PAGE) return rows;
    after = page[page.length - 1]!.ord;
  }
}

function sameProgress(left: TaskProgress, right: TaskProgress, seqMap: (seq: number | null) => number | null): boolean {
  return (
    left.nextStage === right.nextStage &&
    left.failed === right.failed &&
    JSON.stringify(left.candidateSeqs) === JSON.stringify(right.candidateSeqs.map(seqMap)) &&
    left.reduceSeq === seqMap(right.reduceSeq) &&
    left.parseSeq === seqMap(right.parseSeq) &&
    left.scoreSeq === seqMap(right.scoreSeq) &&
    left.judgeSeq === seqMap(right.judgeSeq)
  );
}

function fold(events: readonly StoredEvent[], pipeline: PipelineShape): TaskProgress {
  let progress = initialProgress(pipeline.samples);
  for (const event of events) progress = applyTaskEvent(progress, event as unknown as TaskEvent, event.seq, pipeline).progress;
  return progress;
}

/**
 * The events that rebuild a task's current state in another store. Its whole history when replaying it
 * gives the state the source holds; after a rewind (whose run-level marker is not a task event) only the
 * events the current state points at, the calls it paid for, and its current failure.
 */
function eventsToCopy(events: readonly StoredEvent[], source: TaskProgress, pipeline: PipelineShape, location: string, runId: string, ord: number): StoredEvent[] {
  const identity = (seq: number | null) => seq;
  if (sameProgress(fold(events, pipeline), source, identity)) return [...events];
  const current = new Set([...source.candidateSeqs, source.reduceSeq, source.parseSeq, source.scoreSeq, source.judgeSeq].filter((seq): seq is number => seq !== null));
  const failure = source.failed ? events.filter((event) => event.type.endsWith('-failed')).at(-1) : undefined;
  const kept = events.filter((event) => current.has(event.seq) || event.type === 'call-completed' || event === failure);
  if (!sameProgress(fold(kept, pipeline), source, identity)) {
    throw new StoreError(location, `task ${ord} of run ${runId.slice(0, 12)} cannot be rebuilt from its events`, { hint: 'export it stage by stage with assay export instead' });
  }
  return kept;
}

/**
 * Copies one whole run from one store to another (any two backends), atomically: the destination gets it in
 * one `importRun` transaction (items, every task's events, the state they lead to) or not at all. A run the
 * destination already holds with the same results is left alone (`unchanged`); one that differs is refused.
 * A run a live process is working on is refused in the source (its state is moving).
 */
export async function copyRun(from: Store, to: Store, runId: string): Promise<CopyOutcome> {
  const run = await from.getRun(runId);
  if (!run) throw new StoreError(from.location, `no run ${runId} in this store`, { hint: 'list the runs with `assay runs --store FROM`' });
  const busy = await activeOwners(from, runId);
  if (busy.length > 0) throw new StoreError(from.location, `run ${runId.slice(0, 12)} is being worked on by ${describeOwners(busy)}; it is not copied`, { hint: 'copy it when it has stopped' });
  const results = await allResults(from, runId);
  const existing = await to.getRun(runId);
  if (existing) {
    const theirs = await allResults(to, runId);
    if (JSON.stringify(theirs) === JSON.stringify(results) && existing.status === run.status) return 'unchanged';
    throw new StoreError(to.location, `already holds run ${runId.slice(0, 12)} with other results than ${from.location}; it is not overwritten`, {
      hint: 'delete it there first (assay runs rm RUN --yes --store TO) to copy it again',
    });
  }
  const pipeline: PipelineShape = { samples: run.snapshot.samples, hasJudges: run.snapshot.judges.length > 0 };
  const ords = results.map((row) => row.ord);
  const events: TaskEvent[] = [];
  for (let start = 0; start < ords.length; start += PAGE) {
    const page = ords.slice(start, start + PAGE);
    const artifacts = await from.loadArtifacts(runId, page);
    for (const ord of page) {
      const stored = await from.readTaskEvents(runId, ord);
      for (const event of eventsToCopy(stored, artifacts.get(ord)!.progress, pipeline, from.location, runId, ord)) {
        events.push({ taskOrd: ord, type: event.type, payload: event.payload } as TaskEvent);
      }
    }
  }
  const items = await from.loadItems(runId);
  await to.importRun({ runId, create: { runId, name: run.name, snapshot: run.snapshot, provenance: run.provenance, items, taskCount: run.taskCount }, events });
  await to.setRunStatus(runId, run.status, run.completedThroughStage, run.interruptReason ?? undefined);
  const copied = await allResults(to, runId);
  if (JSON.stringify(copied) !== JSON.stringify(results)) {
    await to.deleteRun(runId);
    throw new StoreError(to.location, `the copy of run ${runId.slice(0, 12)} did not come out the same as in ${from.location}; it was removed again`, { hint: 'report this as a bug' });
  }
  return 'copied';
}
