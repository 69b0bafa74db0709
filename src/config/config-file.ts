import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError, UserError } from '../core/errors.js';
import { experimentSchema, type ExperimentConfig } from './experiment-schema.js';
import { knownKeysAt } from './schema-walk.js';
import { findLiteralSecret } from './secrets.js';
import { lineOf } from './yaml-location.js';
import { explainIssue, formatPath } from './zod-issue.js';

/** Where a config came from; relative paths inside it resolve against `directory`. */
export interface ConfigSource {
  /** Absolute path of the file, or null for a config given in code. */
  readonly path: string | null;
  readonly directory: string;
  /** `file:line` of a field path, for errors found after validation. */
  readonly at: (path: readonly PropertyKey[]) => string;
}

export interface LoadedConfig {
  readonly config: ExperimentConfig;
  readonly source: ConfigSource;
}

function readConfigText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError('config_not_found', `config file ${path} does not exist`, { hint: 'check the path' });
    if (code === 'EISDIR') throw new UserError('config_not_found', `${path} is a directory, not a config file`);
    throw new UserError('config_unreadable', `cannot read config file ${path}: ${(error as Error).message}`);
  }
}

/**
 * Reads, parses and validates a YAML (or JSON) experiment config. Every problem becomes a ConfigError naming
 * `file:line`, the field path and what is expected; nothing is written anywhere.
 */
export function loadConfigFile(file: string): LoadedConfig {
  const path = resolve(file);
  const text = readConfigText(path);
  const lineCounter = new LineCounter();
  // The YAML library's own warnings (a complex key made a string) would be a second line: errors only.
  const document = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  const syntaxError = document.errors[0];
  if (syntaxError) {
    const position = syntaxError.linePos?.[0];
    const where = position ? `${path}:${position.line}:${position.col}` : path;
    const message = syntaxError.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ConfigError(where, `YAML syntax error: ${message}`, { hint: 'fix the YAML syntax' });
  }
  let raw: unknown;
  try {
    // Aliases are YAML's; a few are fine, thousands (an "alias bomb") or one that is never defined are not.
    raw = document.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    throw new ConfigError(path, `YAML error: ${(error as Error).message.split('\n')[0]}`, { hint: 'fix the anchors and aliases (&name, *name) in the file' });
  }
  const at = (fieldPath: readonly PropertyKey[]) => {
    const line = lineOf(document, lineCounter, fieldPath);
    return line === undefined ? path : `${path}:${line}`;
  };
  const config = validateExperiment(raw, at, path);
  return { config, source: { path, directory: dirname(path), at } };
}

/** Deepest nesting a config may have: far beyond any real one, well short of what would exhaust the stack. */
const MAX_DEPTH = 64;

/**
 * Why a parsed document is not a plain tree, or undefined: an alias that refers to a mapping containing it
 * makes a cycle, and nesting past MAX_DEPTH is no config. Checked without recursion.
 */
function treeProblem(root: unknown): string | undefined {
  const stack: { value: unknown; depth: number; ancestors: ReadonlySet<object> }[] = [{ value: root, depth: 0, ancestors: new Set() }];
  while (stack.length > 0) {
    const { value, depth, ancestors } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (ancestors.has(value)) return 'an alias refers to a mapping or list that contains it (a cycle)';
    if (depth > MAX_DEPTH) return `nested more than ${MAX_DEPTH} levels deep`;
    const inside = new Set(ancestors).add(value);
    for (const member of Object.values(value)) if (member !== null && typeof member === 'object') stack.push({ value: member, depth: depth + 1, ancestors: inside });
  }
  return undefined;
}

/** Validates a config object (from a file or from code); `at` names the place of a field path, `source` the whole config. */
export function validateExperiment(raw: unknown, at: (path: readonly PropertyKey[]) => string, source?: string): ExperimentConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(at([]), 'expected a mapping with name, datasets, models, ...');
  }
  const shape = treeProblem(raw);
  if (shape) throw new ConfigError(at([]), `the config is ${shape.startsWith('nested') ? shape : `not a tree: ${shape}`}`, { hint: 'a config is a tree of mappings and lists; in YAML, check the anchors and aliases (&name, *name)' });
  const secret = findLiteralSecret(raw);
  if (secret) {
    throw new ConfigError(at(secret.path), `${formatPath(secret.path)}: ${secret.message}`, { hint: secret.hint });
  }
  const result = experimentSchema.safeParse(raw);
  if (result.success) return result.data;
  const valueAt = (fieldPath: readonly PropertyKey[]) =>
    fieldPath.reduce<unknown>((value, part) => (value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[part as string] : undefined), raw);
  const problems = result.error.issues.map((issue) => {
    const explained = explainIssue(issue, valueAt, (fieldPath) => knownKeysAt(experimentSchema, fieldPath, raw));
    return { location: at(explained.path), message: `${formatPath(explained.path)}: ${explained.message}` };
  });
  // One problem is one line; several are a summary line and then a line each (the first MAX_PROBLEMS of them).
  if (problems.length === 1) throw new ConfigError(problems[0]!.location, problems[0]!.message);
  const listed = problems.slice(0, MAX_PROBLEMS);
  throw new ConfigError(source ?? at([]), `${problems.length} problems in the config`, { problems: listed, unlisted: problems.length - listed.length });
}

/** Most problems of a config listed in one error; the rest are counted. */
export const MAX_PROBLEMS = 20;
