import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/stores/open-store.js';
import { FakeOpenAIServer, type Reply } from '../support/openai-server.js';
import { runCli, type CliResult } from '../support/cli.js';
import { httpConfig, Workspace } from '../support/workspace.js';

/** Anything a terminal could act on: C0 controls but tab and newline, DEL, C1, bidi controls, lone surrogates. */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const OSC8 = '\x1b]8;;https://evil.example/\x07click me\x1b]8;;\x07';
const BIG = `${'\x1b[2J<b>big</b>\u202e\x07'.repeat(1024)}${'x'.repeat(10 * 1024 * 1024)} The answer is 10.`;

/** Invalid UTF-8 on the wire: a bare 0xFF, an overlong slash, an encoded surrogate and a cut-off sequence. */
const BAD_UTF8 = Buffer.concat([Buffer.from('bytes '), Buffer.from([0xff, 0x20, 0xc0, 0xaf, 0x20, 0xed, 0xa0, 0x80, 0x20, 0xe2, 0x82]), Buffer.from(' The answer is 8.')]);

/** The answer to each question, by item id; `q8`'s comes as raw bytes, `q9`'s as an error. */
const ANSWERS: Record<string, string> = {
  q1: '\x1b[2J\x1b[H\x1b[31mThe answer is 1.\x1b[0m',
  q2: `${OSC8} \x1b]0;pwned title\x07 The answer is 2.`,
  q3: 'ding\x07\x07 nul\u0000byte\u0000 The answer is -3.',
  q4: '\u009b2J \u009d0;c1 title\u009c next\u0085line The answer is 4.',
  q5: 'if (isAdmin \u202e\u2066) {\u2069\u2066 return } The answer is 5.',
  q6: '<script>alert(1)</script><img src=x onerror="alert(2)"> The answer is 6.',
  q7: '=HYPERLINK("https://evil.example/","The answer is 7")',
  q8: new TextDecoder().decode(BAD_UTF8),
  q10: BIG,
};
const HOSTILE_ERROR = 'bad request \x1b[2J\x07\u202e\u009b';

function rawChatBody(content: Buffer): Buffer {
  const [before, after] = JSON.stringify({
    id: 'chatcmpl-raw',
    object: 'chat.completion',
    created: 0,
    model: 'test-model',
    choices: [{ index: 0, message: { role: 'assistant', content: '@@' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 },
  }).split('@@') as [string, string];
  return Buffer.concat([Buffer.from(before), content, Buffer.from(after)]);
}

function reply(itemId: string): Reply {
  if (itemId === 'q8') return { kind: 'raw', status: 200, body: rawChatBody(BAD_UTF8) };
  if (itemId === 'q9') return { kind: 'error', status: 400, body: JSON.stringify({ error: { message: HOSTILE_ERROR, type: 'invalid_request_error' } }) };
  return { kind: 'answer', text: ANSWERS[itemId]! };
}

/** Ten questions; the prompt is the item id, so the server knows which hostile answer to send. `q3`'s answer is -3. */
function dataset(): string {
  const target = (number: number) => String(number === 3 ? -3 : number);
  return Array.from({ length: 10 }, (_, index) => JSON.stringify({ id: `q${index + 1}`, question: `q${index + 1}`, answer: target(index + 1) })).join('\n') + '\n';
}

const CONFIG = (baseURL: string) => httpConfig(baseURL, { name: '"hostile \\e[2J\\u202e run"', maxAttempts: 1 });
const key = (itemId: string) => `arith/${itemId}/local/default/0`;

function expectSafe(result: CliResult, what: string): void {
  expect(RAW_CONTROL.exec(result.stdout)?.[0], `${what}: raw control character on stdout`).toBeUndefined();
  expect(RAW_CONTROL.exec(result.stderr)?.[0], `${what}: raw control character on stderr`).toBeUndefined();
}

describe('hostile model output: stored intact, displayed safely', () => {
  let workspace: Workspace;
  let server: FakeOpenAIServer;
  let run: CliResult;
  let runId: string;
  const cli = (...args: string[]) => runCli(args, { cwd: workspace.dir });

  beforeAll(async () => {
    workspace = new Workspace();
    server = await new FakeOpenAIServer((request) => reply(request.prompt)).start();
    workspace.write('questions.jsonl', dataset());
    workspace.write('experiment.yaml', CONFIG(server.baseURL));
    run = await cli('run', 'experiment.yaml', '--output', 'results.csv');
    expect(run.code, run.stderr).toBe(0);
    runId = JSON.parse((await cli('quickcheck', 'experiment.yaml', '--json')).stdout).runId;
  }, 120_000);
  afterAll(async () => {
    await server.stop();
    workspace?.remove();
  });

  it('keeps every answer exactly in the store, with invalid UTF-8 read as U+FFFD', async () => {
    expect(ANSWERS.q8).toContain('\ufffd');
    const store = await openStore(workspace.path('store.db'), { create: false });
    try {
      for (const [itemId, text] of Object.entries(ANSWERS)) {
        const task = (await store.getTask(runId, key(itemId)))!;
        const artifacts = (await store.loadArtifacts(runId, [task.ord])).get(task.ord)!;
        expect(artifacts.candidates![0]!.text, itemId).toBe(text);
        expect(artifacts.reduced!.text, itemId).toBe(text);
      }
      const failed = (await store.getTask(runId, key('q9')))!;
      expect(failed.progress.failure?.message).toContain(HOSTILE_ERROR);
    } finally {
      await store.close();
    }
  });

  it('prints the run summary and its progress lines with no raw control characters', () => {
    expectSafe(run, 'run');
    expect(run.stdout).toContain('hostile \\x1b[2J\\u202e run');
  });

  it('shows each answer escaped in inspect evaluation, and exactly in its --json', async () => {
    for (const [itemId, text] of Object.entries(ANSWERS)) {
      const shown = await cli('inspect', 'evaluation', runId, '--task', key(itemId), '--store', 'store.db');
      expect(shown.code, shown.stderr).toBe(0);
      expectSafe(shown, `inspect evaluation ${itemId}`);
      const json = await cli('inspect', 'evaluation', runId, '--task', key(itemId), '--store', 'store.db', '--json');
      expectSafe(json, `inspect evaluation --json ${itemId}`);
      expect(JSON.parse(json.stdout).reduced.text, itemId).toBe(text);
    }
    const clear = await cli('inspect', 'evaluation', runId, '--task', key('q1'), '--store', 'store.db');
    expect(clear.stdout).toContain('answer: \\x1b[2J\\x1b[H\\x1b[31mThe answer is 1.\\x1b[0m');
    const link = await cli('inspect', 'evaluation', runId, '--task', key('q2'), '--store', 'store.db');
    expect(link.stdout).toContain('\\x1b]8;;https://evil.example/\\x07click me');
    const c1 = await cli('inspect', 'evaluation', runId, '--task', key('q4'), '--store', 'store.db');
    expect(c1.stdout).toContain('\\x9b2J \\x9d0;c1 title\\x9c next\\x85line');
    const bidi = await cli('inspect', 'evaluation', runId, '--task', key('q5'), '--store', 'store.db');
    expect(bidi.stdout).toContain('if (isAdmin \\u202e\\u2066) {\\u2069\\u2066 return }');
    const html = await cli('inspect', 'evaluation', runId, '--task', key('q6'), '--store', 'store.db');
    expect(html.stdout).toContain(ANSWERS.q6);
  }, 120_000);

  it('keeps quickcheck, inspect state, inspect snapshot and runs free of raw control characters', async () => {
    const quickcheck = await cli('quickcheck', 'experiment.yaml');
    expect(quickcheck.code, quickcheck.stderr).toBe(0);
    expectSafe(quickcheck, 'quickcheck');
    expect(quickcheck.stdout).toContain('hostile \\x1b[2J\\u202e run');
    expect(quickcheck.stdout).toContain('bad request \\x1b[2J\\x07\\u202e\\x9b');
    const json = await cli('quickcheck', 'experiment.yaml', '--json');
    expectSafe(json, 'quickcheck --json');
    expect(JSON.parse(json.stdout).name).toBe('hostile \x1b[2J\u202e run');
    for (const args of [['inspect', 'state', 'experiment.yaml'], ['inspect', 'snapshot', 'experiment.yaml'], ['runs', '--store', 'store.db']]) {
      const result = await cli(...args);
      expect(result.code, result.stderr).toBe(0);
      expectSafe(result, args.join(' '));
    }
  }, 60_000);

  it('neutralises formula cells in the results CSV and keeps the other text exact', () => {
    const rows = parse(readFileSync(workspace.path('results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    const answer = (itemId: string) => rows.find((row) => row.item === itemId)!.answer;
    expect(answer('q7')).toBe(`'${ANSWERS.q7}`);
    for (const itemId of ['q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q8', 'q10']) expect(answer(itemId), itemId).toBe(ANSWERS[itemId]);
    // Numbers stay numbers: the parsed -3 and the score are written bare, not quoted as text.
    expect(rows.find((row) => row.item === 'q3')).toMatchObject({ parsed: '-3', accuracy: '1' });
    expect(readFileSync(workspace.path('results.csv'), 'utf8')).toMatch(/,-3,,1,,,\n/);
    expect(rows.find((row) => row.item === 'q9')!.failure_message).toContain(HOSTILE_ERROR);
  });

  it('shows a progressive-save job safely in status, and writes the exact text to its JSON results file', async () => {
    const partial = await cli('run', 'experiment.yaml', '--output', 'results.json', '--progressive-save');
    expect(partial.code, partial.stderr).toBe(0);
    expectSafe(partial, 'run --progressive-save');
    const status = await cli('status', 'results.json.state', '--tasks');
    expect(status.code, status.stderr).toBe(0);
    expectSafe(status, 'status');
    expect(status.stdout).toContain('hostile \\x1b[2J\\u202e run');
    server.behaviour = (request) => (request.prompt === 'q9' ? { kind: 'answer', text: 'The answer is 9.' } : reply(request.prompt));
    const resumed = await cli('run', '--resume', 'results.json.state');
    expect(resumed.code, resumed.stderr).toBe(0);
    expectSafe(resumed, 'run --resume');
    const results = JSON.parse(readFileSync(workspace.path('results.json'), 'utf8')) as { metadata: { name: string }; results: { item: string; reduced: { text: string } | null }[] };
    expect(results.metadata.name).toBe('hostile \x1b[2J\u202e run');
    for (const [itemId, text] of Object.entries(ANSWERS)) expect(results.results.find((entry) => entry.item === itemId)!.reduced!.text, itemId).toBe(text);
  }, 120_000);
});

describe('hostile text in a user error', () => {
  it('prints the one error line with its control characters escaped', async () => {
    const workspace = new Workspace();
    try {
      const evil = 'x\x1b[2J\x07\u202e';
      workspace.write('questions.jsonl', `${JSON.stringify({ id: evil, question: 'a', answer: '1' })}\n${JSON.stringify({ id: evil, question: 'b', answer: '2' })}\n`);
      workspace.write('experiment.yaml', httpConfig('http://127.0.0.1:9/v1'));
      const result = await runCli(['run', 'experiment.yaml'], { cwd: workspace.dir });
      expect(result.code).toBe(1);
      expectSafe(result, 'run with a hostile duplicate id');
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain("assay: error: ");
      expect(result.stderr).toContain("duplicate id 'x\\x1b[2J\\x07\\u202e'");
    } finally {
      workspace.remove();
    }
  });
});
