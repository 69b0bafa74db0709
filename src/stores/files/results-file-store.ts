import { closeSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { StoreError, UserError } from '../../core/errors.js';
import { completedThroughStage, pipelineOf } from '../../core/execution-state.js';
import { createManifest, describeTask, manifestShape, taskCoordinates, type Manifest, type ManifestShape } from '../../core/manifest.js';
import { storeReduction } from '../../core/reduction.js';
import { RunCounters } from '../../core/run-counters.js';
import { applyTaskEvent, initialProgress } from '../../core/task-progress.js';
import { itemFieldsPage, itemsAt, taskEventsAt } from '../items-in-memory.js';
import type { StoredCandidate, StoredEvent, TaskEvent } from '../../spec/event.js';
import type { FailureRecord } from '../../spec/failure.js';
import type { Judgment } from '../../spec/judge.js';
import type { MetricScore } from '../../spec/metric.js';
import type { ParseOutcome } from '../../spec/parser.js';
import type { ReducedCandidate } from '../../spec/reducer.js';
import type { Provenance, RunSnapshot } from '../../spec/snapshot.js';
import { DONE_INDEX, isStage, stageIndex, type Stage } from '../../spec/stage.js';
import type { ItemFieldsRow, StoredCallReply,
  FailureCountRow,
  FailureRow,
  InterruptReason,
  OwnerRecord,
  PipelineShape,
  RunRecord,
  RunStatus,
  ScoreTotalRow,
  StageHistogramRow,
  Store,
  StoredItem,
  TaskArtifacts,
  TaskProgress,
  TaskRecord,
  TaskResultRow,
  UsageRow,
} from '../../spec/store.js';
import { judgeResult, scoreValues } from '../result-rows.js';
import { scanTaskQuery } from '../task-query.js';
import type { TaskQuery, TaskQueryPage } from '../../spec/store.js';

/** How every results JSON assay writes begins (report/results-file.ts): enough to tell one from a store file. */
const JSON_PREFIX = '{"format":"assay.results"';
/** The header row of a results CSV. */
const CSV_PREFIX = 'task,dataset,item,model,prompt,replicate,stage,';
const RESULTS_VERSION = 1;
const CHUNK = 1 << 20;

/** What a file is, from its first bytes: a results JSON, a results CSV, or neither (or no readable file). */
export function resultsFileKind(path: string): 'json' | 'csv' | null {
  let descriptor: number;
  try {
    descriptor = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(64);
    const read = readSync(descriptor, head, 0, head.length, 0);
    const text = head.toString('utf8', 0, read);
    if (text.startsWith(JSON_PREFIX)) return 'json';
    if (text.startsWith(CSV_PREFIX)) return 'csv';
    return null;
  } catch {
    // A folder, or a file the system will not let us read: not a results file.
    return null;
  } finally {
    closeSync(descriptor);
  }
}

/** The one line a results CSV gets where a run is expected. */
export function resultsCsvError(path: string): UserError {
  return new UserError('results_csv', `${path} is a CSV results file, which holds no run`, {
    hint: 'write the JSON output (--output results.json) to report on a run later',
  });
}

/** One entry of the `results` array, as writeResultsFile writes it. */
interface ResultEntry {
  readonly task: string;
  readonly dataset: string;
  readonly item: string;
  readonly stage: Stage | 'done';
  readonly input: string;
  readonly target: unknown;
  readonly candidates: readonly (StoredCandidate | null)[];
  readonly reduced: ReducedCandidate | null;
  readonly parsed: ParseOutcome | null;
  readonly scores: Readonly<Record<string, MetricScore>> | null;
  readonly judgments: readonly Judgment[] | null;
  readonly failure: (FailureRecord & { readonly stage: Stage }) | null;
}

/** One entry of the `items` array (absent from files written before it was added). */
interface ItemEntry {
  readonly dataset: string;
  readonly item: string;
  readonly input: string;
  readonly target: unknown;
  readonly fields: Readonly<Record<string, unknown>>;
}

interface Metadata {
  readonly runId: string;
  readonly name: string;
  readonly snapshot: RunSnapshot;
  readonly provenance: Provenance;
  readonly createdAt?: string;
  readonly writtenAt?: string;
}

interface Line {
  readonly text: string;
  /** Byte offset of the line in the file, and its length in bytes (without the newline). */
  readonly offset: number;
  readonly bytes: number;
  readonly number: number;
}

/** The lines of a file with their byte positions, read a chunk at a time (a line may span many chunks). */
function* readLines(descriptor: number): Generator<Line> {
  const chunk = Buffer.allocUnsafe(CHUNK);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lineStart = 0;
  let position = 0;
  let number = 0;
  for (;;) {
    const read = readSync(descriptor, chunk, 0, CHUNK, position);
    if (read === 0) break;
    position += read;
    let start = 0;
    for (let end = chunk.indexOf(10, start); end !== -1 && end < read; end = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, end);
      const line = pending.length > 0 ? Buffer.concat([...pending, piece]) : piece;
      number++;
      yield { text: line.toString('utf8'), offset: lineStart, bytes: line.length, number };
      lineStart += line.length + 1;
      pending = [];
      pendingBytes = 0;
      start = end + 1;
    }
    if (start < read) {
      // The chunk buffer is reused: keep a copy of the unfinished line.
      pending.push(Buffer.from(chunk.subarray(start, read)));
      pendingBytes += read - start;
    }
  }
  if (pendingBytes > 0) {
    const line = Buffer.concat(pending);
    yield { text: line.toString('utf8'), offset: lineStart, bytes: line.length, number: number + 1 };
  }
}

/** The events a result entry stands for, each at its sequence number: see `ResultsFileStore`. */
function entryEvents(entry: ResultEntry, ord: number, samples: number): { seq: number; event: TaskEvent }[] {
  const base = ord * (samples + 5);
  const events: { seq: number; event: TaskEvent }[] = [];
  const candidates = entry.candidates ?? [];
  candidates.forEach((candidate, sample) => {
    if (candidate) events.push({ seq: base + sample, event: { taskOrd: ord, type: 'generate-completed', payload: { sample, candidate } } });
  });
  if (entry.reduced) {
    const reduced = storeReduction(entry.reduced, (sample) => candidates[sample]?.text);
    events.push({ seq: base + samples, event: { taskOrd: ord, type: 'reduce-completed', payload: { reduced } } });
  }
  if (entry.parsed) events.push({ seq: base + samples + 1, event: { taskOrd: ord, type: 'parse-completed', payload: { outcome: entry.parsed } } });
  if (entry.scores) events.push({ seq: base + samples + 2, event: { taskOrd: ord, type: 'score-completed', payload: { scores: entry.scores } } });
  if (entry.judgments) {
    events.push({ seq: base + samples + 3, event: { taskOrd: ord, type: 'judge-completed', payload: { judgments: entry.judgments, scores: judgeScores(entry.judgments) } } });
  }
  if (entry.failure) {
    const { stage, ...failure } = entry.failure;
    // A failed generation names no sample in the results file: it is the first one without an answer.
    const sample = Math.max(0, candidates.findIndex((candidate) => candidate === null));
    const payload = stage === 'generate' ? { sample, failure } : { failure };
    events.push({ seq: base + samples + 4, event: { taskOrd: ord, type: `${stage}-failed`, payload } as TaskEvent });
  }
  return events;
}

/** The scores of a judge stage: every judgment's, as the judge-completed event holds them. */
function judgeScores(judgments: readonly Judgment[]): Record<string, MetricScore> {
  return Object.assign({}, ...judgments.map((judgment) => judgment.scores)) as Record<string, MetricScore>;
}

/**
 * A finished job's results JSON (report/results-file.ts, `assay.results` v1), opened as a read-only store
 * holding its one run, so `report`, `quickcheck`, `inspect`, `compare` and `export` work on it after the
 * progressive-save sidecars are gone. Every write is refused with a `StoreError`.
 *
 * It is rebuilt the way the files store rebuilds a job from its `.tmp`: each result entry becomes the events
 * it stands for (a `generate-completed` per answer, then one per later stage it has, or the failure it is stuck
 * on), applied with the same transition (core/task-progress.ts) and counted with the same `RunCounters`. The
 * sequence numbers are synthetic, `ord * (samples + 5) + slot` (one slot per sample, one per later stage, one
 * for the failure), so each task's events are found again without an index. `readTaskEvents` returns these
 * synthesized current events: the file keeps no history, no evaluator replies (`call-completed`) and no
 * stage `calls`.
 *
 * Usage totals are the writer's own (`summary.usage`, which counted every call of every session); a file
 * without them counts the answering calls of its candidates, as RunCounters.addUsage does from events.
 *
 * Memory: the file is read line by line, once, when opened (writeResultsFile puts one item and one result
 * per line). Kept are the items (with their fields), one small result row per task (numbers only, as
 * `readResults` returns them), the failures, and each result's byte range; answers, reductions, judgments
 * (`loadArtifacts`, `getTask`, `readTaskEvents`) are read back from the file when asked for.
 */
export class ResultsFileStore implements Store {
  readonly specificationVersion = 'assay.store.v1' as const;
  readonly kind = 'results-file';
  readonly location: string;
  private descriptor: number | null;
  private metadata!: Metadata;
  private record!: RunRecord;
  private shape!: ManifestShape;
  private pipeline!: PipelineShape;
  private manifest!: Manifest;
  private items: StoredItem[] = [];
  private rows: TaskResultRow[] = [];
  private offsets: number[] = [];
  private lengths: number[] = [];
  private readonly failures = new Map<number, NonNullable<TaskProgress['failure']>>();
  private counters = new RunCounters();
  private usage: UsageRow[] = [];

  private constructor(path: string) {
    this.location = resolve(path);
    try {
      this.descriptor = openSync(this.location, 'r');
    } catch (error) {
      throw new StoreError(this.location, `cannot read the results file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  }

  /** Opens a results JSON; a file that is not one, or is cut short or changed, is refused with the line at fault. */
  static open(path: string): ResultsFileStore {
    const store = new ResultsFileStore(path);
    try {
      store.load();
    } catch (error) {
      store.closeFile();
      throw error;
    }
    return store;
  }

  private damaged(line: number, why: string): StoreError {
    return new StoreError(this.location, `line ${line} of the results file ${why}`, {
      hint: 'it was cut short or changed by something other than assay; restore it, or run the job again',
    });
  }

  private load(): void {
    let section: string | null = null;
    let closed = false;
    let summary: Record<string, unknown> = {};
    let itemsSection = false;
    let position = 0;
    const counted = new RunCounters();
    const parse = (line: Line, text: string): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        throw this.damaged(line.number, 'is not valid JSON');
      }
    };
    for (const line of readLines(this.descriptor!)) {
      const text = line.text.endsWith('\r') ? line.text.slice(0, -1) : line.text;
      if (line.number === 1) {
        const header = parse(line, `${text.replace(/,$/, '')}}`) as { format?: unknown; version?: unknown };
        if (header.format !== 'assay.results') throw new StoreError(this.location, 'is not an assay results file');
        if (header.version !== RESULTS_VERSION) {
          throw new StoreError(this.location, `is a results file of version ${String(header.version)}; this assay reads version ${RESULTS_VERSION}`, { hint: 'use the assay version that wrote it' });
        }
        continue;
      }
      if (text.trim() === '') continue;
      if (closed) throw this.damaged(line.number, 'comes after the end of the results');
      if (section !== null) {
        if (text === ']' || text === '],' || text === ']}') {
          if (section === 'results') {
            if (text !== ']}') throw this.damaged(line.number, 'should close the file');
            closed = true;
          }
          section = null;
          continue;
        }
        const json = text.endsWith(',') ? text.slice(0, -1) : text;
        if (section === 'items') {
          const entry = parse(line, json) as ItemEntry;
          this.items.push({ ord: this.items.length, datasetId: entry.dataset, itemId: entry.item, input: entry.input, target: entry.target ?? null, fields: entry.fields ?? { input: entry.input, target: entry.target } });
        } else if (section === 'results') {
          this.addResult(parse(line, json) as ResultEntry, position++, line, Buffer.byteLength(json), counted);
        }
        continue;
      }
      const key = /^"([A-Za-z]+)":(.*)$/.exec(text);
      if (!key) throw this.damaged(line.number, 'is not laid out as assay writes it (one item or result per line)');
      const [, name, rest] = key;
      if (rest === '[') {
        section = name!;
        if (name === 'items') itemsSection = true;
        if (name === 'results') this.begin(itemsSection);
        continue;
      }
      const value = parse(line, rest!.replace(/,$/, ''));
      if (name === 'metadata') this.metadata = value as Metadata;
      else if (name === 'summary') summary = (value ?? {}) as Record<string, unknown>;
    }
    if (!closed) throw new StoreError(this.location, 'ends before its results do (the file is cut short)', { hint: 'restore it, or run the job again' });
    if (position !== this.manifest.taskCount) {
      throw new StoreError(this.location, `holds ${position} results where its run has ${this.manifest.taskCount} tasks`, { hint: 'restore it, or run the job again' });
    }
    this.finish(summary, counted);
  }

  /** Called at the `results` line: everything before it (metadata, summary, items) has been read. */
  private begin(itemsSection: boolean): void {
    const metadata = this.metadata as Partial<Metadata> | undefined;
    const snapshot = metadata?.snapshot as Partial<RunSnapshot> | undefined;
    if (!metadata || typeof metadata.runId !== 'string' || !snapshot || !Array.isArray(snapshot.models) || !Array.isArray(snapshot.prompts) || !Array.isArray(snapshot.datasets)) {
      throw new StoreError(this.location, 'has no run metadata (runId, snapshot) before its results', { hint: 'restore it, or run the job again' });
    }
    this.shape = manifestShape(this.metadata.snapshot);
    this.pipeline = pipelineOf(this.metadata.snapshot);
    const itemCount = this.metadata.snapshot.datasets.reduce((total, dataset) => total + dataset.itemCount, 0);
    if (itemsSection && this.items.length !== itemCount) {
      throw new StoreError(this.location, `lists ${this.items.length} items where its run has ${itemCount}`, { hint: 'restore it, or run the job again' });
    }
    // Without an items section (a file from an older assay) the items are filled in from the results.
    if (!itemsSection) this.items = new Array<StoredItem>(itemCount);
    this.manifest = createManifest(this.shape, this.items);
    this.counters.bump(0, false, itemCount * this.shape.perItem);
  }

  private addResult(entry: ResultEntry, ord: number, line: Line, bytes: number, counted: RunCounters): void {
    if (ord >= this.manifest.taskCount) throw this.damaged(line.number, `is result ${ord + 1}, but the run has ${this.manifest.taskCount} tasks`);
    const coordinates = taskCoordinates(this.shape, ord);
    let item = this.items[coordinates.itemOrd];
    if (!item) {
      item = { ord: coordinates.itemOrd, datasetId: entry.dataset, itemId: entry.item, input: entry.input, target: entry.target ?? null, fields: { input: entry.input, target: entry.target ?? null } };
      this.items[coordinates.itemOrd] = item;
    }
    const expected = describeTask(this.shape, ord, item).key;
    if (entry.task !== expected) throw this.damaged(line.number, `is task '${entry.task}' where the run's task ${ord + 1} is '${expected}'`);
    const progress = this.replay(entry, ord);
    const recorded = entry.stage === 'done' ? DONE_INDEX : isStage(entry.stage) ? stageIndex(entry.stage) : -1;
    if (recorded !== progress.nextStage || (entry.failure !== null) !== progress.failed) {
      throw this.damaged(line.number, `says task '${entry.task}' is at stage ${String(entry.stage)}, which its results do not match`);
    }
    // As the files store counts: a task moves from pending generate to where it is, with its current scores.
    this.counters.move(initialProgress(this.pipeline.samples), progress);
    if (progress.scoreSeq !== null && entry.scores) this.counters.addScores(coordinates.modelIndex, coordinates.promptIndex, entry.scores, 1);
    if (progress.judgeSeq !== null && entry.judgments) this.counters.addScores(coordinates.modelIndex, coordinates.promptIndex, judgeScores(entry.judgments), 1);
    for (const candidate of entry.candidates ?? []) {
      if (candidate) counted.addUsage({ taskOrd: ord, type: 'generate-completed', payload: { sample: 0, candidate } }, this.shape.modelIds[coordinates.modelIndex]!);
    }
    if (progress.failure) this.failures.set(ord, progress.failure);
    this.offsets.push(line.offset);
    this.lengths.push(bytes);
    const latency = entry.candidates?.[0]?.latencyMs;
    this.rows.push({
      ord,
      nextStage: progress.nextStage,
      failed: progress.failed,
      failure: progress.failure ? { stage: progress.failure.stage, category: progress.failure.category } : null,
      scores: progress.scoreSeq !== null ? scoreValues(entry.scores) : null,
      ...judgeResult(progress.judgeSeq !== null && entry.judgments ? { judgments: entry.judgments, scores: judgeScores(entry.judgments) } : null),
      latencyMs: typeof latency === 'number' ? latency : null,
    });
  }

  /** The task's state, from its entry's events through the transition every store applies. */
  private replay(entry: ResultEntry, ord: number): TaskProgress {
    let progress = initialProgress(this.pipeline.samples);
    for (const { seq, event } of entryEvents(entry, ord, this.pipeline.samples)) progress = applyTaskEvent(progress, event, seq, this.pipeline).progress;
    return progress;
  }

  private finish(summary: Record<string, unknown>, counted: RunCounters): void {
    const histogram = this.counters.histogramRows();
    const reached = completedThroughStage(histogram);
    const statuses: readonly RunStatus[] = ['created', 'running', 'completed', 'partial', 'interrupted'];
    const status = statuses.includes(summary.status as RunStatus) ? (summary.status as RunStatus) : reached === 'judge' ? 'completed' : 'partial';
    const written = this.metadata.writtenAt ?? this.metadata.createdAt ?? new Date(0).toISOString();
    this.record = {
      runId: this.metadata.runId,
      name: this.metadata.name,
      snapshot: this.metadata.snapshot,
      provenance: this.metadata.provenance,
      status,
      completedThroughStage: reached,
      interruptReason: status === 'interrupted' ? ((summary.interruptReason as InterruptReason | null | undefined) ?? null) : null,
      taskCount: this.manifest.taskCount,
      createdAt: this.metadata.createdAt ?? written,
      updatedAt: written,
    };
    const usage = summary.usage;
    this.usage = Array.isArray(usage)
      ? (usage as UsageRow[]).map((row) => ({ model: row.model, stage: row.stage, calls: row.calls, inputTokens: row.inputTokens, outputTokens: row.outputTokens }))
      : counted.usageRows();
  }

  /** The result entry of a task, read back from its byte range in the file. */
  private entry(ord: number): ResultEntry {
    if (this.descriptor === null) throw new StoreError(this.location, 'the results file is closed');
    const buffer = Buffer.alloc(this.lengths[ord]!);
    for (let read = 0; read < buffer.length; ) {
      const got = readSync(this.descriptor, buffer, read, buffer.length - read, this.offsets[ord]! + read);
      if (got === 0) throw new StoreError(this.location, 'the results file changed while it was open', { hint: 'open it again' });
      read += got;
    }
    try {
      return JSON.parse(buffer.toString('utf8')) as ResultEntry;
    } catch {
      throw new StoreError(this.location, 'the results file changed while it was open', { hint: 'open it again' });
    }
  }

  private requireRun(runId: string): void {
    if (runId !== this.record.runId) throw new StoreError(this.location, `no run ${runId} in this results file`);
  }

  private readOnly(): never {
    throw new StoreError(this.location, 'a results file is read-only (it is written once, when its job finishes)', {
      hint: 'to change the run, import it into a store (`assay export generation FILE -o gen.jsonl`, then `assay import gen.jsonl`) or run the job again',
    });
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return runId === this.record.runId ? this.record : undefined;
  }

  async findRuns(idPrefix: string, limit: number): Promise<RunRecord[]> {
    return this.record.runId.startsWith(idPrefix) && limit > 0 ? [this.record] : [];
  }

  async listRuns(): Promise<RunRecord[]> {
    return [this.record];
  }

  async loadItems(runId: string): Promise<StoredItem[]> {
    this.requireRun(runId);
    return this.items;
  }

  async readItemFields(runId: string, fields: readonly string[], afterOrd: number, limit: number): Promise<ItemFieldsRow[]> {
    this.requireRun(runId);
    return itemFieldsPage(this.items, fields, afterOrd, limit);
  }

  async loadItemsAt(runId: string, itemOrds: readonly number[]): Promise<Map<number, StoredItem>> {
    this.requireRun(runId);
    return itemsAt(this.items, itemOrds);
  }

  async getTask(runId: string, key: string): Promise<TaskRecord | undefined> {
    this.requireRun(runId);
    const ord = this.manifest.locate(key);
    if (ord === undefined) return undefined;
    return { ...taskCoordinates(this.shape, ord), key, progress: this.replay(this.entry(ord), ord) };
  }

  async listOwners(runId: string): Promise<OwnerRecord[]> {
    this.requireRun(runId);
    return [];
  }

  async findRunsSharingGenerations(runId: string): Promise<string[]> {
    this.requireRun(runId);
    return [];
  }

  async getStageHistogram(runId: string): Promise<StageHistogramRow[]> {
    this.requireRun(runId);
    return this.counters.histogramRows();
  }

  async countPastStageByModel(runId: string, stage: Stage): Promise<number[]> {
    this.requireRun(runId);
    const counts = new Array<number>(this.shape.modelIds.length).fill(0);
    const index = stageIndex(stage);
    for (const row of this.rows) if (row.nextStage > index) counts[taskCoordinates(this.shape, row.ord).modelIndex]!++;
    return counts;
  }

  async getScoreTotals(runId: string): Promise<ScoreTotalRow[]> {
    this.requireRun(runId);
    return this.counters.scoreRows();
  }

  async getUsageTotals(runId: string): Promise<UsageRow[]> {
    this.requireRun(runId);
    return this.usage.map((row) => ({ ...row }));
  }

  async listFailures(runId: string, limit: number): Promise<FailureRow[]> {
    this.requireRun(runId);
    const order = [...this.failures].sort(([leftOrd, left], [rightOrd, right]) => stageIndex(left.stage) - stageIndex(right.stage) || leftOrd - rightOrd);
    return order.slice(0, Math.max(0, limit)).map(([ord, { stage, ...failure }]) => ({ taskKey: this.manifest.task(ord).key, stage, failure }));
  }

  async countFailures(runId: string): Promise<FailureCountRow[]> {
    this.requireRun(runId);
    const counts = new Map<string, FailureCountRow>();
    for (const failure of this.failures.values()) {
      const key = `${failure.stage}\u0000${failure.category}`;
      counts.set(key, { stage: failure.stage, category: failure.category, count: (counts.get(key)?.count ?? 0) + 1 });
    }
    return [...counts.values()].sort((left, right) => right.count - left.count);
  }

  async loadArtifacts(runId: string, ords: readonly number[]): Promise<Map<number, TaskArtifacts>> {
    this.requireRun(runId);
    const artifacts = new Map<number, TaskArtifacts>();
    for (const ord of ords) {
      if (!Number.isInteger(ord) || ord < 0 || ord >= this.rows.length) continue;
      const entry = this.entry(ord);
      const progress = this.replay(entry, ord);
      artifacts.set(ord, {
        progress,
        candidates: progress.candidateSeqs.map((seq, sample) => (seq === null ? null : (entry.candidates[sample] ?? null))),
        reduced: progress.reduceSeq !== null ? entry.reduced : null,
        parsed: progress.parseSeq !== null ? entry.parsed : null,
        scores: progress.scoreSeq !== null ? entry.scores : null,
        judgments: progress.judgeSeq !== null ? entry.judgments : null,
      });
    }
    return artifacts;
  }

  async readResults(runId: string, afterOrd: number, limit: number): Promise<TaskResultRow[]> {
    this.requireRun(runId);
    const start = Math.max(0, Math.floor(afterOrd) + 1);
    return this.rows.slice(start, start + Math.max(0, limit));
  }

  /** The task's current events, synthesized from its entry (the file keeps no history): see the class comment. */
  /** A results file keeps no evaluator call events: nothing to serve from it. */
  async findCallReplies(_keys: readonly string[]): Promise<Map<string, StoredCallReply>> {
    return new Map();
  }

  /** Answered from the run held in memory (stores/task-query.ts). */
  async queryTasks(runId: string, query: TaskQuery): Promise<TaskQueryPage> {
    return scanTaskQuery(this, runId, query);
  }

  async readTaskEvents(runId: string, ord: number): Promise<StoredEvent[]> {
    this.requireRun(runId);
    if (!Number.isInteger(ord) || ord < 0 || ord >= this.rows.length) return [];
    return entryEvents(this.entry(ord), ord, this.pipeline.samples).map(({ seq, event }) => ({
      seq,
      runId,
      taskOrd: ord,
      type: event.type,
      payload: event.payload,
      createdAt: this.record.updatedAt,
    }));
  }

  /** Synthesized per task from the entries held in memory (see readTaskEvents). */
  readTaskEventsAt(runId: string, ords: readonly number[]): Promise<Map<number, StoredEvent[]>> {
    return taskEventsAt(ords, (ord) => this.readTaskEvents(runId, ord));
  }

  // Every write is refused: the file is what a finished job wrote, and it stays byte for byte as it is.

  async createRun(): Promise<boolean> {
    return this.readOnly();
  }

  async deleteRun(): Promise<void> {
    this.readOnly();
  }

  async setRunStatus(): Promise<void> {
    this.readOnly();
  }

  async appendRunEvent(): Promise<void> {
    this.readOnly();
  }

  async registerOwner(): Promise<OwnerRecord> {
    return this.readOnly();
  }

  async heartbeat(): Promise<never> {
    return this.readOnly();
  }

  async releaseOwner(): Promise<void> {
    this.readOnly();
  }

  async reserveCalls(): Promise<never> {
    return this.readOnly();
  }

  async pauseModel(): Promise<void> {
    this.readOnly();
  }

  async claimTasks(): Promise<never> {
    return this.readOnly();
  }

  async appendEvents(): Promise<never> {
    return this.readOnly();
  }

  async importRun(): Promise<never> {
    return this.readOnly();
  }

  async resetFailures(): Promise<number> {
    return this.readOnly();
  }

  async rewind(): Promise<number> {
    return this.readOnly();
  }

  private closeFile(): void {
    if (this.descriptor !== null) closeSync(this.descriptor);
    this.descriptor = null;
  }

  async close(): Promise<void> {
    this.closeFile();
  }
}
