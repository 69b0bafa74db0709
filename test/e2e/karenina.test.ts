import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REFUSED, TRANSLATABLE, kareninaCheckpoint } from '../../src/testing/karenina-templates.js';
import { FakeOpenAIServer, type RecordedRequest, type Reply } from '../support/openai-server.js';
import { runCli } from '../support/cli.js';
import { Workspace } from '../support/workspace.js';

const GENE = TRANSLATABLE.find((template) => template.name.startsWith('gene'))!.python;
const GRANULAR = TRANSLATABLE.find((template) => template.name.startsWith('granular'))!.python;
const TOLERANCE = TRANSLATABLE.find((template) => template.name.startsWith('number with tolerance'))!.python;

/** Per question: what the answering model says, and the fields the parsing model reads from it. */
const QUESTIONS = [
  { id: 'q-gene', text: 'Which gene does venetoclax target, and what does it do?', python: GENE, answer: 'BCL2, an anti-apoptotic gene.', fields: { gene_name: 'bcl2', gene_function: 'Anti-apoptotic regulator' } },
  { id: 'q-drug', text: 'Which drug targets BCL2, and what is its target?', python: GRANULAR, answer: 'Venetoclax, which targets MCL1.', fields: { drug: 'Venetoclax', target: 'MCL1' } },
  { id: 'q-dose', text: 'What concentration was used, in mM?', python: TOLERANCE, answer: 'About 3 mM.', fields: { value: 3 } },
  { id: 'q-broken', text: 'A question the parsing model cannot take', python: GENE, answer: 'BCL2.', fields: {} },
  { id: 'q-refused', text: 'A question whose template imports os', python: REFUSED[0]!.python, answer: 'Something.', fields: {} },
];

function behaviour(request: RecordedRequest): Reply {
  const question = QUESTIONS.find((entry) => request.prompt.includes(entry.text));
  if (!question) return { kind: 'error', status: 400, body: 'unknown question' };
  if (request.model === 'solver-model') return { kind: 'answer', text: question.answer };
  if (question.id === 'q-broken') return { kind: 'error', status: 400, body: '{"error":{"message":"this request is refused"}}' };
  return { kind: 'answer', text: JSON.stringify(question.fields) };
}

const RATING = [
  {
    '@type': 'Rating',
    name: 'no_hedging',
    bestRating: 1,
    worstRating: 0,
    additionalType: 'karenina:GlobalRegexTrait',
    additionalProperty: [
      { '@type': 'PropertyValue', name: 'pattern', value: 'about' },
      { '@type': 'PropertyValue', name: 'case_sensitive', value: false },
      { '@type': 'PropertyValue', name: 'invert_result', value: true },
    ],
  },
];

describe.each(['DataFeed', 'Dataset'] as const)('a karenina checkpoint (%s layout) with translated answer templates, over real HTTP', (layout) => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;
  const cli = async (...args: string[]) => {
    const result = await runCli(args, { cwd: workspace.dir });
    expect(result.code, result.stderr).toBe(0);
    return result;
  };

  beforeEach(async () => {
    workspace = new Workspace();
    server = await new FakeOpenAIServer(behaviour).start();
    const checkpoint = kareninaCheckpoint(layout, QUESTIONS.map(({ id, text, python }) => ({ id, text, answer: 'x', python })));
    workspace.write('checkpoint.jsonld', JSON.stringify({ ...checkpoint, rating: RATING }));
    const model = (id: string, name: string) => `  - { id: ${id}, provider: openai-compatible, model: ${name}, baseURL: ${server.baseURL} }`;
    workspace.write(
      'experiment.yaml',
      `name: karenina-templates
datasets: [ { id: bench, path: checkpoint.jsonld } ]
models:
${model('solver', 'solver-model')}
evaluators:
${model('parser', 'parser-model')}
parse: { kind: karenina-template, model: parser }
metrics: [ { kind: karenina-verify } ]
judges: [ { id: rubric, kind: rubric, models: [parser], itemTraits: rubric } ]
runtime: { store: store.db, concurrency: 2, maxAttempts: 2, retryBaseDelayMs: 10 }
`,
    );
  });
  afterEach(async () => {
    await server.stop();
    workspace.remove();
  });

  it('grades by the translated verify() and verify_granular(), shows it in inspect, and exports karenina results', async () => {
    const run = await cli('run', 'experiment.yaml', '--output', 'results.json', '--format', 'karenina', '--json');
    expect(run.stderr).toMatch(/4 of 5 answer templates translated/);
    expect(run.stderr).toMatch(/q-refused: answer template not translated: import of 'os'/);
    const summary = JSON.parse(run.stdout);
    // q-broken fails at parse (the parsing model answers 400), and is recorded as a failure.
    expect(summary).toMatchObject({ status: 'partial', tasks: 5, done: 4, failed: 1 });
    // verify: gene right, drug wrong (target MCL1), dose wrong (3 vs 2.5 +- 0.1); the refused question is not scored.
    const verify = summary.scores.find((row: { metric: string }) => row.metric === 'verify');
    expect(verify).toMatchObject({ n: 3 });
    expect(verify.mean).toBeCloseTo(1 / 3);
    // Granular is defined by one template only: drug right, target wrong.
    expect(summary.scores.find((row: { metric: string }) => row.metric === 'verify.granular')).toMatchObject({ n: 1, mean: 0.5 });
    // The parsing model was asked for the template's own fields, with their descriptions, in a JSON schema.
    const parse = server.requests.find((request) => request.model === 'parser-model' && request.prompt.includes('venetoclax target'))!;
    expect(parse.prompt).toContain('- gene_name (string): The gene symbol');
    expect(JSON.stringify(parse.body)).toContain('"gene_function"');
    // No parse request for the refused template.
    expect(server.requests.filter((request) => request.model === 'parser-model' && request.prompt.includes('imports os'))).toHaveLength(0);

    const inspect = await cli('inspect', 'evaluation', 'experiment.yaml', '--task', 'bench/q-gene/solver/default/0');
    expect(inspect.stdout).toContain('  |     def verify(self) -> bool:');
    expect(inspect.stdout).toContain('verify() evaluated as: let name_match = [#0 self.gene_name.upper() == self.correct["gene_name"]];');
    expect(inspect.stdout).toContain('parsed fields: {"gene_name":"bcl2","gene_function":"Anti-apoptotic regulator"}');
    expect(inspect.stdout).toMatch(/#0 true +self\.gene_name\.upper\(\) == self\.correct\["gene_name"\] +with "BCL2", "BCL2"/);
    expect(inspect.stdout).toMatch(/#1 true +self\.correct\["gene_function"\]\.lower\(\) in self\.gene_function\.lower\(\) +with "anti-apoptotic", "anti-apoptotic regulator"/);
    const inspected = JSON.parse((await cli('inspect', 'evaluation', 'experiment.yaml', '--task', 'bench/q-drug/solver/default/0', '--json')).stdout);
    expect(inspected.answerTemplate.python).toBe(GRANULAR);
    expect(inspected.answerTemplate.verify.expression.op).toBe('and');
    expect(inspected.scores.verify.details.verify.comparisons.map((outcome: { result: boolean }) => outcome.result)).toEqual([true, false]);
    expect(inspected.scores.verify.details.fieldResults).toEqual({ drug: true, target: false });

    const exported = JSON.parse(readFileSync(workspace.path('results.json'), 'utf8'));
    expect(exported.format_version).toBe('2.2');
    expect(exported.metadata).toMatchObject({
      karenina_version: null,
      job_id: summary.runId,
      verification_config: { answering_models: [{ id: 'solver', model_name: 'solver-model' }], parsing_models: [{ id: 'parser', model_name: 'parser-model' }] },
      job_summary: { total_questions: 5, successful_count: 4, failed_count: 1, is_complete: false, end_time: null },
    });
    expect(exported.shared_data.rubric_definition.regex_traits).toEqual([expect.objectContaining({ name: 'no_hedging', kind: 'regex' })]);
    const byQuestion = new Map(exported.results.map((entry: { metadata: { question_id: string } }) => [entry.metadata.question_id, entry]));
    expect(byQuestion.get('q-gene')).toMatchObject({
      metadata: { question_id: 'q-gene', failure: null, question_text: QUESTIONS[0]!.text, answering: { model_name: 'solver-model' }, parsing: { model_name: 'parser-model' }, replicate: 0 },
      template: {
        raw_llm_response: 'BCL2, an anti-apoptotic gene.',
        parsed_gt_response: { gene_name: 'BCL2', gene_function: 'anti-apoptotic' },
        parsed_llm_response: QUESTIONS[0]!.fields,
        template_verification_performed: true,
        verify_result: true,
        verify_granular_result: null,
        field_results: { gene_name: true, gene_function: true },
      },
      rubric: { rubric_evaluation_performed: true, regex_trait_scores: { no_hedging: true } },
    });
    expect(byQuestion.get('q-drug')).toMatchObject({ template: { verify_result: false, verify_granular_result: 0.5, field_results: { drug: true, target: false } } });
    expect(byQuestion.get('q-dose')).toMatchObject({ template: { verify_result: false }, rubric: { regex_trait_scores: { no_hedging: false } } });
    expect(byQuestion.get('q-broken')).toMatchObject({
      metadata: { failure: { stage: 'parse', category: 'client_error', reason: 'this request is refused' }, completed_without_errors: false },
      template: { template_verification_performed: false, verify_result: null, parsed_llm_response: null },
    });
    expect(byQuestion.get('q-refused')).toMatchObject({ template: { template_verification_performed: false, verify_result: null, parsed_gt_response: null } });

    // The same export from the store, on stdout.
    const again = JSON.parse((await cli('results', 'experiment.yaml', '--format', 'karenina')).stdout);
    expect(again.results).toEqual(exported.results);
  });
});
