import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DatasetConfig, ExperimentConfig, FewShotConfig } from '../config/experiment-schema.js';
import type { ConfigSource } from '../config/config-file.js';
import { formatPath } from '../config/zod-issue.js';
import { ConfigError, UserError } from '../core/errors.js';
import { missingVariable, type PromptTemplate } from '../core/prompt-template.js';
import { openDataset, type DatasetHandle } from '../io/dataset-file.js';
import type { FewShotExample, FewShotIdentity } from '../spec/snapshot.js';

/** A small seeded generator (mulberry32): the same seed gives the same sequence on every platform. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The first `count` positions of a seeded shuffle of `0..size-1` (a partial Fisher-Yates): which rows of the
 * example source are drawn, in the order they are shown.
 */
export function drawPositions(size: number, count: number, seed: number): number[] {
  const order = new Uint32Array(size);
  for (let index = 0; index < size; index++) order[index] = index;
  const next = random(seed);
  const drawn: number[] = [];
  for (let index = 0; index < Math.min(count, size); index++) {
    const pick = index + Math.floor(next() * (size - index));
    [order[index], order[pick]] = [order[pick]!, order[index]!];
    drawn.push(order[index]!);
  }
  return drawn;
}

/**
 * Draws a prompt's few-shot examples: k + 1 rows of the source (a dataset of the config, by id, or else a
 * file), chosen by a seeded shuffle. Each item is shown the first k of them that are not the item itself, so
 * one more is drawn to take the place of an example that is the item. The examples are kept in the snapshot.
 */
export function drawFewShot(
  fewShot: FewShotConfig,
  path: readonly (string | number)[],
  config: ExperimentConfig,
  datasets: readonly DatasetHandle[],
  source: ConfigSource,
  userTemplate: PromptTemplate,
): FewShotIdentity {
  const at = (field: string) => source.at([...path, field]);
  const fail = (field: string, message: string, hint?: string) => new ConfigError(at(field), `${formatPath([...path, field])}: ${message}`, hint ? { hint } : undefined);
  const own = datasets.find((dataset) => dataset.config.id === fewShot.from);
  let handle: DatasetHandle;
  if (own) {
    handle = own;
  } else {
    const file = resolve(source.directory, fewShot.from);
    if (!existsSync(file)) {
      throw fail('from', `'${fewShot.from}' is neither a dataset of this config (${datasets.map((dataset) => dataset.config.id).join(', ')}) nor a file`, 'name a dataset id, or a JSONL/CSV/JSON file relative to the config');
    }
    const first = config.datasets[0]!;
    const input = fewShot.input ?? first.input;
    if (input === undefined) throw fail('input', 'name the field of the examples file holding the input');
    const fileConfig: DatasetConfig = {
      id: 'fewShot',
      path: fewShot.from,
      input,
      ...(fewShot.target ?? first.target ? { target: (fewShot.target ?? first.target)! } : {}),
      ...(fewShot.idField ?? first.idField ? { idField: (fewShot.idField ?? first.idField)! } : {}),
    };
    try {
      handle = openDataset(fileConfig, source.directory);
    } catch (error) {
      if (error instanceof UserError) throw fail('from', error.message);
      throw error;
    }
  }
  if (handle.config.target === undefined && handle.format !== 'karenina') {
    throw fail('from', `the examples of '${fewShot.from}' have no target, which is the answer they show`, own ? `add target: <field> to dataset '${own.config.id}'` : 'add target: <field> to fewShot');
  }
  const size = handle.identity.itemCount;
  if (size < fewShot.k) throw fail('k', `'${fewShot.from}' has ${size} example(s); k is ${fewShot.k}`);
  const positions = drawPositions(size, fewShot.k + 1, fewShot.seed);
  const wanted = new Map(positions.map((position, order) => [position, order]));
  const examples: FewShotExample[] = new Array<FewShotExample>(positions.length);
  let position = 0;
  for (const item of handle.items()) {
    const order = wanted.get(position++);
    if (order === undefined) continue;
    const missing = missingVariable(userTemplate, { input: item.input, id: item.itemId, fields: item.fields, fewShot: '' });
    if (missing !== undefined) throw fail('from', `example '${item.itemId}' has no field '${missing}', which the prompt's user template uses`);
    if (item.target === null || item.target === undefined) throw fail('from', `example '${item.itemId}' has no target`);
    examples[order] = { id: item.itemId, input: item.input, target: item.target, fields: item.fields };
  }
  return {
    source: own ? 'dataset' : 'file',
    dataset: own ? own.config.id : null,
    fingerprint: handle.identity.fingerprint,
    itemCount: size,
    k: fewShot.k,
    seed: fewShot.seed,
    format: fewShot.format,
    examples,
  };
}
