import { createHash } from 'node:crypto';
import { canonicalJson, hashValue } from '../core/canonical-json.js';
import { UserError } from '../core/errors.js';
import { createManifest, manifestShape } from '../core/manifest.js';
import { ARTIFACT_KINDS, eventOf, KIND_STAGE, type ArtifactKind, type ArtifactRecord, type ItemRecord } from '../core/records.js';
import { loadReduction } from '../core/reduction.js';
import type { TaskEvent } from '../spec/event.js';
import type { Store, StoredItem, TaskArtifacts } from '../spec/store.js';
import { basename } from 'node:path';
import type { z } from 'zod';
import { redactDeep } from '../core/redact.js';
import { createJudge, createMetric, createParser, createReducer, findProvider } from '../registry.js';
import type { Provenance, RunSnapshot } from '../spec/snapshot.js';
import { activeOwners, describeOwners } from '../stores/active-owners.js';
import { BUNDLE_FORMAT, READABLE_BUNDLE_VERSIONS, bundleChecksum, bundleLines, type BundleHeader } from './bundle-file.js';
import { firstIssue, headerSchema, itemSchema, RECORD_SCHEMAS } from './bundle-schemas.js';

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

/** Parses one line of JSON; a line too deep or too odd for the parser is refused like any bad line. */
function parseLine(path: string, line: string, lineNumber: number): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    throw new BundleRefused(path, lineNumber === 1 ? 'not an assay bundle (the first line is not JSON)' : `line ${lineNumber} is not valid JSON (the file is damaged or truncated)`);
  }
}

/** Checks a value against a schema at the boundary; a structure too deep to check is refused, not crashed on. */
function validate<Output>(path: string, schema: z.ZodType<Output>, value: unknown, where: string): Output {
  let result: ReturnType<typeof schema.safeParse>;
  try {
    result = schema.safeParse(value);
  } catch {
    throw new BundleRefused(path, `${where} is nested too deeply to be read`);
  }
  if (!result.success) throw new BundleRefused(path, `${where} is not what an assay bundle holds (${firstIssue(result.error)})`);
  return result.data;
}

/** The header, checked field by field: its format and version first, so a foreign file gets the plain answer. */
function readHeader(path: string, line: string): BundleHeader {
  const parsed = parseLine(path, line, 1) as Partial<BundleHeader> | null;
  if (parsed === null || typeof parsed !== 'object' || parsed.format !== BUNDLE_FORMAT) throw new BundleRefused(path, 'not an assay bundle (no assay.bundle header)');
  if (!READABLE_BUNDLE_VERSIONS.includes(parsed.version as number)) {
    throw new BundleRefused(path, `bundle version ${JSON.stringify(parsed.version)} is not supported (this assay reads versions ${READABLE_BUNDLE_VERSIONS.join(' and ')})`);
  }
  if (!ARTIFACT_KINDS.includes(parsed.kind as ArtifactKind)) throw new BundleRefused(path, `unknown bundle kind ${JSON.stringify(parsed.kind)}`);
  return validate(path, headerSchema, parsed, 'its header') as unknown as BundleHeader;
}

/**
 * The plugins and providers a snapshot names must be ones this assay can rebuild, with arguments they accept:
 * otherwise a later replay or report would fail on data the import let in.
 */
function checkRebuildable(path: string, snapshot: RunSnapshot): void {
  try {
    for (const identity of [...snapshot.models, ...snapshot.evaluators]) findProvider(identity.provider);
    createReducer(snapshot.reduce);
    createParser(snapshot.parse);
    for (const spec of snapshot.metrics) createMetric(spec);
    for (const spec of snapshot.judges) createJudge(spec);
    for (const dataset of snapshot.datasets) if (dataset.targetParse) createParser(dataset.targetParse);
  } catch (error) {
    const reason = UserError.isInstance(error) ? error.message : 'it names a plugin with arguments this assay does not accept';
    throw new BundleRefused(path, `its snapshot cannot be rebuilt here (${reason})`);
  }
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
        header = readHeader(path, line);
        continue;
      }
      hash.update(`${line}\n`);
      const record = parseLine(path, line, lineNumber) as { type?: unknown } | null;
      const type = record !== null && typeof record === 'object' ? record.type : undefined;
      if (type === 'item') {
        const { type: _type, ...item } = validate(path, itemSchema, record, `line ${lineNumber}`);
        items.push(item as StoredItem);
      } else if (type === header.kind) {
        records.push(validate(path, RECORD_SCHEMAS[header.kind] as z.ZodType<unknown>, record, `line ${lineNumber}`) as ArtifactRecord);
      } else {
        throw new BundleRefused(path, `line ${lineNumber} is a ${JSON.stringify(type)} record in a ${header.kind} bundle`);
      }
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError('bundle_not_found', `${path} does not exist`);
    if (code === 'EISDIR') throw new UserError('bundle_not_found', `${path} is a folder, not a bundle`);
    throw new BundleRefused(path, `cannot be read (${(error as Error).message}); it may be truncated`);
  }
  if (!header) throw new BundleRefused(path, 'the file is empty');
  // Damage first: the checksum covers the header (version 2) and the body.
  const body = hash.digest('hex');
  const expected = header.version === 1 ? body : bundleChecksum(header as unknown as Record<string, unknown>, body);
  if (items.length !== header.items || records.length !== header.records) {
    throw new BundleRefused(path, `it holds ${items.length} items and ${records.length} records, its header says ${header.items} and ${header.records} (truncated?)`);
  }
  if (expected !== header.sha256) throw new BundleRefused(path, 'checksum mismatch: the file was altered or damaged after export');
  let snapshotHash: string;
  try {
    snapshotHash = hashValue(header.snapshot);
  } catch {
    throw new BundleRefused(path, 'its snapshot is nested too deeply to be read');
  }
  if (snapshotHash !== header.runId) throw new BundleRefused(path, 'its snapshot does not hash to its run id (the header was altered)');
  checkRebuildable(path, header.snapshot);
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
    const live = await activeOwners(store, header.runId);
    if (live.length > 0) throw new BundleRefused(path, `run ${header.runId.slice(0, 12)} is being executed by ${describeOwners(live)}`, 'import when it has stopped');
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

/**
 * What a run created by an import records of where it came from: the bundle's provenance is kept as data
 * under `origin`; its transport, runtime and prices are never used (a bundle is data, not instructions).
 */
export function importedProvenance(bundle: CheckedBundle): Provenance {
  const given = bundle.header.provenance as unknown as Record<string, unknown>;
  const text = (key: string) => (typeof given[key] === 'string' ? (given[key] as string) : 'unknown');
  return {
    toolVersion: text('toolVersion'),
    nodeVersion: text('nodeVersion'),
    platform: text('platform'),
    arch: text('arch'),
    hostname: text('hostname'),
    gitCommit: typeof given.gitCommit === 'string' ? given.gitCommit : null,
    configPath: null,
    experimentName: text('experimentName'),
    createdAt: text('createdAt'),
    runtime: {},
    transport: {},
    origin: { kind: 'bundle', file: basename(bundle.path), importedAt: new Date().toISOString(), tool: bundle.header.tool, provenance: redactDeep(given) },
  };
}

/**
 * Writes a planned import in one store transaction: the run if the store lacks it, rewinds for replaced
 * artifacts, then the records as events, and the status. A kill at any moment leaves the store as it was or
 * fully imported; a process that took a lease on the run in the meantime makes the store refuse it.
 */
export async function applyImport(store: Store, plan: ImportPlan): Promise<ImportResult> {
  const { header, items, records } = plan.bundle;
  // Processes of this machine that died holding the run are cleared first, as a run would clear them.
  await activeOwners(store, header.runId, { removeInactive: true }).catch(() => []);
  const outcome = await store.importRun({
    runId: header.runId,
    ...(plan.createRun ? { create: { runId: header.runId, name: header.name, snapshot: header.snapshot, provenance: importedProvenance(plan.bundle), items, taskCount: plan.taskCount } } : {}),
    ...(plan.replacedOrds.length > 0 ? { rewind: { stage: KIND_STAGE[header.kind], ords: plan.replacedOrds } } : {}),
    events: plan.events,
  });
  return { runId: header.runId, kind: header.kind, records: records.length, imported: plan.events.length, unchanged: plan.unchanged, replaced: plan.replacedOrds.length, createdRun: outcome.createdRun };
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
