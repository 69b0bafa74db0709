import { closeSync, existsSync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { processAlive } from '../../core/process-alive.js';
import { canonicalJson, sha256Hex } from '../../core/canonical-json.js';
import { UserError } from '../../core/errors.js';
import type { LogRecord } from '../../core/records.js';

export const STATE_FORMAT = 'assay.progressive-state';
export const STATE_VERSION = 1;

/** Where a task stands in a progressive save. */
export type TaskOutcome = 'pending' | 'completed' | 'failed';

export interface ProgressiveState {
  readonly format: typeof STATE_FORMAT;
  readonly version: typeof STATE_VERSION;
  readonly outputPath: string;
  readonly configPath: string | null;
  readonly config: unknown;
  readonly configHash: string;
  /** Dataset id -> absolute path of its file. */
  readonly datasetPaths: Readonly<Record<string, string>>;
  readonly manifest: { readonly tasks: number; readonly digest: string };
  /** Task positions (in manifest order) that are completed / failed, as base64 bitmaps. */
  readonly completed: string;
  readonly failed: string;
  readonly counts: { readonly total: number; readonly completed: number; readonly failed: number; readonly pending: number };
  readonly tmp: { readonly file: string; readonly records: number; readonly bytes: number };
  readonly startedAt: string;
  readonly updatedAt: string;
  /** Whatever the owner of the save keeps with it (the files store: run id, snapshot, provenance, status). */
  readonly extra: Readonly<Record<string, unknown>>;
}

export interface ProgressiveSaveOptions {
  /** The final output file (`results.json` or `results.csv`); the sidecars sit beside it. */
  readonly outputPath: string;
  /** The configuration the job runs with; its hash guards resumes. */
  readonly config: unknown;
  readonly configPath?: string | null;
  /** Dataset id -> path, checked on resume; a single path is stored as `dataset`. */
  readonly datasetPaths: Readonly<Record<string, string>> | string;
}

export interface StatusReport {
  readonly statePath: string;
  readonly outputPath: string;
  readonly total: number;
  readonly completed: number;
  readonly failed: number;
  readonly pending: number;
  readonly percent: number;
  readonly tmpExists: boolean;
  readonly tmpBytes: number;
  readonly startedAt: string;
  readonly updatedAt: string;
  /** Tasks finished per second between the start and the last update. */
  readonly ratePerSecond: number;
  /** Seconds left at that rate; null when it cannot be told, or when no process is running the job. */
  readonly etaSeconds: number | null;
  /**
   * Whether a process is running the job: its `.lock` names a live process of this machine (or one of
   * another machine, which cannot be checked from here). A job killed or stopped has no live holder.
   */
  readonly running: boolean;
  readonly holder: { readonly pid: number; readonly host: string } | null;
  /**
   * The stage the job was last asked to reach (`--until-stage`, else judge): completed, failed and pending
   * count tasks against it. Null in a state file that does not say.
   */
  readonly untilStage: string | null;
  readonly extra: Readonly<Record<string, unknown>>;
}

/** The holder a job's `<output>.lock` names, or null when there is none (or it is not an assay lock). */
function lockHolder(outputPath: string): { pid: number; host: string } | null {
  let holder: unknown;
  try {
    holder = JSON.parse(readFileSync(`${outputPath}.lock`, 'utf8'));
  } catch {
    return null;
  }
  if (holder === null || typeof holder !== 'object') return null;
  const { pid, host } = holder as { pid?: unknown; host?: unknown };
  return Number.isInteger(pid) && typeof host === 'string' ? { pid: pid as number, host } : null;
}

/**
 * The paths at which two configs differ (`prompt.system`, `models[0].options.accuracy`), in the order of
 * the first, at most `limit` of them (the rest are counted in `more`).
 */
export function configDifferences(before: unknown, after: unknown, limit = 3): { paths: string[]; more: number } {
  const paths: string[] = [];
  let count = 0;
  const walk = (left: unknown, right: unknown, path: string): void => {
    if (canonicalJson(left ?? null) === canonicalJson(right ?? null) && (left === undefined) === (right === undefined)) return;
    const bothArrays = Array.isArray(left) && Array.isArray(right);
    const bothObjects = !bothArrays && isPlainObject(left) && isPlainObject(right);
    if (bothArrays) {
      for (let index = 0; index < Math.max(left.length, right.length); index++) walk(left[index], right[index], `${path}[${index}]`);
      return;
    }
    if (bothObjects) {
      const keys = [...Object.keys(left), ...Object.keys(right).filter((key) => !(key in left))];
      for (const key of keys) walk(left[key], right[key], /^[A-Za-z_$][\w$]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`);
      return;
    }
    count++;
    if (paths.length < limit) paths.push(path || '(the whole configuration)');
  };
  walk(before, after, '');
  return { paths, more: count - paths.length };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const STATE_INTERVAL_MS = 1000;

/** A config's hash for resume checks: canonical JSON, so layout does not matter. */
export function configHash(config: unknown): string {
  return sha256Hex(canonicalJson(config));
}

function asPaths(paths: ProgressiveSaveOptions['datasetPaths']): Record<string, string> {
  return typeof paths === 'string' ? { dataset: paths } : { ...paths };
}

/** Writes a file so that a reader sees the old or the new content, never a mix: write, fsync, rename, fsync the folder. */
export function writeFileAtomic(path: string, content: string | Buffer): void {
  const temporary = `${path}.${process.pid}.partial`;
  try {
    const descriptor = openSync(temporary, 'w');
    try {
      writeSync(descriptor, typeof content === 'string' ? Buffer.from(content) : content);
    } finally {
      closeSync(descriptor);
    }
    syncAndRename(temporary, path);
  } catch (error) {
    // The old file is still in place; only the half-written copy goes.
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** Makes a finished file durable and moves it into place: fsync it, rename it, fsync the folder. */
export function syncAndRename(temporary: string, path: string): void {
  const descriptor = openSync(temporary, 'r+');
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
  renameSync(temporary, path);
  const folder = openSync(dirname(path), 'r');
  try {
    fsyncSync(folder);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    closeSync(folder);
  }
}

class Bitmap {
  constructor(readonly bytes: Uint8Array) {}
  static of(size: number): Bitmap {
    return new Bitmap(new Uint8Array(Math.ceil(size / 8)));
  }
  static decode(text: string, size: number): Bitmap {
    const bytes = new Uint8Array(Math.ceil(size / 8));
    bytes.set(Buffer.from(text, 'base64').subarray(0, bytes.length));
    return new Bitmap(bytes);
  }
  has(index: number): boolean {
    return (this.bytes[index >> 3]! & (1 << (index & 7))) !== 0;
  }
  set(index: number, on: boolean): void {
    if (on) this.bytes[index >> 3]! |= 1 << (index & 7);
    else this.bytes[index >> 3]! &= ~(1 << (index & 7));
  }
  encode(): string {
    return Buffer.from(this.bytes).toString('base64');
  }
}

/**
 * Progressive save: results go to `<output>.tmp` (append-only JSONL, one self-describing record per stage
 * result, fsynced before it counts) and progress to `<output>.state` (replaced atomically, at most once a
 * second). A crash at any point leaves a `.tmp` that is the source of truth and a `.state` a second behind.
 * `finalize` writes the output and removes both.
 */
export class ProgressiveSave {
  readonly outputPath: string;
  readonly statePath: string;
  readonly tmpPath: string;
  private keys: readonly string[] = [];
  private positions: Map<string, number> | undefined;
  private completedSet = Bitmap.of(0);
  private failedSet = Bitmap.of(0);
  private completed = 0;
  private failed = 0;
  private records = 0;
  private bytes = 0;
  private startedAt = new Date().toISOString();
  private descriptor: number | null = null;
  private stateTimer: NodeJS.Timeout | null = null;
  private digest = '';
  extra: Record<string, unknown> = {};

  constructor(private readonly options: ProgressiveSaveOptions) {
    this.outputPath = options.outputPath;
    this.statePath = `${options.outputPath}.state`;
    this.tmpPath = `${options.outputPath}.tmp`;
  }

  /** Starts a job over these tasks (in manifest order): writes a fresh `.state` and an empty `.tmp`. */
  initialize(taskKeys: readonly string[], extra: Record<string, unknown> = {}): void {
    this.keys = taskKeys;
    this.positions = undefined;
    this.completedSet = Bitmap.of(taskKeys.length);
    this.failedSet = Bitmap.of(taskKeys.length);
    this.completed = 0;
    this.failed = 0;
    this.records = 0;
    this.bytes = 0;
    this.startedAt = new Date().toISOString();
    this.extra = extra;
    this.digest = manifestDigest(taskKeys);
    this.closeLog();
    writeFileSync(this.tmpPath, '');
    this.descriptor = openSync(this.tmpPath, 'a');
    this.writeState();
  }

  /**
   * Supplies the task keys of a reopened job (the `.state` keeps only their digest); keys that do not match
   * the digest mean the tasks changed, and the job cannot be resumed.
   */
  useManifest(taskKeys: readonly string[]): void {
    if (manifestDigest(taskKeys) !== this.digest) {
      throw new UserError('progressive_manifest_changed', `${this.statePath}: the tasks of this job have changed since it started`, { hint: 'start a new job (another --output)' });
    }
    this.keys = taskKeys;
    this.positions = undefined;
  }

  get totalTasks(): number {
    return this.keys.length;
  }

  get completedCount(): number {
    return this.completed;
  }

  get failedCount(): number {
    return this.failed;
  }

  get recordCount(): number {
    return this.records;
  }

  taskKey(position: number): string {
    return this.keys[position]!;
  }

  private position(key: string): number {
    this.positions ??= new Map(this.keys.map((entry, index) => [entry, index]));
    const position = this.positions.get(key);
    if (position === undefined) throw new UserError('unknown_task', `task '${key}' is not in this job's manifest`, { hint: 'results can only be added for the tasks the job was initialized with' });
    return position;
  }

  /** Marks where a task stands (completed and failed count for the `.state`; pending undoes both). */
  mark(position: number, outcome: TaskOutcome): void {
    const wasCompleted = this.completedSet.has(position);
    const wasFailed = this.failedSet.has(position);
    this.completedSet.set(position, outcome === 'completed');
    this.failedSet.set(position, outcome === 'failed');
    this.completed += (outcome === 'completed' ? 1 : 0) - (wasCompleted ? 1 : 0);
    this.failed += (outcome === 'failed' ? 1 : 0) - (wasFailed ? 1 : 0);
    this.scheduleState();
  }

  /** Appends records and makes them durable (one write, one fdatasync) before returning. */
  append(records: readonly LogRecord[]): void {
    if (records.length === 0) return;
    if (this.descriptor === null) throw new Error('progressive save is not initialized');
    const text = records.map((record) => JSON.stringify(record)).join('\n') + '\n';
    const buffer = Buffer.from(text);
    try {
      // A write can be short (a disk filling up): go on until every byte is written or the disk refuses.
      for (let written = 0; written < buffer.length; ) written += writeSync(this.descriptor, buffer, written);
      fdatasyncSync(this.descriptor);
    } catch (error) {
      // A write cut short (a full disk) must not leave half a line for the next append to follow.
      try {
        ftruncateSync(this.descriptor, this.bytes);
      } catch {
        // the next open repairs a torn last line
      }
      throw error;
    }
    this.records += records.length;
    this.bytes += buffer.length;
    this.scheduleState();
  }

  /** The seed-style single result: a record for a task of the manifest (refused otherwise), then its outcome. */
  addResult(record: LogRecord & { readonly task: string }, outcome: TaskOutcome = 'completed'): void {
    const position = this.position(record.task);
    this.append([record]);
    this.mark(position, outcome);
  }

  pendingTaskKeys(): string[] {
    return this.keys.filter((_, index) => !this.completedSet.has(index));
  }

  failedTaskKeys(): string[] {
    return this.keys.filter((_, index) => this.failedSet.has(index));
  }

  /** Whether this job can be resumed with a config and dataset paths; when not, why. */
  isCompatible(config: unknown, datasetPaths: ProgressiveSaveOptions['datasetPaths']): { compatible: boolean; reason?: string } {
    if (configHash(config) !== configHash(this.options.config)) {
      const { paths, more } = configDifferences(this.options.config, config);
      const which = paths.length > 0 ? ` (${paths.join(', ')}${more > 0 ? ` and ${more} more` : ''})` : '';
      return { compatible: false, reason: `configuration has changed since the job started${which}` };
    }
    const before = asPaths(this.options.datasetPaths);
    const after = asPaths(datasetPaths);
    for (const [id, path] of Object.entries(before)) {
      if (after[id] !== undefined && after[id] !== path) return { compatible: false, reason: `dataset path changed: ${path} -> ${after[id]}` };
      if (after[id] === undefined) return { compatible: false, reason: `dataset '${id}' (${path}) is no longer in the configuration` };
    }
    return { compatible: true };
  }

  private scheduleState(): void {
    if (this.stateTimer) return;
    this.stateTimer = setTimeout(() => {
      this.stateTimer = null;
      try {
        this.writeState();
      } catch {
        // The .state is a summary of the .tmp, rewritten on the next change and on close; a write the disk
        // refuses here surfaces through the next append or close instead of crashing a timer.
      }
    }, STATE_INTERVAL_MS);
    this.stateTimer.unref();
  }

  /** Rewrites the `.state` now (atomically). */
  writeState(): void {
    if (this.stateTimer) {
      clearTimeout(this.stateTimer);
      this.stateTimer = null;
    }
    const total = this.keys.length;
    const state: ProgressiveState = {
      format: STATE_FORMAT,
      version: STATE_VERSION,
      outputPath: this.outputPath,
      configPath: this.options.configPath ?? null,
      config: this.options.config,
      configHash: configHash(this.options.config),
      datasetPaths: asPaths(this.options.datasetPaths),
      manifest: { tasks: total, digest: this.digest },
      completed: this.completedSet.encode(),
      failed: this.failedSet.encode(),
      counts: { total, completed: this.completed, failed: this.failed, pending: total - this.completed },
      tmp: { file: basename(this.tmpPath), records: this.records, bytes: this.bytes },
      startedAt: this.startedAt,
      updatedAt: new Date().toISOString(),
      extra: this.extra,
    };
    writeFileAtomic(this.statePath, JSON.stringify(state));
  }

  /**
   * Reopens a job from its `.state`. The `.tmp` is the source of truth: it is read back (a half-written last
   * line is cut off and the file repaired) and its records returned, for the caller to rebuild the outcomes.
   */
  /**
   * With `readonly` (a reader beside a job that may be running: assay view), a torn last line is left as it
   * is (its writer may be finishing it) and the log is not opened for appending.
   */
  static loadForResume(statePath: string, options: { readonly?: boolean } = {}): { save: ProgressiveSave; records: LogRecord[]; repaired: boolean } {
    const state = readState(statePath);
    const save = new ProgressiveSave({ outputPath: state.outputPath, config: state.config, configPath: state.configPath, datasetPaths: state.datasetPaths });
    if (!existsSync(save.tmpPath)) throw new UserError('progressive_tmp_missing', `${save.tmpPath} is missing, so the results of this job cannot be recovered`, { hint: 'start the job again' });
    save.digest = state.manifest.digest;
    save.completedSet = Bitmap.of(state.manifest.tasks);
    save.failedSet = Bitmap.of(state.manifest.tasks);
    save.startedAt = state.startedAt;
    save.extra = { ...state.extra };
    const { records, validBytes, repaired } = readLog(save.tmpPath);
    if (options.readonly) {
      save.records = records.length;
      save.bytes = validBytes;
      return { save, records, repaired: false };
    }
    if (repaired) {
      const descriptor = openSync(save.tmpPath, 'r+');
      ftruncateSync(descriptor, validBytes);
      fsyncSync(descriptor);
      closeSync(descriptor);
    }
    save.records = records.length;
    save.bytes = validBytes;
    save.descriptor = openSync(save.tmpPath, 'a');
    return { save, records, repaired };
  }

  /**
   * Writes the final output atomically, then removes the sidecars: `write` gets a scratch path to fill (or,
   * for the seed-style API, the output's content as a string).
   */
  async finalize(output: string | ((scratchPath: string) => Promise<void>)): Promise<void> {
    this.closeLog();
    if (this.stateTimer) clearTimeout(this.stateTimer);
    this.stateTimer = null;
    if (typeof output === 'string') writeFileAtomic(this.outputPath, output);
    else {
      const scratch = `${this.outputPath}.${process.pid}.final`;
      try {
        await output(scratch);
        syncAndRename(scratch, this.outputPath);
      } finally {
        rmSync(scratch, { force: true });
      }
    }
    rmSync(this.tmpPath, { force: true });
    rmSync(this.statePath, { force: true });
  }

  /** Flushes the `.state` and closes the log (the job can be resumed later). */
  close(): void {
    try {
      if (this.descriptor !== null) this.writeState();
    } finally {
      this.closeLog();
    }
  }

  private closeLog(): void {
    if (this.descriptor !== null) closeSync(this.descriptor);
    this.descriptor = null;
  }

  /** What `assay status` shows: read from the `.state` alone, so it is cheap while a job is writing. */
  static inspectStateFile(statePath: string): StatusReport {
    const state = readState(statePath);
    const tmpPath = `${state.outputPath}.tmp`;
    const tmpExists = existsSync(tmpPath);
    const seconds = (Date.parse(state.updatedAt) - Date.parse(state.startedAt)) / 1000;
    const finished = state.counts.completed + state.counts.failed;
    const rate = seconds > 0 ? finished / seconds : 0;
    const remaining = state.counts.total - finished;
    const holder = lockHolder(state.outputPath);
    // A lock of another machine cannot be checked from here: its holder is taken at its word.
    const running = holder !== null && (holder.host !== hostname() || processAlive(holder.pid));
    const untilStage = typeof state.extra.untilStage === 'string' ? state.extra.untilStage : null;
    return {
      statePath,
      outputPath: state.outputPath,
      total: state.counts.total,
      completed: state.counts.completed,
      failed: state.counts.failed,
      pending: state.counts.pending,
      percent: state.counts.total === 0 ? 100 : (100 * state.counts.completed) / state.counts.total,
      tmpExists,
      tmpBytes: tmpExists ? statSync(tmpPath).size : 0,
      startedAt: state.startedAt,
      updatedAt: state.updatedAt,
      ratePerSecond: rate,
      etaSeconds: !running ? null : remaining === 0 ? 0 : rate > 0 ? remaining / rate : null,
      running,
      holder,
      untilStage,
      extra: state.extra,
    };
  }

  /**
   * The output file of a job that finished: once every stage is done the sidecars are removed and the
   * output written, so a `<output>.state` that is gone beside an `<output>` that exists means just that.
   */
  static finishedOutput(statePath: string): string | null {
    if (!statePath.endsWith('.state') || existsSync(statePath)) return null;
    const output = resolve(statePath.slice(0, -'.state'.length));
    return existsSync(output) ? output : null;
  }

  /** Task positions marked in the state's bitmaps (for `assay status --tasks`). */
  static stateSets(statePath: string): { completed: (position: number) => boolean; failed: (position: number) => boolean; tasks: number } {
    const state = readState(statePath);
    const completed = Bitmap.decode(state.completed, state.manifest.tasks);
    const failed = Bitmap.decode(state.failed, state.manifest.tasks);
    return { completed: (position) => completed.has(position), failed: (position) => failed.has(position), tasks: state.manifest.tasks };
  }
}

export function manifestDigest(taskKeys: readonly string[]): string {
  const hash = createHash('sha256');
  for (const key of taskKeys) hash.update(key).update('\n');
  return hash.digest('hex');
}

export function readState(statePath: string): ProgressiveState {
  let text: string;
  try {
    text = readFileSync(statePath, 'utf8');
  } catch {
    throw new UserError('state_not_found', `${statePath} does not exist`, { hint: 'progressive-save state files are named <output>.state' });
  }
  let state: ProgressiveState;
  try {
    state = JSON.parse(text) as ProgressiveState;
  } catch {
    throw new UserError('state_invalid', `${statePath} is not a progressive-save state file (not valid JSON)`);
  }
  if (state === null || typeof state !== 'object' || state.format !== STATE_FORMAT) throw new UserError('state_invalid', `${statePath} is not a progressive-save state file`);
  if (state.version !== STATE_VERSION) {
    throw new UserError('state_invalid', `${statePath} has state version ${String(state.version)}; this assay reads version ${STATE_VERSION}`, { hint: 'use the assay version that wrote it' });
  }
  const damaged =
    typeof state.outputPath !== 'string' ||
    typeof state.manifest?.tasks !== 'number' ||
    typeof state.manifest.digest !== 'string' ||
    typeof state.completed !== 'string' ||
    typeof state.failed !== 'string' ||
    state.extra === null ||
    typeof state.extra !== 'object';
  if (damaged) throw new UserError('state_invalid', `${statePath} is damaged (a field is missing or has the wrong type)`, { hint: 'restore it, or delete it with its .tmp to start the job over' });
  return state;
}

/** Reads a JSONL log, tolerating (and reporting) a last line cut off by a crash. */
function readLog(path: string): { records: LogRecord[]; validBytes: number; repaired: boolean } {
  const buffer = readFileSync(path);
  const records: LogRecord[] = [];
  let start = 0;
  let validBytes = 0;
  while (start < buffer.length) {
    const end = buffer.indexOf(10, start);
    if (end === -1) break;
    const line = buffer.subarray(start, end).toString('utf8');
    if (line.trim() !== '') {
      try {
        records.push(JSON.parse(line) as LogRecord);
      } catch {
        throw new UserError('tmp_corrupt', `${path}: record ${records.length + 1} is not valid JSON and is not the last line`, {
          hint: 'the file was changed by something other than assay; restore it or start the job again',
        });
      }
    }
    start = end + 1;
    validBytes = start;
  }
  return { records, validBytes, repaired: validBytes < buffer.length };
}

export function outputFormat(path: string): 'json' | 'csv' {
  return extname(path).toLowerCase() === '.csv' ? 'csv' : 'json';
}
