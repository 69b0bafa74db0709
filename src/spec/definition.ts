import type { z } from 'zod';
import type { Judge } from './judge.js';
import type { ModelIdentity } from './snapshot.js';
import type { Metric } from './metric.js';
import type { LanguageModel } from './model.js';
import type { Parser } from './parser.js';
import type { Reducer } from './reducer.js';

/** The validated args of a plugin: its config entry without `kind`. */
export type PluginArgs<Schema extends z.ZodType> = Omit<z.output<Schema>, 'kind'>;

/**
 * How a built-in (or registered) plugin is declared: a kind, a version that changes whenever its behaviour
 * does, a strict schema for its config entry (including `kind`), and a factory from the validated args.
 */
export interface PluginDefinition<Instance, Schema extends z.ZodType = z.ZodType> {
  readonly kind: string;
  readonly version: string;
  readonly description: string;
  readonly schema: Schema;
  create(args: PluginArgs<Schema>): Instance;
}

export type ParserDefinition = PluginDefinition<Parser>;
export interface MetricDefinition extends PluginDefinition<Metric> {
  /** Whether the metric compares against the item's target (so the dataset must have one). */
  readonly requiresTarget: boolean;
}
export type ReducerDefinition = PluginDefinition<Reducer>;
export type JudgeDefinition = PluginDefinition<Judge>;

/** Typed helpers: each checks `create` against its own schema, then erases the schema type for registries. */
export function defineParser<Schema extends z.ZodType>(definition: PluginDefinition<Parser, Schema>): ParserDefinition {
  return definition as unknown as ParserDefinition;
}

export function defineMetric<Schema extends z.ZodType>(
  definition: PluginDefinition<Metric, Schema> & { readonly requiresTarget: boolean },
): MetricDefinition {
  return definition as unknown as MetricDefinition;
}

export function defineReducer<Schema extends z.ZodType>(definition: PluginDefinition<Reducer, Schema>): ReducerDefinition {
  return definition as unknown as ReducerDefinition;
}

export function defineJudge<Schema extends z.ZodType>(definition: PluginDefinition<Judge, Schema>): JudgeDefinition {
  return definition as unknown as JudgeDefinition;
}

/** The environment a provider reads its secrets from; passed in so tests and libraries control it. */
export interface ProviderContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory that relative paths in the model's config resolve against. */
  readonly directory: string;
}

/**
 * A provider kind for `models[].provider`. `identity` picks what changes answers (it is hashed into the run
 * id); `transport` picks what is recorded as provenance only (base URL, the *name* of the key's env var).
 */
export interface ProviderDefinition<Schema extends z.ZodType = z.ZodType> {
  readonly kind: string;
  readonly description: string;
  readonly schema: Schema;
  /** Reads files the identity depends on (e.g. recorded answers) relative to the config's directory. */
  identity(config: z.output<Schema>, context: ProviderContext): { readonly model: string; readonly options: Readonly<Record<string, unknown>> };
  transport(config: z.output<Schema>, context: ProviderContext): Readonly<Record<string, unknown>>;
  create(config: z.output<Schema>, context: ProviderContext): LanguageModel;
  /** Rebuilds a config entry from what a stored run recorded (identity and transport), for runs reopened without their config. */
  restore(identity: ModelIdentity, transport: Readonly<Record<string, unknown>>): Record<string, unknown>;
}

export function defineProvider<Schema extends z.ZodType>(definition: ProviderDefinition<Schema>): ProviderDefinition {
  return definition as unknown as ProviderDefinition;
}
