import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashValue } from '../core/canonical-json.js';
import { Experiment } from './experiment.js';

const ROWS = '{"id":"q1","question":"What is 1 + 2?","answer":"3"}\n{"id":"q2","question":"What is 2 + 5?","answer":"7"}\n';

const BASE = `name: identity
datasets:
  - id: arith
    path: rows.jsonl
    input: question
    target: answer
    idField: id
models:
  - id: local
    provider: openai-compatible
    model: some-model
    baseURL: http://127.0.0.1:8080/v1
    apiKeyEnv: OPENAI_API_KEY
    params: { temperature: 0, maxTokens: 256 }
prompt: { system: "Answer with a number.", user: "{{input}}" }
samples: 1
parse: { kind: last-number }
metrics: [ { kind: numeric-match } ]
runtime: { concurrency: 32, store: .assay/assay.db }
`;

describe('run identity', () => {
  let directory: string;
  let counter = 0;
  const runIdOf = (config: string, rows = ROWS): string => {
    const name = `config-${counter++}`;
    writeFileSync(join(directory, `${name}.jsonl`), rows);
    const path = join(directory, `${name}.yaml`);
    writeFileSync(path, config.replace('rows.jsonl', `${name}.jsonl`));
    return Experiment.fromConfig(path).compile().runId;
  };

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'assay-identity-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('is the SHA-256 of the canonical snapshot', () => {
    writeFileSync(join(directory, 'rows.jsonl'), ROWS);
    writeFileSync(join(directory, 'x.yaml'), BASE);
    const compiled = Experiment.fromConfig(join(directory, 'x.yaml')).compile();
    expect(compiled.runId).toBe(hashValue(compiled.snapshot));
    expect(JSON.stringify(compiled.snapshot)).not.toMatch(/8080|OPENAI_API_KEY|concurrency|\.assay/);
  });

  it('does not change with key order, YAML layout, comments, runtime, store, base URL or env values', () => {
    const base = runIdOf(BASE);
    const reordered = `runtime:
  store: elsewhere.db     # a different store
  concurrency: 2
metrics:
  - kind: numeric-match
parse:
  kind: last-number
samples: 1
prompt:
  user: "{{input}}"
  system: Answer with a number.
models:
  - params:
      maxTokens: 256
      temperature: 0
    apiKeyEnv: ANOTHER_KEY_NAME
    baseURL: http://10.0.0.9:9999/v1
    model: some-model
    provider: openai-compatible
    id: local
datasets:
  - idField: id
    target: answer
    input: question
    path: rows.jsonl
    id: arith
name: identity
`;
    expect(runIdOf(reordered)).toBe(base);
    process.env.OPENAI_API_KEY = 'a-different-value';
    expect(runIdOf(BASE)).toBe(base);
    delete process.env.OPENAI_API_KEY;
    // Reformatting a row without changing it keeps the id too.
    expect(runIdOf(BASE, '{"answer":"3","question":"What is 1 + 2?","id":"q1"}\n{ "id": "q2", "question": "What is 2 + 5?", "answer": "7" }\n')).toBe(base);
  });

  it('changes with anything that changes results', () => {
    const base = runIdOf(BASE);
    const variants: Record<string, string> = {
      prompt: BASE.replace('Answer with a number.', 'Answer with one number.'),
      temperature: BASE.replace('temperature: 0,', 'temperature: 0.7,'),
      maxTokens: BASE.replace('maxTokens: 256', 'maxTokens: 255'),
      model: BASE.replace('model: some-model', 'model: other-model'),
      samples: BASE.replace('samples: 1', 'samples: 2'),
      parser: BASE.replace('parse: { kind: last-number }', 'parse: { kind: exact-text }'),
      metric: BASE.replace('{ kind: numeric-match }', '{ kind: numeric-match, relativeTolerance: 0.01 }'),
      seed: `${BASE}seed: 7\n`,
      replicates: `${BASE}replicates: 2\n`,
      inputField: BASE.replace('target: answer', 'target: question'),
    };
    const ids = new Set([base]);
    for (const [what, config] of Object.entries(variants)) {
      const id = runIdOf(config);
      expect(id, what).not.toBe(base);
      ids.add(id);
    }
    expect(ids.size).toBe(Object.keys(variants).length + 1);
    expect(runIdOf(BASE, ROWS.replace('"7"', '"8"'))).not.toBe(base);
    expect(runIdOf(BASE, `${ROWS}{"id":"q3","question":"What is 1 + 1?","answer":"2"}\n`)).not.toBe(base);
  });

  it('keeps the run ids of configs written before prompts could be message lists (examples pinned)', () => {
    // Computed with the tool as it was before messages, few-shot examples and per-model system prompts:
    // a config that uses none of them must keep its run (and so its stored results).
    const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
    const pinned: Record<string, string> = {
      'quickstart.yaml': '9860d0e815b4bf17b5d7257d8bfee099b6341a41afec647e0175645a318a986e',
      'judged.yaml': '4fad9a4a7a8e5b5375b976a90e3ee041e730d813c2b1a3547f93d55b34026c24',
      'karenina.yaml': '554949cbe225db83da4f7e5930b5e81b2b730e09945e5389e114c89de43f228c',
      'gsm8k/recorded.yaml': '74ad54c10416d861bfcfd6a7b12f37d1b30e9fe775cf38654208471f1d614482',
    };
    for (const [file, runId] of Object.entries(pinned)) expect(Experiment.fromConfig(join(examples, file)).compile().runId, file).toBe(runId);
  });
});
