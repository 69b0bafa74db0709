import { JUDGES } from './judges/index.js';
import { METRICS } from './metrics/index.js';
import { PARSERS } from './parsers/index.js';
import { PROVIDERS } from './providers/index.js';
import { REDUCERS } from './reducers/index.js';
import type {
  JudgeDefinition,
  MetricDefinition,
  ParserDefinition,
  PluginDefinition,
  ProviderDefinition,
  ReducerDefinition,
} from './spec/definition.js';
import type { Judge } from './spec/judge.js';
import type { Metric } from './spec/metric.js';
import type { Parser } from './spec/parser.js';
import type { PluginSpec } from './spec/plugin.js';
import type { Reducer } from './spec/reducer.js';
import { InternalError, UserError } from './core/errors.js';

/** The plugin kinds assay knows, by family. Built-ins only for now; the lookups are the one way in. */
export const registry = {
  parsers: PARSERS,
  metrics: METRICS,
  reducers: REDUCERS,
  judges: JUDGES,
  providers: PROVIDERS,
} as const;

function find<Definition extends { kind: string }>(family: readonly Definition[], kind: string, what: string): Definition {
  const definition = family.find((candidate) => candidate.kind === kind);
  if (!definition) {
    throw new UserError('unknown_plugin', `unknown ${what} '${kind}'`, { hint: `expected one of ${family.map((entry) => entry.kind).join(', ')}` });
  }
  return definition;
}

export const findParser = (kind: string): ParserDefinition => find(registry.parsers, kind, 'parser');
export const findMetric = (kind: string): MetricDefinition => find(registry.metrics, kind, 'metric');
export const findReducer = (kind: string): ReducerDefinition => find(registry.reducers, kind, 'reducer');
export const findJudge = (kind: string): JudgeDefinition => find(registry.judges, kind, 'judge');
export const findProvider = (kind: string): ProviderDefinition => find(registry.providers, kind, 'provider');

/** The rebuildable description of a validated config entry `{ kind, ...args }`. */
export function pluginSpec(definition: PluginDefinition<unknown>, entry: { kind: string }): PluginSpec {
  const { kind: _kind, ...args } = entry;
  return { id: definition.kind, version: definition.version, args };
}

/** Rebuilds a plugin from its stored spec; refuses a spec written by a different version of the plugin. */
function instantiate<Instance>(definition: PluginDefinition<Instance>, spec: PluginSpec): Instance {
  if (definition.version !== spec.version) {
    throw new UserError('plugin_version_mismatch', `this run was made with ${spec.id} version ${spec.version}, but this assay has version ${definition.version}`, {
      hint: 'run it with the assay version that created it, or start a new run',
    });
  }
  const parsed = definition.schema.safeParse({ kind: spec.id, ...spec.args });
  if (!parsed.success) throw new InternalError(`stored spec for ${spec.id} no longer validates: ${parsed.error.message}`);
  const { kind: _kind, ...args } = parsed.data as { kind: string };
  return definition.create(args as never);
}

export const createParser = (spec: PluginSpec): Parser => instantiate(findParser(spec.id), spec);
export const createMetric = (spec: PluginSpec): Metric => instantiate(findMetric(spec.id), spec);
export const createReducer = (spec: PluginSpec): Reducer => instantiate(findReducer(spec.id), spec);
export const createJudge = (spec: PluginSpec): Judge => instantiate(findJudge(spec.id), spec);
