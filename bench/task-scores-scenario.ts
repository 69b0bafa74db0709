// What task_scores (schema 6) adds to a write: the same score events appended to two fresh stores, one as
// the store keeps them and one with the task_scores statements made no-ops (its table replaced by a view
// with INSTEAD OF triggers that do nothing), in batches like the engine's group commits.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../src/stores/sqlite/sqlite-store.js';
import { hashValue } from '../src/core/canonical-json.js';
import { testSnapshot } from '../src/testing/snapshot.js';

const [workDirectory, tasksText] = process.argv.slice(2);
const tasks = Number(tasksText ?? 200_000);
const BATCH = 256;

async function measure(withoutScores: boolean): Promise<number> {
  const path = join(workDirectory!, `task-scores-${withoutScores ? 'off' : 'on'}.db`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  openSqliteStore(path).close();
  if (withoutScores) {
    const db = new Database(path);
    db.exec(`DROP TABLE task_scores; CREATE VIEW task_scores AS SELECT 0 AS run_pk, 0 AS ord, 0 AS kind, '' AS name, 0.0 AS value WHERE 0;
      CREATE TRIGGER task_scores_insert INSTEAD OF INSERT ON task_scores BEGIN SELECT 1; END;
      CREATE TRIGGER task_scores_delete INSTEAD OF DELETE ON task_scores BEGIN SELECT 1; END;`);
    db.close();
  }
  const store = openSqliteStore(path);
  const snapshot = testSnapshot({
    datasets: [{ id: 'ds', fingerprint: 'f'.repeat(64), itemCount: tasks, fields: { input: 'q', target: 'a', idField: 'id' }, targetParse: null }],
    models: [{ id: 'm', provider: 'mock', model: 'mock', params: {}, options: {} }],
    prompts: [{ id: 'default', system: null, user: '{{input}}' }],
    samples: 1,
    seed: 0,
  });
  const runId = hashValue(snapshot);
  const items = Array.from({ length: tasks }, (_, ord) => ({ ord, datasetId: 'ds', itemId: `i${ord}`, input: `q${ord}`, target: '1', fields: { id: `i${ord}`, q: `q${ord}`, a: '1' } }));
  await store.createRun({ runId, name: 'bench', snapshot, provenance: {} as never, items, taskCount: tasks });
  const started = performance.now();
  for (let first = 0; first < tasks; first += BATCH) {
    const events = [];
    for (let ord = first; ord < Math.min(tasks, first + BATCH); ord++) {
      events.push(
        { taskOrd: ord, type: 'generate-completed', payload: { sample: 0, candidate: { text: `The answer is ${ord}.`, finishReason: { unified: 'stop', raw: 'stop' }, usage: { inputTokens: 3, outputTokens: 5 }, latencyMs: 1 } } },
        { taskOrd: ord, type: 'reduce-completed', payload: { reduced: { sources: [0] } } },
        { taskOrd: ord, type: 'parse-completed', payload: { outcome: { ok: true, value: ord } } },
        { taskOrd: ord, type: 'score-completed', payload: { scores: { accuracy: { value: ord % 2 }, f1: { value: 0.5 } } } },
      );
    }
    await store.appendEvents({ runId, owner: null, events: events as never, release: [] });
  }
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  return seconds;
}

const off: number[] = [];
const on: number[] = [];
for (let round = 0; round < 3; round++) {
  off.push(await measure(true));
  on.push(await measure(false));
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[1]!;
process.stdout.write(JSON.stringify({ tasks, scoresPerTask: 2, withoutSeconds: median(off), withSeconds: median(on) }));
