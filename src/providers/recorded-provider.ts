import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { z } from 'zod';
import { sha256Hex } from '../core/canonical-json.js';
import { DatasetError } from '../core/errors.js';
import { getField } from '../core/field-path.js';
import { defineProvider } from '../spec/definition.js';
import type { GenerateRequest, GenerateResult } from '../spec/model.js';
import { ProviderCallError } from './call-error.js';
import { modelBaseShape, runtimeSettings } from './model-config.js';
import { restoreRuntime } from './restore.js';

const schema = z.strictObject({
  ...modelBaseShape,
  provider: z.literal('recorded'),
  /** A JSONL or CSV file of answers produced elsewhere, relative to the config file. */
  path: z.string().min(1),
  /** How a record is found for an item: a field of the dataset row and the record field that must equal it. */
  matchBy: z.strictObject({ item: z.string().min(1), record: z.string().min(1) }),
  /** Field path (dotted) of the answer text in a record. */
  answer: z.string().min(1),
});

type RecordedConfig = z.output<typeof schema>;

interface Recording {
  readonly fingerprint: string;
  /** Match key -> the recorded answer. */
  readonly answers: Map<string, string>;
  readonly path: string;
}

const cache = new Map<string, Recording>();

function matchKey(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  // Text is matched with whitespace collapsed, so re-wrapped questions still match.
  return (typeof value === 'string' ? value : JSON.stringify(value)).trim().replace(/\s+/g, ' ');
}

function load(config: RecordedConfig, directory: string): Recording {
  const path = resolve(directory, config.path);
  const cacheKey = `${path}\u0000${config.matchBy.record}\u0000${config.answer}`;
  const cached = cache.get(cacheKey);
  if (cached) return cached;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new DatasetError(path, `recorded answers for model '${config.id}' cannot be read (no such file?)`, { hint: 'paths in a config are relative to the config file' });
  }
  const rows: { row: Record<string, unknown>; location: string }[] = [];
  if (extname(path).toLowerCase() === '.csv') {
    const records = parseCsv(text, { columns: true, skip_empty_lines: true, info: true, bom: true }) as { record: Record<string, string>; info: { lines: number } }[];
    for (const { record, info } of records) rows.push({ row: record, location: `${path}:${info.lines}` });
  } else {
    text.split('\n').forEach((line, index) => {
      if (line.trim() === '') return;
      try {
        rows.push({ row: JSON.parse(line) as Record<string, unknown>, location: `${path}:${index + 1}` });
      } catch (error) {
        throw new DatasetError(`${path}:${index + 1}`, `not valid JSON (${(error as Error).message})`);
      }
    });
  }
  const answers = new Map<string, string>();
  const firstSeen = new Map<string, string>();
  const hash: string[] = [];
  for (const { row, location } of rows) {
    const key = matchKey(getField(row, config.matchBy.record));
    const answer = getField(row, config.answer);
    if (key === undefined) throw new DatasetError(location, `record has no '${config.matchBy.record}' to match items by`);
    if (typeof answer !== 'string') throw new DatasetError(location, `record has no text at '${config.answer}' (model '${config.id}')`);
    const known = answers.get(key);
    if (known !== undefined && known !== answer) {
      throw new DatasetError(location, `another record (${firstSeen.get(key)}) has the same ${config.matchBy.record} with a different answer`, {
        hint: 'match by a unique field, e.g. matchBy: { item: id, record: id }',
      });
    }
    answers.set(key, answer);
    firstSeen.set(key, location);
    hash.push(key, answer);
  }
  // The fingerprint covers exactly what can reach a task: match keys and answers, in order.
  const recording = { fingerprint: sha256Hex(JSON.stringify(hash)), answers, path };
  cache.set(cacheKey, recording);
  return recording;
}

/**
 * Answers from a file of outputs produced elsewhere (another tool, an earlier system, a paper's release),
 * matched to items by id or by text. No network; an item without a record is a recorded `unmatched` failure.
 */
export const recordedProvider = defineProvider({
  kind: 'recorded',
  description: 'answers read from a file of recorded outputs',
  schema,
  identity: (config, context) => ({
    model: `recorded:${config.answer}`,
    options: { fingerprint: load(config, context.directory).fingerprint, matchBy: config.matchBy, answer: config.answer },
  }),
  transport: (config, context) => ({ path: resolve(context.directory, config.path), ...runtimeSettings(config) }),
  restore: (identity, transport) => ({
    id: identity.id,
    provider: 'recorded',
    params: identity.params,
    path: transport.path,
    matchBy: identity.options.matchBy,
    answer: identity.options.answer,
    ...restoreRuntime(transport),
  }),
  create(config, context) {
    const recording = load(config, context.directory);
    return {
      specificationVersion: 'assay.model.v1',
      id: config.id,
      provider: 'recorded',
      modelName: `recorded:${config.answer}`,
      async doGenerate(request: GenerateRequest): Promise<GenerateResult> {
        const item = request.item;
        const value = item ? (getField(item.fields, config.matchBy.item) ?? (config.matchBy.item === 'id' ? item.itemId : undefined)) : undefined;
        const key = matchKey(value);
        const text = key === undefined ? undefined : recording.answers.get(key);
        if (text === undefined) {
          throw new ProviderCallError({
            category: 'unmatched',
            message: `no record in ${recording.path} has ${config.matchBy.record} = ${JSON.stringify(value ?? null).slice(0, 120)}`,
            retryable: false,
          });
        }
        return { text, finishReason: { unified: 'stop', raw: 'recorded' }, usage: { inputTokens: null, outputTokens: null }, latencyMs: 0, raw: { recorded: recording.path } };
      },
    };
  },
});
