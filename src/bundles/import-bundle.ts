import { createHash } from 'node:crypto';
import { canonicalJson, hashValue } from '../core/canonical-json.js';
import { UserError } from '../core/errors.js';
import { completedThroughStage } from '../core/execution-state.js';
import { createManifest, manifestShape } from '../core/manifest.js';
import { ARTIFACT_KINDS, eventOf, KIND_STAGE, type ArtifactKind, type ArtifactRecord, type ItemRecord } from '../core/records.js';
import { loadReduction } from '../core/reduction.js';
import type { TaskEvent } from '../spec/event.js';
import type { Store, StoredItem, TaskArtifacts } from '../spec/store.js';
import { BUNDLE_FORMAT, BUNDLE_VERSION, bundleLines, type BundleHeader } from './bundle-file.js';

export interface ImportOptions {
  /** Replace artifacts that differ from the bundle's instead of refusing the import. */
  readonly replace?: boolean;
  /** Refuse a bundle of another kind. */
  readonly kind?: ArtifactKind;
}

export interface ImportResult {
  readonly runId: string;
  readonly kind: ArtifactKind;
  readonly records: number;
  /** Records written as new events. */
  readonly imported: number;
  /** Records identical to what the store already had (importing twice is importing once). */
  readonly unchanged: number;
  /** Records that replaced a different artifact (only with `replace`). */
  readonly replaced: number;
  /** Whether the run was created by this import. */
  readonly createdRun: boolean;
}

class BundleRefused extends UserError {
  constructor(path: string, reason: string, hint?: string) {
    super('bundle_refused', `${path}: ${reason}; nothing was imported`, hint ? { hint } : undefined);
  }
}

/** A bundle read and checked on its own (format, run id, checksum, counts, items), ready to import. */
export interface CheckedBundle {
  readonly path: string;
  readonly header: BundleHeader;
  readonly items: readonly StoredItem[];
  readonly records: readonly ArtifactRecord[];
}

/** Reads and checks a whole bundle before any store is touched. */
export async function checkBundle(path: string): Promise<CheckedBundle> {
  let header: BundleHeader | undefined;
  const items: StoredItem[] = [];
  const records: ArtifactRecord[] = [];
  const hash = createHash('sha256');
  let lineNumber = 0;
  try {
    for await (const line of bundleLines(path)) {
      lineNumber++;
      if (header === undefined) {
        let parsed: Partial<BundleHeader>;
        try {
          parsed = JSON.parse(line) as Partial<BundleHeader>;
        } catch {
          throw new BundleRefused(path, 'not an assay bundle (the first line is not JSON)');
        }
        if (parsed.format !== BUNDLE_FORMAT) throw new BundleRefused(path, 'not an assay bundle (no assay.bundle header)');
        if (parsed.version !== BUNDLE_VERSION) throw new BundleRefused(path, `bundle version ${String(parsed.version)} is not supported (this assay reads version ${BUNDLE_VERSION})`);
        if (!ARTIFACT_KINDS.includes(parsed.kind as ArtifactKind)) throw new BundleRefused(path, `unknown bundle kind '${String(parsed.kind)}'`);
        header = parsed as BundleHeader;
        continue;
      }
      hash.update(`${line}\n`);
      let record: { type?: unknown };
      try {
        record = JSON.parse(line) as { type?: unknown };
      } catch {
        throw new BundleRefused(path, `line ${lineNumber} is not valid JSON (the file is damaged or truncated)`);
      }
      if (record.type === 'item') {
        const { type: _type, ...item } = record as ItemRecord;
        items.push(item);
      } else if (record.type === header.kind) {
        records.push(record as ArtifactRecord);
      } else {
        throw new BundleRefused(path, `line ${lineNumber} is a '${String(record.type)}' record in a ${header.kind} bundle`);
      }
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError('bundle_not_found', `${path} does not exist`);
    throw new BundleRefused(path, `cannot be read (${(error as Error).message}); it may be truncated`);
  }
  if (!header) throw new BundleRefused(path, 'the file is empty');
  if (hashValue(header.snapshot) !== header.runId) {
    throw new BundleRefused(path, 'its snapshot does not hash to its run id (the header was altered)');
  }
  if (items.length !== header.items || records.length !== header.records) {
    throw new BundleRefused(path, `it holds ${items.length} items and ${records.length} records, its header says ${header.items} and ${header.records} (truncated?)`);
  }
  if (hash.digest('hex') !== header.sha256) throw new BundleRefused(path, 'checksum mismatch: the records were altered after export');
  checkItems(path, header, items);
  return { path, header, items, records };
}

/** The items must be exactly the rows the snapshot's dataset fingerprints were computed from. */
function checkItems(path: string, header: BundleHeader, items: readonly StoredItem[]): void {
  let offset = 0;
  for (const dataset of header.snapshot.datasets) {
    const rows = items.slice(offset, offset + dataset.itemCount);
    offset += dataset.itemCount;
    const hash = createHash('sha256');
    for (const item of rows) {
      if (item.datasetId !== dataset.id) throw new BundleRefused(path, `item ${item.ord} belongs to dataset '${item.datasetId}', expected '${dataset.id}'`);
      hash.update(canonicalJson(item.fields)).update('\n');
    }
    if (rows.length !== dataset.itemCount || hash.digest('hex') !== dataset.fingerprint) {
      throw new BundleRefused(path, `its items do not match the fingerprint of dataset '${dataset.id}'`);
    }
  }
  if (offset !== items.length) throw new BundleRefused(path, `it holds ${items.length} items, the snapshot has ${offset}`);
}

/** What a record would make current, in the form `loadArtifacts` reports, for comparison. */
function artifactOf(record: ArtifactRecord, existing: TaskArtifacts | undefined): unknown {
  switch (record.type) {
    case 'generation':
      return record.candidate;
    case 'reduction':
      return loadReduction(record.reduced, existing?.candidates ?? []);
    case 'parse':
      return record.outcome;
    case 'score':
      return record.scores;
    case 'evaluation':
      return record.judgments;
  }
}

function currentArtifact(record: ArtifactRecord, existing: TaskArtifacts | undefined): unknown {
  if (!existing) return null;
  switch (record.type) {
    case 'generation':
      return existing.candidates[record.sample] ?? null;
    case 'reduction':
      return existing.reduced;
    case 'parse':
      return existing.parsed;
    case 'score':
      return existing.scores;
    case 'evaluation':
      return existing.judgments;
  }
}

/** Whether a task has what a record of this kind builds on (its upstream stage is done). */
function upstreamMissing(kind: ArtifactKind, existing: TaskArtifacts | undefined): string | null {
  switch (kind) {
    case 'generation':
      return null;
    case 'reduction':
      return existing && existing.candidates.every((candidate) => candidate !== null) ? null : 'generation';
    case 'parse':
      return existing?.reduced ? null : 'reduction';
    case 'score':
      return existing?.parsed ? null : 'parse';
    case 'evaluation':
      return existing?.scores ? null : 'score';
  }
}

/** What an import will write, once every check has passed. */
export interface ImportPlan {
  readonly bundle: CheckedBundle;
  readonly events: readonly TaskEvent[];
  readonly replacedOrds: readonly number[];
  readonly unchanged: number;
  readonly createRun: boolean;
  readonly taskCount: number;
}

/**
 * Checks a bundle against a store (or, when the store does not exist yet, against an empty one) and works out
 * what importing it writes. Refusals carry the reason; nothing is written here.
 */
export async function planImport(store: Store | null, bundle: CheckedBundle, options: ImportOptions = {}): Promise<ImportPlan> {
  const { path, header, items, records } = bundle;
  if (options.kind && header.kind !== options.kind) throw new BundleRefused(path, `this is a ${header.kind} bundle, not a ${options.kind} bundle`);
  const manifest = createManifest(manifestShape(header.snapshot), items);
  const ords = records.map((record, index) => {
    const ord = manifest.locate(record.task);
    if (ord === undefined) throw new BundleRefused(path, `record ${index + 1} names task '${record.task}', which is not a task of run ${header.runId.slice(0, 12)}`);
    if (record.type === 'generation' && (!Number.isInteger(record.sample) || record.sample < 0 || record.sample >= header.snapshot.samples)) {
      throw new BundleRefused(path, `record ${index + 1} has sample ${String(record.sample)}, the run has ${header.snapshot.samples} per task`);
    }
    return ord;
  });

  const existingRun = store ? await store.getRun(header.runId) : undefined;
  if (store && existingRun) {
    const live = (await store.listOwners(header.runId)).filter((owner) => Date.now() - Date.parse(owner.heartbeatAt) < 300_000);
    if (live.length > 0) throw new BundleRefused(path, `run ${header.runId.slice(0, 12)} is being executed by pid ${live[0]!.pid} on ${live[0]!.host}`, 'import when it has stopped');
  }
  const existing = store && existingRun ? await store.loadArtifacts(header.runId, [...new Set(ords)]) : new Map<number, TaskArtifacts>();

  const events: TaskEvent[] = [];
  const replacedOrds = new Set<number>();
  let unchanged = 0;
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    const ord = ords[index]!;
    const artifacts = existing.get(ord);
    const missing = upstreamMissing(header.kind, artifacts);
    if (missing) throw new BundleRefused(path, `task '${record.task}' has no ${missing} in this store yet`, `import the ${missing} bundle first`);
    const current = currentArtifact(record, artifacts);
    if (current !== null) {
      if (canonicalJson(current) === canonicalJson(artifactOf(record, artifacts))) {
        unchanged++;
        continue;
      }
      if (!options.replace) {
        throw new BundleRefused(path, `task '${record.task}' already has a different ${header.kind} in this store`, 'pass --replace to replace it');
      }
      replacedOrds.add(ord);
    }
    events.push(eventOf(record, ord));
  }
  return { bundle, events, replacedOrds: [...replacedOrds], unchanged, createRun: !existingRun, taskCount: manifest.taskCount };
}

/** Writes a planned import: the run if the store lacks it, rewinds for replaced artifacts, then the records as events. */
export async function applyImport(store: Store, plan: ImportPlan): Promise<ImportResult> {
  const { header, items, records } = plan.bundle;
  const createdRun = plan.createRun
    ? await store.createRun({ runId: header.runId, name: header.name, snapshot: header.snapshot, provenance: header.provenance, items, taskCount: plan.taskCount })
    : false;
  if (plan.replacedOrds.length > 0) await store.rewind(header.runId, KIND_STAGE[header.kind], plan.replacedOrds);
  for (let first = 0; first < plan.events.length; first += 2000) {
    await store.appendEvents({ runId: header.runId, owner: null, events: plan.events.slice(first, first + 2000), release: [] });
  }
  const reached = completedThroughStage(await store.getStageHistogram(header.runId));
  const run = await store.getRun(header.runId);
  if (run && run.status !== 'running') await store.setRunStatus(header.runId, reached === null ? 'interrupted' : 'completed', reached);
  return { runId: header.runId, kind: header.kind, records: records.length, imported: plan.events.length, unchanged: plan.unchanged, replaced: plan.replacedOrds.length, createdRun };
}

/**
 * Imports a bundle into a store. Everything is checked first (the file, its run, every record against the
 * snapshot and against what the store holds); only then are the records written, as ordinary events, so
 * state, resume, reports, reuse and replay see them exactly like local work. Importing into a store without
 * the run creates it.
 */
export async function importBundle(store: Store, bundle: string | CheckedBundle, options: ImportOptions = {}): Promise<ImportResult> {
  const checked = typeof bundle === 'string' ? await checkBundle(bundle) : bundle;
  return applyImport(store, await planImport(store, checked, options));
}

type KindImport = (store: Store, bundle: string | CheckedBundle, options?: Omit<ImportOptions, 'kind'>) => Promise<ImportResult>;
const importOf = (kind: ArtifactKind): KindImport => (store, bundle, options) => importBundle(store, bundle, { ...options, kind });
export const importGenerationBundle = importOf('generation');
export const importReductionBundle = importOf('reduction');
export const importParseBundle = importOf('parse');
export const importScoreBundle = importOf('score');
export const importEvaluationBundle = importOf('evaluation');
