import { canonicalJson } from '../core/canonical-json.js';
import { StoreError } from '../core/errors.js';
import { manifestShape } from '../core/manifest.js';
import { applyTaskEvent, initialProgress } from '../core/task-progress.js';
import type { StoredEvent, TaskEvent } from '../spec/event.js';
import type { PipelineShape, RunRecord, Store, StoredItem, TaskProgress, TaskResultRow } from '../spec/store.js';
import { activeOwners, describeOwners } from './active-owners.js';

export type CopyOutcome = 'copied' | 'unchanged';

export interface CopyOptions {
  /** Tasks (and items) read, written and compared per page: what bounds the copy's memory (default 1,000). */
  readonly pageSize?: number;
}

const PAGE = 1_000;

/**
 * Every task row's results of a run, in manifest order, page by page (the numbers only: what a copy must
 * reproduce). A row claimed but never written to holds nothing a copy carries (the copy has no row for it).
 */
async function* resultPages(store: Store, runId: string, pageSize: number): AsyncGenerator<TaskResultRow[]> {
  for (let after = -1; ; ) {
    const page = await store.readResults(runId, after, pageSize);
    const kept = page.filter((row) => row.nextStage !== 0 || row.failed);
    if (kept.length > 0) yield kept;
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.ord;
  }
}

async function* resultRows(store: Store, runId: string, pageSize: number): AsyncGenerator<TaskResultRow> {
  for await (const page of resultPages(store, runId, pageSize)) yield* page;
}

/** Whether two stores hold the same results for a run: both read in step, a page of each at a time. */
async function sameResults(left: Store, right: Store, runId: string, pageSize: number): Promise<boolean> {
  const ours = resultRows(left, runId, pageSize);
  const theirs = resultRows(right, runId, pageSize);
  try {
    for (;;) {
      const [one, other] = await Promise.all([ours.next(), theirs.next()]);
      if (one.done || other.done) return one.done === other.done;
      // Canonical JSON: backends build a row's fields in different orders (the files store, say).
      if (canonicalJson(one.value) !== canonicalJson(other.value)) return false;
    }
  } finally {
    await Promise.all([ours.return(undefined), theirs.return(undefined)]);
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

/** The events that rebuild the run's tasks, a page of tasks at a time, each page's read in one batch (see eventsToCopy). */
async function* eventPages(from: Store, runId: string, pipeline: PipelineShape, pageSize: number): AsyncGenerator<TaskEvent[]> {
  for await (const rows of resultPages(from, runId, pageSize)) {
    const ords = rows.map((row) => row.ord);
    const [artifacts, history] = await Promise.all([from.loadArtifacts(runId, ords), from.readTaskEventsAt(runId, ords)]);
    const events: TaskEvent[] = [];
    for (const ord of ords) {
      for (const event of eventsToCopy(history.get(ord)!, artifacts.get(ord)!.progress, pipeline, from.location, runId, ord)) {
        events.push({ taskOrd: ord, type: event.type, payload: event.payload } as TaskEvent);
      }
    }
    yield events;
  }
}

/** The run's items, a page of positions at a time (items are numbered 0 to taskCount / tasks per item). */
async function* itemPages(from: Store, run: RunRecord, pageSize: number): AsyncGenerator<StoredItem[]> {
  const count = run.taskCount / manifestShape(run.snapshot).perItem;
  for (let start = 0; start < count; start += pageSize) {
    const ords = Array.from({ length: Math.min(pageSize, count - start) }, (_, index) => start + index);
    const found = await from.loadItemsAt(run.runId, ords);
    const missing = ords.find((ord) => !found.has(ord));
    if (missing !== undefined) throw new StoreError(from.location, `item ${missing} of run ${run.runId.slice(0, 12)} is missing`, { hint: 'export it stage by stage with assay export instead' });
    yield ords.map((ord) => found.get(ord)!);
  }
}

/**
 * Copies one whole run from one store to another (any two backends), atomically and page by page: the
 * destination gets it in one `importRun` transaction (items, every task's events, the state they lead to, the
 * source's status) or not at all, and that transaction is fed pages read from the source as it goes, so the
 * copy holds a page of tasks (and of items) in memory, never the run: a million-task run copies in the
 * default heap. The check afterwards (and the one of a run already there) compares the results of both
 * stores in step, a page at a time. A run the destination already holds with the same results is left
 * alone (`unchanged`); one that differs is refused. A run a live process is working on is refused in the
 * source (its state is moving).
 */
export async function copyRun(from: Store, to: Store, runId: string, options: CopyOptions = {}): Promise<CopyOutcome> {
  const pageSize = options.pageSize ?? PAGE;
  const run = await from.getRun(runId);
  if (!run) throw new StoreError(from.location, `no run ${runId} in this store`, { hint: 'list the runs with `assay runs --store FROM`' });
  const busy = await activeOwners(from, runId);
  if (busy.length > 0) throw new StoreError(from.location, `run ${runId.slice(0, 12)} is being worked on by ${describeOwners(busy)}; it is not copied`, { hint: 'copy it when it has stopped' });
  const existing = await to.getRun(runId);
  if (existing) {
    if (existing.status === run.status && (await sameResults(from, to, runId, pageSize))) return 'unchanged';
    throw new StoreError(to.location, `already holds run ${runId.slice(0, 12)} with other results than ${from.location}; it is not overwritten`, {
      hint: 'delete it there first (assay runs rm RUN --yes --store TO) to copy it again',
    });
  }
  const pipeline: PipelineShape = { samples: run.snapshot.samples, hasJudges: run.snapshot.judges.length > 0 };
  await to.importRun({
    runId,
    create: { runId, name: run.name, snapshot: run.snapshot, provenance: run.provenance, items: itemPages(from, run, pageSize), taskCount: run.taskCount, createdAt: run.createdAt },
    events: eventPages(from, runId, pipeline, pageSize),
    status: { status: run.status, completedThroughStage: run.completedThroughStage, interruptReason: run.interruptReason },
  });
  if (!(await sameResults(from, to, runId, pageSize))) {
    await to.deleteRun(runId);
    throw new StoreError(to.location, `the copy of run ${runId.slice(0, 12)} did not come out the same as in ${from.location}; it was removed again`, { hint: 'report this as a bug' });
  }
  return 'copied';
}
