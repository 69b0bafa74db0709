import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MutableFile } from './mutations.js';

/**
 * Valid starting points for the mutation campaign: the example configs as shipped, and configs like the
 * end-to-end tests write, over datasets in every format assay reads. Every model is a mock (or recorded
 * answers), so no input needs the network, and each valid run takes well under a second.
 */
export interface Fixture {
  readonly name: string;
  /** Path of the config inside the fixture directory. */
  readonly config: string;
  readonly files: readonly MutableFile[];
}

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const example = (path: string) => readFileSync(`${EXAMPLES}${path}`);
const text = (content: string) => Buffer.from(content, 'utf8');
const ARITHMETIC = { input: 'question', target: 'answer', id: 'id' };

function arithmeticRows(count: number): { id: string; question: string; answer: string }[] {
  return Array.from({ length: count }, (_, index) => ({ id: `q${index + 1}`, question: `What is ${index + 3} + ${2 * index + 5}?`, answer: String(3 * index + 8) }));
}

const CSV_CONFIG = `name: csv-prompts
datasets:
  - id: capitals
    path: capitals.csv
    input: question
    target: answer
    idField: key
models:
  - { id: echo, provider: mock, options: { reply: "The answer is Paris." } }
prompts:
  - { id: plain, user: "{{input}}" }
  - { id: topical, system: "You know {{topic}}.", user: "Q: {{input}} (id {{id}})" }
parse: { kind: after-marker, marker: "The answer is", read: text }
metrics:
  - { kind: exact-match, name: exact }
  - { kind: contains, name: contains }
  - { kind: f1 }
  - { kind: regex, name: mentions-paris, pattern: "paris", flags: i }
replicates: 2
seed: 7
runtime: { concurrency: 2, maxAttempts: 2, retryBaseDelayMs: 1 }
`;

const CAPITALS = `key,question,answer,topic
fr,What is the capital of France?,Paris,geography
de,What is the capital of Germany?,Berlin,geography
it,"Rome, Milan or Turin: which is the capital of Italy?",Rome,geography
es,What is the capital of Spain?,Madrid,"history, geography"
pt,What is the capital of Portugal?,Lisbon,geography
`;

const JSON_CONFIG = {
  name: 'json-config',
  description: 'a config written as JSON, over a JSON array with nested ids',
  datasets: [{ id: 'arith', path: 'rows.json', format: 'json', input: 'question', target: 'answer', idField: 'meta.id', limit: 6 }],
  models: [{ id: 'voter', provider: 'mock', options: { accuracy: 0.7 }, params: { temperature: 0.5, maxTokens: 32 } }],
  prompt: { user: 'Solve: {{input}}' },
  samples: 3,
  reduce: { kind: 'majority-vote' },
  parse: { kind: 'last-number' },
  metrics: [
    { kind: 'numeric-match', name: 'accuracy' },
    { kind: 'pass-at-k', k: 3, of: { kind: 'numeric-match' } },
  ],
  runtime: { concurrency: 3 },
};

const TEMPLATE_CONFIG = `name: template-parse
datasets:
  - { id: units, path: units.jsonl, input: question, target: expected, idField: id }
models:
  - { id: solver, provider: mock, options: { reply: "It is 12 metres." } }
evaluators:
  - { id: parser, provider: mock, options: { reply: '{"answer": 12, "unit": "metres"}' } }
parse:
  kind: template
  model: parser
  fields:
    - { name: answer, type: number, description: "the final number" }
    - { name: unit, type: string, description: "the unit" }
metrics:
  - kind: template-verify
    name: verified
    fields:
      answer: { check: numeric }
      unit: { check: case-insensitive }
    combine: all
`;

const UNITS = [
  { id: 'u1', question: 'How long is the pool?', expected: { answer: 12, unit: 'metres' } },
  { id: 'u2', question: 'How tall is the wall?', expected: { answer: 3, unit: 'metres' } },
  { id: 'u3', question: 'How far is the shop?', expected: { answer: 12, unit: 'Metres' } },
];

const CHOOSER_REPLY = '{"reasoning": "first is fine", "best": 1, "winner": "A"}';
const BEST_OF_CONFIG = `name: best-of-and-pairwise
datasets:
  - { id: arith, path: questions.jsonl, input: question, target: answer, idField: id }
models:
  - { id: solver, provider: mock, options: { accuracy: 0.9 } }
  - { id: rival, provider: mock, options: { accuracy: 0.5 } }
evaluators:
  - { id: chooser, provider: mock, options: { reply: '${CHOOSER_REPLY}' } }
samples: 2
reduce: { kind: best-of, model: chooser }
parse: { kind: last-number }
metrics:
  - { kind: numeric-match, name: accuracy }
  - { kind: pass-at-k, k: 2, of: { kind: numeric-match } }
judges:
  - { id: versus, kind: pairwise, models: [chooser], against: { model: rival }, swap: true }
`;

const RECORDED_CONFIG = `name: recorded-answers
datasets:
  - { id: arith, path: questions.jsonl, input: question, target: answer, idField: id }
models:
  - { id: archive, provider: recorded, path: answers.jsonl, matchBy: { item: id, record: qid }, answer: output.text }
parse: { kind: last-number }
metrics: [ { kind: numeric-match } ]
`;

const INLINE_CONFIG = `name: inline-items
datasets:
  - id: inline
    items:
      - { id: a, question: "What is 2 + 3?", answer: "so #### 5" }
      - { id: b, question: "What is 7 * 6?", answer: "#### 42" }
      - { id: c, question: "What is 9 - 4?", answer: "#### 5" }
    input: question
    target: answer
    idField: id
    targetParse: { kind: after-marker, marker: "####", read: number }
models: [ { id: m, provider: mock } ]
parse: { kind: last-number }
metrics: [ { kind: numeric-match } ]
`;

const TRAITS_CONFIG = `name: item-traits
datasets:
  - { id: graded, path: graded.jsonl, input: question, target: answer, idField: id }
  - { id: hashed, path: hashed.ndjson, input: prompt.text, target: gold }
models:
  - { id: answerer, provider: mock, options: { reply: "It is 4, surely." } }
evaluators:
  - { id: grader, provider: mock, options: { reply: '{"polite": true, "depth": 3}' } }
prompt: { user: "{{input}}" }
parse: { kind: exact-text }
metrics: [ { kind: contains, name: mentions } ]
judges:
  - id: per-item
    kind: rubric
    models: [grader]
    itemTraits: rubric
    traits: [ { name: polite, kind: boolean, description: "Is it polite?" } ]
`;

const GRADED = [
  { id: 'g1', question: 'What is 2 + 2?', answer: '4', rubric: [{ name: 'depth', kind: 'score', min: 1, max: 5, description: 'How deep?' }] },
  { id: 'g2', question: 'What is 1 + 3?', answer: '4', rubric: [{ name: 'hedges', kind: 'regex', pattern: 'surely', invert: true }] },
  { id: 'g3', question: 'Name an even number.', answer: '4', rubric: [] },
];

const HASHED = [
  { prompt: { text: 'Say four.' }, gold: '4' },
  { prompt: { text: 'Say four.' }, gold: '4' },
  { prompt: { text: 'Say 4 again.' }, gold: '4' },
];

const jsonl = (rows: readonly unknown[]) => text(`${rows.map((row) => JSON.stringify(row)).join('\n')}\n`);

export function fixtures(): Fixture[] {
  const questions = jsonl(arithmeticRows(4));
  return [
    { name: 'quickstart', config: 'quickstart.yaml', files: [
      { path: 'quickstart.yaml', format: 'yaml-config', bytes: example('quickstart.yaml') },
      { path: 'data/arithmetic.jsonl', format: 'jsonl', bytes: example('data/arithmetic.jsonl'), fields: ARITHMETIC },
    ] },
    { name: 'judged', config: 'judged.yaml', files: [
      { path: 'judged.yaml', format: 'yaml-config', bytes: example('judged.yaml') },
      { path: 'data/arithmetic.jsonl', format: 'jsonl', bytes: example('data/arithmetic.jsonl'), fields: ARITHMETIC },
    ] },
    { name: 'karenina', config: 'karenina.yaml', files: [
      { path: 'karenina.yaml', format: 'yaml-config', bytes: example('karenina.yaml') },
      { path: 'data/pharmacology.jsonld', format: 'karenina', bytes: example('data/pharmacology.jsonld') },
    ] },
    { name: 'csv', config: 'experiment.yaml', files: [
      { path: 'experiment.yaml', format: 'yaml-config', bytes: text(CSV_CONFIG) },
      { path: 'capitals.csv', format: 'csv', bytes: text(CAPITALS) },
    ] },
    { name: 'json', config: 'experiment.json', files: [
      { path: 'experiment.json', format: 'json-config', bytes: text(`${JSON.stringify(JSON_CONFIG, null, 2)}\n`) },
      { path: 'rows.json', format: 'json', bytes: text(JSON.stringify(arithmeticRows(8).map(({ id, ...row }) => ({ ...row, meta: { id } })), null, 2)), fields: { input: 'question', target: 'answer' } },
    ] },
    { name: 'template', config: 'experiment.yaml', files: [
      { path: 'experiment.yaml', format: 'yaml-config', bytes: text(TEMPLATE_CONFIG) },
      { path: 'units.jsonl', format: 'jsonl', bytes: jsonl(UNITS), fields: { input: 'question', target: 'expected', id: 'id' } },
    ] },
    { name: 'best-of', config: 'experiment.yaml', files: [
      { path: 'experiment.yaml', format: 'yaml-config', bytes: text(BEST_OF_CONFIG) },
      { path: 'questions.jsonl', format: 'jsonl', bytes: questions, fields: ARITHMETIC },
    ] },
    { name: 'recorded', config: 'experiment.yaml', files: [
      { path: 'experiment.yaml', format: 'yaml-config', bytes: text(RECORDED_CONFIG) },
      { path: 'questions.jsonl', format: 'jsonl', bytes: questions, fields: ARITHMETIC },
      { path: 'answers.jsonl', format: 'jsonl', bytes: jsonl(arithmeticRows(4).map((row) => ({ qid: row.id, output: { text: `so ${row.answer}` } }))), fields: { id: 'qid' } },
    ] },
    { name: 'inline', config: 'experiment.yaml', files: [{ path: 'experiment.yaml', format: 'yaml-config', bytes: text(INLINE_CONFIG) }] },
    { name: 'item-traits', config: 'experiment.yaml', files: [
      { path: 'experiment.yaml', format: 'yaml-config', bytes: text(TRAITS_CONFIG) },
      { path: 'graded.jsonl', format: 'jsonl', bytes: jsonl(GRADED), fields: ARITHMETIC },
      { path: 'hashed.ndjson', format: 'jsonl', bytes: jsonl(HASHED), fields: { target: 'gold' } },
    ] },
  ];
}
