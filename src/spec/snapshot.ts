import type { ChatRole, GenerationParams } from './model.js';
import type { PluginSpec } from './plugin.js';

export const SNAPSHOT_FORMAT = 'assay.snapshot';
export const SNAPSHOT_VERSION = 1;

export interface DatasetIdentity {
  readonly id: string;
  /** SHA-256 over the canonical JSON of every row, in file order. */
  readonly fingerprint: string;
  readonly itemCount: number;
  /** `choices` (present only when set): targets were read as the letter of one of these options. */
  readonly fields: { readonly input: string; readonly target: string | null; readonly idField: string | null; readonly choices?: string };
  readonly targetParse: PluginSpec | null;
}

export interface ModelIdentity {
  readonly id: string;
  readonly provider: string;
  readonly model: string;
  readonly params: GenerationParams;
  /** Provider options that change answers (e.g. the mock's accuracy); transport settings are excluded. */
  readonly options: Readonly<Record<string, unknown>>;
  /** A system prompt template that replaces the prompts' own for this model's tasks; absent when not set. */
  readonly system?: string;
}

/** A template of one chat turn. */
export interface MessageIdentity {
  readonly role: ChatRole;
  readonly content: string;
}

/**
 * A prompt as written in the config. A prompt that is a system and a user template (or a message list that is
 * exactly that) keeps the two-field form every earlier run was identified by; any other message list is kept
 * whole, in order. `fewShot` is present only when the prompt has examples.
 */
export type PromptIdentity = SystemUserPromptIdentity | MessagesPromptIdentity;

export interface SystemUserPromptIdentity {
  readonly id: string;
  readonly system: string | null;
  readonly user: string;
  readonly fewShot?: FewShotIdentity;
}

export interface MessagesPromptIdentity {
  readonly id: string;
  /** At most one system turn, first; the last turn is the user's. */
  readonly messages: readonly MessageIdentity[];
  readonly fewShot?: FewShotIdentity;
}

/** An example a prompt shows before the item: a row of the example source. */
export interface FewShotExample {
  readonly id: string;
  readonly input: string;
  readonly target: unknown;
  readonly fields: Readonly<Record<string, unknown>>;
}

/**
 * How a prompt's few-shot examples were chosen, and the examples themselves (so a run reopened from its
 * store alone renders the same prompts): the first `k` of `examples` that are not the item itself.
 */
export interface FewShotIdentity {
  /** `dataset`: a dataset of the run (`dataset` names it); `file`: a file of examples outside the run. */
  readonly source: 'dataset' | 'file';
  readonly dataset: string | null;
  /** The example source's content fingerprint and size. */
  readonly fingerprint: string;
  readonly itemCount: number;
  readonly k: number;
  readonly seed: number;
  /** `turns`: user/assistant turns before the item's; `text`: a text block the templates place with `{{fewShot}}`. */
  readonly format: 'turns' | 'text';
  /** The k + 1 examples drawn, in order (one more than k, to stand in for an example that is the item). */
  readonly examples: readonly FewShotExample[];
}

/** A prompt identity's turns in order: the system/user form as one or two turns. */
export function promptMessages(prompt: PromptIdentity): readonly MessageIdentity[] {
  if ('messages' in prompt) return prompt.messages;
  return prompt.system !== null ? [{ role: 'system', content: prompt.system }, { role: 'user', content: prompt.user }] : [{ role: 'user', content: prompt.user }];
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
