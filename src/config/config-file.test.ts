import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { loadConfigFile } from './config-file.js';

describe('loadConfigFile', () => {
  let directory: string;
  const write = (text: string) => {
    const path = join(directory, 'experiment.yaml');
    writeFileSync(path, text);
    return path;
  };
  const failure = (text: string): ConfigError => {
    try {
      loadConfigFile(write(text));
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };
  const base = 'name: t\ndatasets:\n  - id: d\n    path: rows.jsonl\n    input: q\nmodels:\n  - id: m\n    provider: mock\n';

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'assay-config-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('fills defaults and keeps what was written', () => {
    const { config, source } = loadConfigFile(write(`${base}prompt: { user: "Q: {{input}}" }\nsamples: 3\n`));
    expect(config.samples).toBe(3);
    expect(config.replicates).toBe(1);
    expect(config.reduce).toEqual({ kind: 'first' });
    expect(config.parse).toEqual({ kind: 'exact-text', trim: true });
    expect(config.metrics).toBeUndefined();
    expect(config.runtime).toMatchObject({ concurrency: 32, maxAttempts: 5, timeoutMs: 120_000 });
    expect(config.models[0]).toMatchObject({ id: 'm', provider: 'mock', model: 'mock-arithmetic', options: { accuracy: 1, latencyMs: 0 } });
    expect(source.directory).toBe(directory);
  });

  it('names file, line and field path for a wrong type deep inside', () => {
    const error = failure(`${base}    params: { temperature: hot }\n`);
    expect(error.message).toBe(`${join(directory, 'experiment.yaml')}:9: models[0].params.temperature: expected number, got string "hot"`);
  });

  it('suggests the field meant by a typo, and lists fields when nothing is close', () => {
    expect(failure(`${base}runtime: { concurency: 4 }\n`).message).toMatch(/:9: runtime\.concurency: unknown field; did you mean 'concurrency'\?$/);
    expect(failure(`${base}wibble: 1\n`).message).toMatch(/:9: wibble: unknown field; allowed here: name, description, datasets, models/);
  });

  it('says a required field is missing at the line where it belongs', () => {
    expect(failure('name: t\ndatasets:\n  - id: d\n    path: rows.jsonl\nmodels:\n  - id: m\n    provider: mock\n').message).toMatch(
      /:3: datasets\[0\]\.input: name the field holding the input with input: <field>$/,
    );
  });

  it('refuses duplicate ids and both prompt and prompts', () => {
    expect(failure(`${base}  - id: m\n    provider: mock\n`).message).toMatch(/:9: models\[1\]\.id: duplicate model id 'm'/);
    expect(failure(`${base}prompt: { user: a }\nprompts: [ { id: p, user: b } ]\n`).message).toMatch(/prompts: give either prompt or prompts, not both/);
  });

  it('refuses an invalid regular expression for the regex parser', () => {
    expect(failure(`${base}parse: { kind: regex, pattern: "(unclosed" }\n`).message).toMatch(/:9: parse\.pattern: not a valid regular expression/);
  });

  it('refuses credentials in headers and a non-http base URL', () => {
    const model = 'name: t\ndatasets:\n  - id: d\n    path: rows.jsonl\n    input: q\nmodels:\n  - id: m\n    provider: openai-compatible\n    model: x\n';
    expect(failure(`${model}    baseURL: ftp://host/v1\n`).message).toMatch(/models\[0\]\.baseURL: expected an http\(s\) URL/);
    const header = failure(`${model}    baseURL: http://host/v1\n    headers:\n      X-Title: assay\n      X-Portkey-Api-Key: pk-live-0000\n`);
    expect(header.message).toBe(`${join(directory, 'experiment.yaml')}:13: models[0].headers.X-Portkey-Api-Key: a header named like a credential may not have its value written in a config file`);
    expect(header.line()).toMatch(/; read it from the environment instead: headersFromEnv: \{ X-Portkey-Api-Key: VARIABLE_NAME \}$/);
    expect(header.message).not.toContain('pk-live-0000');
    const url = failure(`${model}    baseURL: "https://gw.example/v1?api-key=abc"\n`);
    expect(url.message).toMatch(/experiment\.yaml:10: models\[0\]\.baseURL: this URL carries the query parameter 'api-key', and URLs are recorded with the run$/);
    expect(failure(`${model}    baseURL: http://host/v1\n    headers: { X-One: a }\n    headersFromEnv: { x-one: ONE }\n`).message).toMatch(
      /models\[0\]\.headersFromEnv: a header is given both in headers and in headersFromEnv; keep one/,
    );
  });

  it('says plainly when the file does not exist or is not a mapping', () => {
    expect(() => loadConfigFile(join(directory, 'absent.yaml'))).toThrow(/config file .*absent\.yaml does not exist/);
    expect(failure('- just\n- a list\n').message).toMatch(/experiment\.yaml:1: expected a mapping with name, datasets, models/);
  });

  it('refuses a message list that does not end with the user, a late system message, and both prompt forms, each at its line', () => {
    const file = join(directory, 'experiment.yaml');
    expect(failure(`${base}prompt:\n  messages:\n    - { role: user, content: a }\n    - { role: assistant, content: b }\n`).message).toBe(
      `${file}:12: prompt.messages[1].role: the last message must be the user's (role: user), the turn the model answers (got string "assistant")`,
    );
    expect(failure(`${base}prompts:\n  - id: p\n    messages:\n      - { role: user, content: a }\n      - { role: system, content: b }\n      - { role: user, content: c }\n`).message).toMatch(
      /:13: prompts\[0\]\.messages\[1\]\.role: a system message may only be the first message/,
    );
    expect(failure(`${base}prompt:\n  user: a\n  messages: [ { role: user, content: b } ]\n`).message).toMatch(/:10: prompt\.user: give either messages or system\/user, not both/);
    expect(failure(`${base}prompt: { system: a }\n`).message).toMatch(/:9: prompt\.user: is required \(a template such as "\{\{input\}\}"\), or give messages/);
    expect(failure(`${base}prompt:\n  messages: [ { role: robot, content: b } ]\n`).message).toMatch(/:10: prompt\.messages\[0\]\.role: expected one of "system", "user", "assistant", got string "robot"/);
  });

  it('refuses few-shot text without {{fewShot}}, {{fewShot}} without it, and a system prompt on an evaluator', () => {
    expect(failure(`${base}prompt:\n  user: "{{input}}"\n  fewShot: { from: d, k: 1, format: text }\n`).message).toMatch(/:11: prompt\.fewShot\.format: format text needs \{\{fewShot\}\} in a template/);
    expect(failure(`${base}prompt: { user: "{{fewShot}} {{input}}" }\n`).message).toMatch(/prompt\.fewShot: \{\{fewShot\}\} places few-shot examples as text/);
    expect(failure(`${base}evaluators:\n  - id: e\n    provider: mock\n    system: hi\n`).message).toMatch(/:12: evaluators\[0\]\.system: system replaces the prompt of an answering model/);
  });
});
