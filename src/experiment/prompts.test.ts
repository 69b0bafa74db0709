import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { examplesFor, renderPrompt } from '../core/prompt-render.js';
import { buildGenerateRequest } from '../stages/generate.js';
import { compileTemplate } from '../core/prompt-template.js';
import { Experiment } from './experiment.js';
import { snapshotSchema } from '../bundles/bundle-schemas.js';
import { hashValue } from '../core/canonical-json.js';
import type { CompiledRun } from './compile.js';

const ROWS = Array.from({ length: 12 }, (_, index) => JSON.stringify({ id: `q${index + 1}`, question: `What is ${index} + 1?`, answer: String(index + 1) })).join('\n') + '\n';

const config = (prompt: string, models = '  - { id: m, provider: mock }\n') => `name: prompts
datasets:
  - { id: arith, path: rows.jsonl, input: question, target: answer, idField: id }
models:
${models}${prompt}
parse: { kind: last-number }
metrics: [ { kind: numeric-match } ]
`;

describe('prompt identity and few-shot examples', () => {
  let directory: string;
  let counter = 0;
  const compile = (text: string): CompiledRun => {
    const path = join(directory, `config-${counter++}.yaml`);
    writeFileSync(path, text);
    return Experiment.fromConfig(path).compile();
  };
  const fewShot = (options: string, user = '"{{input}}"') => config(`prompt:\n  system: Answer.\n  user: ${user}\n  fewShot: { from: arith, ${options} }\n`);
  const shown = (run: CompiledRun, itemIndex = 0) => {
    const item = run.items()[itemIndex]!;
    return examplesFor(run.prompts[0]!.fewShot!, item).map((example) => example.id);
  };

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'assay-prompts-'));
    writeFileSync(join(directory, 'rows.jsonl'), ROWS);
    writeFileSync(join(directory, 'shots.jsonl'), '{"id":"s1","question":"What is 40 + 2?","answer":"42"}\n{"id":"s2","question":"What is 5 + 5?","answer":"10"}\n');
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('identifies a message list of a system and a user turn exactly as the system/user prompt, and any other list by its turns', () => {
    const plain = compile(config('prompt: { system: "Answer.", user: "{{input}}" }\n'));
    const listed = compile(config('prompt:\n  messages:\n    - { role: system, content: "Answer." }\n    - { role: user, content: "{{input}}" }\n'));
    expect(listed.runId).toBe(plain.runId);
    expect(listed.snapshot.prompts).toEqual([{ id: 'default', system: 'Answer.', user: '{{input}}' }]);
    const turns = compile(config('prompt:\n  messages:\n    - { role: user, content: "1 + 1?" }\n    - { role: assistant, content: "2" }\n    - { role: user, content: "{{input}}" }\n'));
    expect(turns.snapshot.prompts[0]).toEqual({ id: 'default', messages: [{ role: 'user', content: '1 + 1?' }, { role: 'assistant', content: '2' }, { role: 'user', content: '{{input}}' }] });
    const changed = compile(config('prompt:\n  messages:\n    - { role: user, content: "1 + 1?" }\n    - { role: assistant, content: "3" }\n    - { role: user, content: "{{input}}" }\n'));
    expect(new Set([plain.runId, turns.runId, changed.runId]).size).toBe(3);
  });

  it('puts a model system prompt in that model identity only, and changes the run id with it', () => {
    const base = compile(config('prompt: { system: "Answer.", user: "{{input}}" }\n', '  - { id: a, provider: mock }\n  - { id: b, provider: mock }\n'));
    const own = compile(config('prompt: { system: "Answer.", user: "{{input}}" }\n', '  - { id: a, provider: mock }\n  - { id: b, provider: mock, system: "Be brief." }\n'));
    expect(own.snapshot.models[0]).toEqual(base.snapshot.models[0]);
    expect(own.snapshot.models[1]).toEqual({ ...base.snapshot.models[1], system: 'Be brief.' });
    expect(own.runId).not.toBe(base.runId);
    const item = own.items()[0]!;
    const request = buildGenerateRequest(own.prompts[0]!, { ...item }, {}, 1, compileTemplate('Be brief ({{id}}).'));
    expect(request).toMatchObject({ system: 'Be brief (q1).', prompt: 'What is 0 + 1?' });
    expect(request.messages).toBeUndefined();
  });

  it('draws the same examples with the same seed, others with another, never the item itself', () => {
    const first = compile(fewShot('k: 3, seed: 1'));
    const again = compile(fewShot('k: 3, seed: 1'));
    const other = compile(fewShot('k: 3, seed: 2'));
    expect(shown(again)).toEqual(shown(first));
    expect(first.snapshot.prompts[0]!.fewShot!.examples.map((example) => example.id)).toEqual(again.snapshot.prompts[0]!.fewShot!.examples.map((example) => example.id));
    expect(shown(other)).not.toEqual(shown(first));
    // k = 11 of 12 rows: every item is shown every other row, and never itself.
    const all = compile(fewShot('k: 11, seed: 5'));
    all.items().forEach((item, index) => {
      const ids = shown(all, index);
      expect(ids).toHaveLength(11);
      expect(ids).not.toContain(item.itemId);
      expect(new Set(ids).size).toBe(11);
    });
    // An item that is one of the k drawn is shown the next one drawn instead.
    const drawn = first.snapshot.prompts[0]!.fewShot!.examples.map((example) => example.id);
    const index = first.items().findIndex((item) => item.itemId === drawn[0]);
    expect(shown(first, index)).toEqual(drawn.slice(1, 4));
  });

  it('changes the run id with k, seed, format and the examples source; a file can be the source', () => {
    const ids = [
      compile(config('prompt: { system: "Answer.", user: "{{input}}" }\n')).runId,
      compile(fewShot('k: 2, seed: 1')).runId,
      compile(fewShot('k: 3, seed: 1')).runId,
      compile(fewShot('k: 2, seed: 2')).runId,
      compile(fewShot('k: 2, seed: 1, format: text', '"{{fewShot}}\\n\\n{{input}}"')).runId,
      compile(config('prompt:\n  system: Answer.\n  user: "{{input}}"\n  fewShot: { from: shots.jsonl, k: 2 }\n')).runId,
    ];
    expect(new Set(ids).size).toBe(ids.length);
    const fromFile = compile(config('prompt:\n  system: Answer.\n  user: "{{input}}"\n  fewShot: { from: shots.jsonl, k: 2 }\n'));
    expect(fromFile.snapshot.prompts[0]!.fewShot).toMatchObject({ source: 'file', dataset: null, itemCount: 2, k: 2, seed: 0, format: 'turns' });
    writeFileSync(join(directory, 'shots.jsonl'), '{"id":"s1","question":"What is 40 + 2?","answer":"42"}\n{"id":"s2","question":"What is 5 + 5?","answer":"10"}\n{"id":"s3","question":"x","answer":"y"}\n');
    expect(compile(config('prompt:\n  system: Answer.\n  user: "{{input}}"\n  fewShot: { from: shots.jsonl, k: 2 }\n')).runId).not.toBe(fromFile.runId);
  });

  it('renders examples as turns before the item, or as the text {{fewShot}} places', () => {
    const file = 'prompt:\n  system: Answer.\n  user: "Q: {{input}}"\n  fewShot: { from: shots.jsonl, k: 2, seed: 0 }\n';
    const turns = compile(config(file));
    const item = turns.items()[0]!;
    const rendered = renderPrompt(turns.prompts[0]!, item);
    const [one, two] = turns.snapshot.prompts[0]!.fewShot!.examples;
    expect(rendered).toEqual({
      system: 'Answer.',
      prompt: 'Q: What is 0 + 1?',
      messages: [
        { role: 'system', content: 'Answer.' },
        { role: 'user', content: `Q: ${one!.input}` },
        { role: 'assistant', content: one!.target },
        { role: 'user', content: `Q: ${two!.input}` },
        { role: 'assistant', content: two!.target },
        { role: 'user', content: 'Q: What is 0 + 1?' },
      ],
    });
    const text = compile(config('prompt:\n  user: "{{fewShot}}\\n\\nQ: {{input}}\\nA:"\n  fewShot: { from: shots.jsonl, k: 2, format: text }\n'));
    expect(renderPrompt(text.prompts[0]!, item)).toEqual({ prompt: `Q: ${one!.input}\nA:\n${String(one!.target)}\n\nQ: ${two!.input}\nA:\n${String(two!.target)}\n\nQ: What is 0 + 1?\nA:` });
  });

  it('refuses an unknown source, too few examples and examples without a target, at the config line', () => {
    expect(() => compile(fewShot('k: 2', '"{{input}}"').replace('from: arith', 'from: nowhere'))).toThrow(/prompt\.fewShot\.from: 'nowhere' is neither a dataset of this config \(arith\) nor a file/);
    expect(() => compile(config('prompt:\n  user: "{{input}}"\n  fewShot: { from: shots.jsonl, k: 3 }\n'))).toThrow(/:\d+: prompt\.fewShot\.k: 'shots\.jsonl' has 2 example\(s\); k is 3/);
    writeFileSync(join(directory, 'bare.jsonl'), '{"id":"s1","question":"What is 40 + 2?"}\n');
    expect(() => compile(config('prompt:\n  user: "{{input}}"\n  fewShot: { from: bare.jsonl, k: 1, target: missing }\n'))).toThrow(/prompt\.fewShot\.from: /);
  });

  it('reports an unknown template filter at its config line', () => {
    expect(() => compile(config('prompt: { user: "{{input}} {{choices | lettered}}" }\n'))).toThrow(/:\d+: prompt\.user: unknown filter 'lettered'/);
  });

  it('keeps turns, few-shot examples and model system prompts through a bundle\'s snapshot check', () => {
    const run = compile(
      config(
        'prompt:\n  messages:\n    - { role: user, content: "1 + 1?" }\n    - { role: assistant, content: "2" }\n    - { role: user, content: "{{input}}" }\n  fewShot: { from: arith, k: 2 }\n',
        '  - { id: m, provider: mock, system: "Be brief." }\n',
      ),
    );
    const checked = snapshotSchema.parse(JSON.parse(JSON.stringify(run.snapshot)));
    expect(hashValue(checked)).toBe(run.runId);
  });

  it('reads targets given as an option or its index as letters when a dataset names its choices', () => {
    writeFileSync(join(directory, 'mc.jsonl'), '{"id":"a","q":"2 + 2?","options":["4","5"],"answer":"4"}\n{"id":"b","q":"2 + 3?","options":["4","5"],"answer":1}\n');
    const mc = (choices: string) => `name: mc
datasets:
  - { id: mc, path: mc.jsonl, input: q, target: answer, idField: id${choices} }
models:
  - { id: m, provider: mock }
prompt: { user: "{{input}}\\n{{options | letters}}" }
parse: { kind: choice-letter }
`;
    const lettered = compile(mc(', choices: options'));
    expect(lettered.items().map((item) => item.target)).toEqual(['A', 'B']);
    expect(renderPrompt(lettered.prompts[0]!, lettered.items()[0]!).prompt).toBe('2 + 2?\nA) 4\nB) 5');
    expect(lettered.snapshot.datasets[0]!.fields).toEqual({ input: 'q', target: 'answer', idField: 'id', choices: 'options' });
    const plain = compile(mc(''));
    expect(plain.items().map((item) => item.target)).toEqual(['4', 1]);
    expect(plain.snapshot.datasets[0]!.fields).toEqual({ input: 'q', target: 'answer', idField: 'id' });
    expect(plain.runId).not.toBe(lettered.runId);
    writeFileSync(join(directory, 'mc.jsonl'), '{"id":"a","q":"2 + 2?","options":["4","5"],"answer":"7"}\n');
    expect(() => compile(mc(', choices: options'))).toThrow(/mc\.jsonl:1: .*the target "7" is neither one of the 2 options/);
  });
});
