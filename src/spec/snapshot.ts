import type { GenerationParams } from './model.js';
import type { PluginSpec } from './plugin.js';

export const SNAPSHOT_FORMAT = 'assay.snapshot';
export const SNAPSHOT_VERSION = 1;

export interface DatasetIdentity {
  readonly id: string;
  /** SHA-256 over the canonical JSON of every row, in file order. */
  readonly fingerprint: string;
  readonly itemCount: number;
  readonly fields: { readonly input: string; readonly target: string | null; readonly idField: string | null };
  readonly targetParse: PluginSpec | null;
}

export interface ModelIdentity {
  readonly id: string;
  readonly provider: string;
  readonly model: string;
  readonly params: GenerationParams;
  /** Provider options that change answers (e.g. the mock's accuracy); transport settings are excluded. */
  readonly options: Readonly<Record<string, unknown>>;
}

export interface PromptIdentity {
  readonly id: string;
  readonly system: string | null;
  readonly user: string;
}

/**
 * Everything that changes results. The run id is the SHA-256 of this document's canonical JSON, so two
 * configs that compute the same thing share a run, whatever their layout, paths or runtime settings.
 */
export interface RunSnapshot {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly version: typeof SNAPSHOT_VERSION;
  readonly datasets: readonly DatasetIdentity[];
  readonly models: readonly ModelIdentity[];
  /** Models that read answers (parsing models, judges, best-of selectors); they get no tasks of their own. */
  readonly evaluators: readonly ModelIdentity[];
  readonly prompts: readonly PromptIdentity[];
  readonly samples: number;
  readonly replicates: number;
  readonly seed: number;
  readonly reduce: PluginSpec;
  readonly parse: PluginSpec;
  readonly metrics: readonly PluginSpec[];
  readonly judges: readonly PluginSpec[];
}

/** Recorded with a run, never hashed: where, when and how it was executed. */
export interface Provenance {
  readonly toolVersion: string;
  readonly nodeVersion: string;
  readonly platform: string;
  readonly arch: string;
  readonly hostname: string;
  readonly gitCommit: string | null;
  readonly configPath: string | null;
  readonly experimentName: string;
  readonly createdAt: string;
  readonly runtime: Readonly<Record<string, unknown>>;
  /** Per model: base URL and the *name* of the env var holding its key. Never the key itself. */
  readonly transport: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /**
   * Per model: the price (USD per million tokens) in force when the run was created, and where it came from,
   * so reading a run's cost needs no price table and does not change when the table does.
   */
  readonly prices?: Readonly<Record<string, { readonly input: number; readonly output: number; readonly source: string } | null>>;
  /**
   * Set on a run created by importing a bundle. What the bundle said about transport and prices is kept here
   * as data only: it is never used to make a call or to price one (`transport` and `prices` above stay empty).
   */
  readonly origin?: ImportedOrigin;
}

export interface ImportedOrigin {
  readonly kind: 'bundle';
  /** The bundle's file name, when it was imported, and the tool that wrote it. */
  readonly file: string;
  readonly importedAt: string;
  readonly tool: string;
  /** The bundle's provenance as it came, transport and prices included. */
  readonly provenance: Readonly<Record<string, unknown>>;
}
