import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { BYTE_MUTATIONS } from './byte-mutations.js';
import {
  CONFIG_TEXT_MUTATIONS,
  CSV_MUTATIONS,
  forgeCheckpointHeader,
  readCsvCells,
  ROW_MUTATIONS,
  writeCsvCells,
  type DatasetFields,
} from './format-mutations.js';
import type { Random } from './random.js';
import { Document, TREE_MUTATIONS } from './tree-mutations.js';

export { Random } from './random.js';

/** How a file of a fixture is read by assay, which decides the structure-aware mutations that apply. */
export type FileFormat = 'yaml-config' | 'json-config' | 'jsonl' | 'csv' | 'json' | 'karenina';

export interface MutableFile {
  /** Path inside the fixture directory. */
  readonly path: string;
  readonly format: FileFormat;
  readonly bytes: Buffer;
  readonly fields?: DatasetFields;
}

export type MutationFamily = 'bytes' | 'tree' | 'yaml-text' | 'rows' | 'csv' | 'checkpoint-header';

export interface Mutation {
  readonly family: MutationFamily;
  readonly kind: string;
  readonly bytes: Buffer;
  readonly note: string;
}

function parseDocument(file: MutableFile): Document {
  const text = file.bytes.toString('utf8');
  switch (file.format) {
    case 'yaml-config':
      return new Document(parseYaml(text));
    case 'jsonl':
      return new Document(text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as unknown));
    default:
      return new Document(JSON.parse(text));
  }
}

function serialize(file: MutableFile, document: Document, random: Random): Buffer {
  const value = document.value;
  let text: string;
  switch (file.format) {
    case 'yaml-config':
      text = document.fill(stringifyYaml(value, { lineWidth: 0 }), 'yaml');
      break;
    case 'json-config':
      // JSON configs are read by the YAML parser, so their raw values are YAML flow text.
      text = document.fill(JSON.stringify(value, null, 2), 'yaml');
      break;
    case 'jsonl':
      text = document.fill(Array.isArray(value) ? `${value.map((row) => JSON.stringify(row)).join('\n')}\n` : JSON.stringify(value), 'json');
      break;
    default:
      text = document.fill(JSON.stringify(value, null, random.chance(0.5) ? 2 : undefined), 'json');
  }
  return Buffer.from(text, 'utf8');
}

function families(format: FileFormat): readonly (readonly [MutationFamily, number])[] {
  switch (format) {
    case 'yaml-config':
    case 'json-config':
      return [['bytes', 35], ['tree', 45], ['yaml-text', 20]];
    case 'jsonl':
    case 'json':
      return [['bytes', 40], ['tree', 25], ['rows', 35]];
    case 'karenina':
      return [['bytes', 35], ['tree', 50], ['checkpoint-header', 15]];
    case 'csv':
      return [['bytes', 45], ['csv', 55]];
  }
}

/** One mutation of `family`, or null when none of its kinds applies to this file (the caller picks again). */
function mutateAs(file: MutableFile, family: MutationFamily, random: Random): Mutation | null {
  if (family === 'bytes') {
    const kind = random.pick(Object.keys(BYTE_MUTATIONS));
    const { bytes, note } = BYTE_MUTATIONS[kind]!(file.bytes, random);
    return { family, kind, bytes, note };
  }
  if (family === 'csv') {
    const kind = random.pick(Object.keys(CSV_MUTATIONS));
    const cells = readCsvCells(file.bytes.toString('utf8'));
    const result = CSV_MUTATIONS[kind]!(cells, random);
    if (!result) return null;
    return { family, kind, bytes: Buffer.from(result.text ?? writeCsvCells(cells), 'utf8'), note: result.note };
  }
  const document = parseDocument(file);
  if (family === 'yaml-text') {
    const kind = random.pick(Object.keys(CONFIG_TEXT_MUTATIONS));
    const result = CONFIG_TEXT_MUTATIONS[kind]!(document, random);
    if (!result) return null;
    const bytes = Buffer.concat([serialize(file, document, random), Buffer.from(result.append ?? '', 'utf8')]);
    return { family, kind, bytes, note: result.note };
  }
  let kind: string;
  let note: string | null;
  if (family === 'rows') {
    kind = random.pick(Object.keys(ROW_MUTATIONS));
    note = Array.isArray(document.value) ? ROW_MUTATIONS[kind]!(document.value, file.fields ?? {}, document, random) : null;
  } else if (family === 'checkpoint-header') {
    kind = 'forged-header';
    note = forgeCheckpointHeader(document, random);
  } else {
    kind = random.pick(Object.keys(TREE_MUTATIONS));
    note = TREE_MUTATIONS[kind]!(document, random);
  }
  return note === null ? null : { family, kind, bytes: serialize(file, document, random), note };
}

/**
 * A mutation of one file, chosen by the file's format: byte faults for every file, structure-aware faults
 * (wrong types, missing keys, extreme numbers, YAML tags and aliases, duplicate ids, forged headers...) for
 * the formats that have a structure. Sometimes a byte fault is stacked on top, as real damage often is.
 */
export function mutateFile(file: MutableFile, random: Random): Mutation {
  for (let attempt = 0; ; attempt++) {
    const family = attempt < 8 ? random.weighted(families(file.format)) : 'bytes';
    const mutation = mutateAs(file, family, random);
    if (!mutation) continue;
    if (family === 'bytes' || !random.chance(0.1)) return mutation;
    const stackedKind = random.pick(['crlf', 'utf8-bom', 'truncate', 'invalid-utf8', 'duplicate-line']);
    const stacked = BYTE_MUTATIONS[stackedKind]!(mutation.bytes, random);
    return { ...mutation, bytes: stacked.bytes, note: `${mutation.note}; then ${stacked.note}` };
  }
}
