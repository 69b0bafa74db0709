import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatasetConfig } from '../config/experiment-schema.js';
import { loadDataset } from './dataset-file.js';

describe('loadDataset', () => {
  let directory: string;
  const config = (overrides: Partial<DatasetConfig>): DatasetConfig => ({ id: 'd', input: 'question', ...overrides }) as DatasetConfig;

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'assay-dataset-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('reads the same rows from JSONL, CSV and JSON with the same fingerprint', () => {
    writeFileSync(join(directory, 'rows.jsonl'), '{"id":"a","question":"1+1?","answer":"2"}\n\n{"answer":"3","question":"1+2?","id":"b"}\n');
    writeFileSync(join(directory, 'rows.csv'), 'id,question,answer\na,1+1?,2\nb,1+2?,3\n');
    writeFileSync(join(directory, 'rows.json'), JSON.stringify([{ id: 'a', question: '1+1?', answer: '2' }, { id: 'b', question: '1+2?', answer: '3' }]));
    const loaded = ['rows.jsonl', 'rows.csv', 'rows.json'].map((path) => loadDataset(config({ path, target: 'answer', idField: 'id' }), directory));
    for (const dataset of loaded) {
      expect(dataset.items.map((item) => [item.itemId, item.input, item.target])).toEqual([
        ['a', '1+1?', '2'],
        ['b', '1+2?', '3'],
      ]);
    }
    expect(new Set(loaded.map((dataset) => dataset.fingerprint)).size).toBe(1);
    expect(loaded[0]!.items.map((item) => item.line)).toEqual([1, 3]);
  });

  it('changes the fingerprint when any row changes, and honours limit', () => {
    writeFileSync(join(directory, 'a.jsonl'), '{"question":"x","n":1}\n{"question":"y","n":2}\n');
    writeFileSync(join(directory, 'b.jsonl'), '{"question":"x","n":1}\n{"question":"y","n":3}\n');
    const first = loadDataset(config({ path: 'a.jsonl' }), directory);
    expect(loadDataset(config({ path: 'b.jsonl' }), directory).fingerprint).not.toBe(first.fingerprint);
    const limited = loadDataset(config({ path: 'a.jsonl', limit: 1 }), directory);
    expect(limited.items).toHaveLength(1);
    expect(loadDataset(config({ path: 'b.jsonl', limit: 1 }), directory).fingerprint).toBe(limited.fingerprint);
  });

  it('derives stable content ids when there is no id field, distinct even for identical rows', () => {
    writeFileSync(join(directory, 'rows.jsonl'), '{"question":"same"}\n{"question":"same"}\n{"question":"other"}\n');
    const ids = loadDataset(config({ path: 'rows.jsonl' }), directory).items.map((item) => item.itemId);
    expect(ids[0]).toMatch(/^[0-9a-f]{16}$/);
    expect(ids[1]).toBe(`${ids[0]}~2`);
    expect(new Set(ids).size).toBe(3);
    expect(loadDataset(config({ path: 'rows.jsonl' }), directory).items.map((item) => item.itemId)).toEqual(ids);
  });

  it('reads dotted field paths and keeps non-string inputs as JSON', () => {
    const dataset = loadDataset(config({ items: [{ q: { text: 'hi', parts: [1, 2] }, meta: { gold: 7 } }], input: 'q.parts', target: 'meta.gold' }), directory);
    expect(dataset.items[0]).toMatchObject({ input: '[1,2]', target: 7 });
  });

  it('points at the exact row of a problem', () => {
    writeFileSync(join(directory, 'rows.jsonl'), '{"question":"ok"}\n[1,2]\n');
    expect(() => loadDataset(config({ path: 'rows.jsonl' }), directory)).toThrow(/rows\.jsonl:2: expected an object \(one row\)/);
    writeFileSync(join(directory, 'rows.csv'), 'question,answer\n"unclosed,1\n');
    expect(() => loadDataset(config({ path: 'rows.csv' }), directory)).toThrow(/rows\.csv(:\d+)?: not valid CSV/);
    writeFileSync(join(directory, 'rows.txt'), 'x');
    expect(() => loadDataset(config({ path: 'rows.txt' }), directory)).toThrow(/cannot tell the format from the extension '\.txt'/);
    writeFileSync(join(directory, 'empty.jsonl'), '\n\n');
    expect(() => loadDataset(config({ path: 'empty.jsonl' }), directory)).toThrow(/the dataset has no rows/);
  });

  it('reads JSONL a chunk at a time without splitting a row, a character or a long line', () => {
    // Rows of varied sizes with multi-byte text, so line ends and characters fall on every side of the 1 MiB
    // chunk edges; one row is longer than a chunk; CRLF endings; no newline after the last row.
    const rows: { id: string; question: string }[] = [];
    for (let index = 0; index < 40_000; index++) rows.push({ id: `r${index}`, question: `${'é✓𝔸'.repeat(index % 17)} question ${index}` });
    rows.splice(20_000, 0, { id: 'long', question: 'ü'.repeat(1_500_000) });
    const text = rows.map((row) => JSON.stringify(row)).join('\r\n');
    writeFileSync(join(directory, 'big.jsonl'), text);
    const loaded = loadDataset(config({ path: 'big.jsonl', idField: 'id' }), directory);
    expect(loaded.items).toHaveLength(rows.length);
    expect(loaded.items.map((item) => item.input)).toEqual(rows.map((row) => row.question));
    expect(loaded.items[20_000]!.line).toBe(20_001);
    expect(loaded.items.at(-1)!.line).toBe(rows.length);
    // The same rows written as one JSON array fingerprint the same.
    writeFileSync(join(directory, 'big.json'), JSON.stringify(rows));
    expect(loadDataset(config({ path: 'big.json', idField: 'id' }), directory).fingerprint).toBe(loaded.fingerprint);
  });

  it('refuses a duplicate id with both lines, and a missing file by name', () => {
    writeFileSync(join(directory, 'dup.jsonl'), '{"id":"a","question":"x"}\n{"id":"b","question":"y"}\n{"id":"a","question":"z"}\n');
    expect(() => loadDataset(config({ path: 'dup.jsonl', idField: 'id' }), directory)).toThrow(/dup\.jsonl:3: duplicate id 'a' \(first at .*dup\.jsonl:1\)/);
    expect(() => loadDataset(config({ path: 'absent.jsonl' }), directory)).toThrow(/absent\.jsonl: dataset 'd' file does not exist/);
  });
});
