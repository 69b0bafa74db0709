import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../core/errors.js';
import { Experiment } from '../../experiment/experiment.js';
import { openStore } from '../open-store.js';
import { writeResultsFile } from '../../report/results-file.js';
import type { Store, TaskProgress } from '../../spec/store.js';
import { openSqliteStore } from '../sqlite/sqlite-store.js';
import { ResultsFileStore, resultsFileKind } from './results-file-store.js';

// Two samples voted on, two replicates, a panel of two judges that disagree, an extra dataset field, and an
// item whose target no metric can read (its score stage fails): every kind of artifact a results file holds.
const ROWS = [
  { id: 'a', question: 'What is 2 + 2?', answer: '4', topic: 'sums' },
  { id: 'b', question: 'What is 6 * 7?', answer: '42', topic: 'products' },
  { id: 'c', question: 'What is 9 - 4?', answer: 'five', topic: 'differences' },
  { id: 'd', question: 'What is 3 + 8?', answer: '11', topic: 'sums' },
];
const CONFIG = `name: results-file-store
datasets: [ { id: rows, path: rows.jsonl, input: question, target: answer, idField: id } ]
models:
  - { id: good, provider: mock, options: { accuracy: 0.9 } }
  - { id: poor, provider: mock, options: { accuracy: 0.4 } }
evaluators:
  - { id: judge-yes, provider: mock, options: { reply: '{"correct": true}' } }
  - { id: judge-no, provider: mock, options: { reply: '{"correct": false}' } }
prompt: { user: "{{input}}" }
samples: 2
replicates: 2
reduce: { kind: majority-vote }
parse: { kind: last-number }
metrics: [ { kind: numeric-match, name: accuracy } ]
judges:
  - { id: panel, kind: rubric, models: [judge-yes, judge-no], traits: [ { name: correct, kind: boolean, description: "right?" } ] }
runtime: { store: store.db }
`;

/** Progress without the event sequence numbers, which each store numbers its own way. */
const state = (progress: TaskProgress) => ({ nextStage: progress.nextStage, failed: progress.failed, failure: progress.failure, candidates: progress.candidateSeqs.map((seq) => seq !== null) });

describe('the results-file store', () => {
  let folder: string;
  let sqlite: Store;
  let results: ResultsFileStore;
  let runId: string;
  let tasks: number;

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'assay-results-file-'));
    writeFileSync(join(folder, 'rows.jsonl'), `${ROWS.map((row) => JSON.stringify(row)).join('\n')}\n`);
    writeFileSync(join(folder, 'config.yaml'), CONFIG);
    const summary = await Experiment.fromConfig(join(folder, 'config.yaml')).run();
    runId = summary.runId;
    tasks = summary.tasks;
    sqlite = openSqliteStore(join(folder, 'store.db'), { create: false });
    await writeResultsFile(sqlite, runId, join(folder, 'results.json'));
    results = ResultsFileStore.open(join(folder, 'results.json'));
  });
  afterAll(async () => {
    await results?.close();
    await sqlite?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('holds the run, with failures, panels and every item field', async () => {
    expect(tasks).toBe(ROWS.length * 2 * 2);
    const failures = await sqlite.countFailures(runId);
    expect(failures).toEqual([{ stage: 'score', category: expect.any(String), count: 4 }]);
    expect((await results.loadItems(runId)).map((item) => item.fields)).toEqual(ROWS);
  });

  it('reads as the store it was written from', async () => {
    const run = (await results.getRun(runId))!;
    const source = (await sqlite.getRun(runId))!;
    expect({ ...run, updatedAt: null }).toEqual({ ...source, updatedAt: null });
    expect(await results.listRuns()).toEqual([run]);
    expect(await results.findRuns(runId.slice(0, 6), 5)).toEqual([run]);
    expect(await results.findRuns('ffff', 5)).toEqual([]);
    expect(await results.getRun('ffff')).toBeUndefined();
    expect(await results.loadItems(runId)).toEqual(await sqlite.loadItems(runId));
    expect(await results.loadItemsAt(runId, [3, 1, 99])).toEqual(await sqlite.loadItemsAt(runId, [3, 1, 99]));

    const sorted = <T>(rows: T[]) => rows.map((row) => JSON.stringify(row)).sort();
    expect(sorted(await results.getStageHistogram(runId))).toEqual(sorted(await sqlite.getStageHistogram(runId)));
    expect(sorted(await results.getUsageTotals(runId))).toEqual(sorted(await sqlite.getUsageTotals(runId)));
    expect(await results.listFailures(runId, 100)).toEqual(await sqlite.listFailures(runId, 100));
    expect(await results.listFailures(runId, 2)).toEqual(await sqlite.listFailures(runId, 2));
    expect(await results.countFailures(runId)).toEqual(await sqlite.countFailures(runId));
    const totals = await results.getScoreTotals(runId);
    const expected = await sqlite.getScoreTotals(runId);
    expect(totals.map(({ sum, sumOfSquares, ...key }) => key)).toEqual(expected.map(({ sum, sumOfSquares, ...key }) => key));
    totals.forEach((row, index) => {
      expect(row.sum).toBeCloseTo(expected[index]!.sum, 9);
      expect(row.sumOfSquares).toBeCloseTo(expected[index]!.sumOfSquares!, 9);
    });
    expect(totals.map((row) => row.metric)).toContain('panel.correct');

    const ords = Array.from({ length: tasks }, (_, ord) => ord);
    const mine = await results.loadArtifacts(runId, [...ords, tasks + 5]);
    const theirs = await sqlite.loadArtifacts(runId, ords);
    expect(mine.size).toBe(tasks);
    for (const ord of ords) {
      const { progress, ...artifacts } = mine.get(ord)!;
      const { progress: expectedProgress, ...expectedArtifacts } = theirs.get(ord)!;
      expect(artifacts).toEqual(expectedArtifacts);
      expect(state(progress)).toEqual(state(expectedProgress));
    }

    // A report reads every page; rows are numbers only, equal to the source's.
    const pages = [...(await results.readResults(runId, -1, 5)), ...(await results.readResults(runId, 4, 1000))];
    expect(pages).toEqual(await sqlite.readResults(runId, -1, 1000));
    expect(pages.some((row) => row.ratings !== null)).toBe(true);
    expect(await results.readResults(runId, tasks - 1, 10)).toEqual([]);

    const key = (JSON.parse(readFileSync(join(folder, 'results.json'), 'utf8')) as { results: { task: string }[] }).results[7]!.task;
    const task = (await results.getTask(runId, key))!;
    const expectedTask = (await sqlite.getTask(runId, key))!;
    expect({ ...task, progress: state(task.progress) }).toEqual({ ...expectedTask, progress: state(expectedTask.progress) });
    expect(await results.getTask(runId, 'rows/zz/poor/default/1')).toBeUndefined();
    expect(await results.listOwners(runId)).toEqual([]);
    expect(await results.findRunsSharingGenerations(runId)).toEqual([]);
  });

  it('gives each task its current events, synthesized from its entry', async () => {
    const scored = await results.readTaskEvents(runId, 0);
    expect(scored.map((event) => event.type)).toEqual(['generate-completed', 'generate-completed', 'reduce-completed', 'parse-completed', 'score-completed', 'judge-completed']);
    const artifacts = (await results.loadArtifacts(runId, [0])).get(0)!;
    expect(artifacts.progress.candidateSeqs).toEqual(scored.slice(0, 2).map((event) => event.seq));
    expect(artifacts.progress.judgeSeq).toBe(scored[5]!.seq);
    // Item c (the third) has a target no metric reads: its tasks stop at score with the failure.
    const failed = await results.readTaskEvents(runId, 2 * 4);
    expect(failed.map((event) => event.type)).toEqual(['generate-completed', 'generate-completed', 'reduce-completed', 'parse-completed', 'score-failed']);
    expect(await results.readTaskEvents(runId, tasks)).toEqual([]);
    const batch = await results.readTaskEventsAt(runId, [2 * 4, 0, tasks]);
    expect([...batch.entries()]).toEqual([
      [2 * 4, failed],
      [0, scored],
      [tasks, []],
    ]);
  });

  it('refuses every write with one line, and leaves the file as it was', async () => {
    const path = join(folder, 'results.json');
    const before = readFileSync(path);
    // Called as a Store: the results-file store declares its writes without parameters.
    const store: Store = results;
    const writes: (() => Promise<unknown>)[] = [
      () => store.createRun({ runId, name: 'x', snapshot: {} as never, provenance: {} as never, items: [], taskCount: 0 }),
      () => store.deleteRun(runId),
      () => store.setRunStatus(runId, 'completed', 'judge'),
      () => store.appendRunEvent(runId, 'run-rewound', { stage: 'score' }),
      () => store.registerOwner({ owner: 'o', runId, host: 'h', pid: 1 }, 1000),
      () => store.heartbeat('o', 1000, new Map()),
      () => store.releaseOwner('o'),
      () => store.reserveCalls({ runId, model: 'm', requests: 1, tokensPerRequest: 1, requestLimit: 1, tokenLimit: null, windowMs: 1000 }),
      () => store.pauseModel(runId, 'm', 1000),
      () => store.claimTasks({ runId, owner: 'o', untilStage: 'judge', limit: 1 }),
      () => store.appendEvents({ runId, owner: 'o', events: [], release: [] }),
      () => store.importRun({ runId, events: [] }),
      () => store.resetFailures(runId, 'judge'),
      () => store.rewind(runId, 'score'),
    ];
    for (const write of writes) {
      const error = await write().then(() => null, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).line()).toMatch(/a results file is read-only .*run the job again$/);
      expect((error as StoreError).line()).not.toContain('\n');
    }
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('opens a file written before items had fields, with fields {input, target}', async () => {
    const text = readFileSync(join(folder, 'results.json'), 'utf8');
    const old = text.replace(/\n"items":\[\n[\s\S]*?\n\],\n"results":\[/, '\n"results":[');
    expect(old).not.toContain('"items"');
    writeFileSync(join(folder, 'old.json'), old);
    const store = ResultsFileStore.open(join(folder, 'old.json'));
    try {
      const items = await store.loadItems(runId);
      expect(items.map((item) => item.fields)).toEqual(ROWS.map((row) => ({ input: row.question, target: row.answer })));
      expect(items.map(({ fields: _fields, ...item }) => item)).toEqual((await sqlite.loadItems(runId)).map(({ fields: _fields, ...item }) => item));
      expect(await store.readResults(runId, -1, 1000)).toEqual(await sqlite.readResults(runId, -1, 1000));
      // Old readers: the whole file is still one JSON document, with its results where they were.
      expect(JSON.parse(text).results).toEqual(JSON.parse(old).results);
    } finally {
      await store.close();
    }
  });

  it('is opened by openStore from its first bytes; a damaged or cut file is refused with the reason', async () => {
    const path = join(folder, 'results.json');
    expect(resultsFileKind(path)).toBe('json');
    expect(resultsFileKind(join(folder, 'store.db'))).toBeNull();
    expect(resultsFileKind(join(folder, 'missing.json'))).toBeNull();
    expect(resultsFileKind(folder)).toBeNull();
    const opened = await openStore(path, { create: false });
    try {
      expect(opened.kind).toBe('results-file');
      expect((await opened.listRuns()).map((run) => run.runId)).toEqual([runId]);
    } finally {
      await opened.close();
    }
    await writeResultsFile(sqlite, runId, join(folder, 'results.csv'));
    expect(resultsFileKind(join(folder, 'results.csv'))).toBe('csv');
    let refusal: unknown;
    try {
      await openStore(join(folder, 'results.csv'), { create: false });
    } catch (error) {
      refusal = error;
    }
    expect((refusal as StoreError).line()).toMatch(/results\.csv is a CSV results file, which holds no run; write the JSON output \(--output results\.json\)/);

    const text = readFileSync(path, 'utf8');
    writeFileSync(join(folder, 'cut.json'), text.slice(0, Math.floor(text.length * 0.8)));
    expect(() => ResultsFileStore.open(join(folder, 'cut.json'))).toThrow(StoreError);
    const lines = text.split('\n');
    const index = lines.findIndex((line) => line.startsWith('{"task"'));
    writeFileSync(join(folder, 'swapped.json'), [...lines.slice(0, index), lines[index + 1]!, lines[index]!, ...lines.slice(index + 2)].join('\n'));
    expect(() => ResultsFileStore.open(join(folder, 'swapped.json'))).toThrow(/line \d+ of the results file is task .* where the run's task 1 is/);
    writeFileSync(join(folder, 'pretty.json'), JSON.stringify(JSON.parse(text), null, 2));
    expect(resultsFileKind(join(folder, 'pretty.json'))).toBeNull();
    expect(() => ResultsFileStore.open(join(folder, 'pretty.json'))).toThrow(/is not an assay results file/);
    writeFileSync(join(folder, 'joined.json'), text.replace('},\n{"task"', '},{"task"'));
    expect(() => ResultsFileStore.open(join(folder, 'joined.json'))).toThrow(/is not valid JSON/);
  });
});
