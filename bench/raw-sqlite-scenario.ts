// The physical reference: the same rows the harness writes per task (4 events, one task row created, then
// updated), inserted straight into SQLite with the same schema, pragmas and batch size, and nothing else.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SCHEMA_SQL } from '../dist/stores/sqlite/schema.js';

const [workDirectory, countText] = process.argv.slice(2);
const count = Number(countText);
const path = join(workDirectory!, `raw-${count}.db`);
for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
const db = new Database(path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('cache_size = -32768');
db.pragma('wal_autocheckpoint = 8192');
db.exec(SCHEMA_SQL);
const insertTask = db.prepare('INSERT INTO tasks (run_pk, ord, lease_owner) VALUES (1, ?, 1)');
const insertEvent = db.prepare('INSERT INTO events (run_pk, task_ord, type, payload, created_at) VALUES (1, ?, ?, ?, ?)');
const updateTask = db.prepare(
  'UPDATE tasks SET next_stage = 5, failed = 0, failure = NULL, candidate_seqs = ?, reduce_seq = ?, parse_seq = ?, score_seq = ?, judge_seq = NULL, lease_owner = NULL WHERE run_pk = 1 AND ord = ?',
);
const generated = (index: number) =>
  JSON.stringify({ sample: 0, candidate: { text: `Let me work it out: 123 + ${index % 997} = ${123 + (index % 997)}. The answer is ${123 + (index % 997)}.`, finishReason: { unified: 'stop', raw: 'stop' }, usage: { inputTokens: 10, outputTokens: 14 }, latencyMs: 0.0123 } });
const reduced = JSON.stringify({ reduced: { sources: [0] } });
const batch = 256;
const started = performance.now();
for (let first = 0; first < count; first += batch) {
  db.transaction(() => {
    const last = Math.min(count, first + batch);
    for (let ord = first; ord < last; ord++) insertTask.run(ord);
    const now = Date.now();
    for (let ord = first; ord < last; ord++) {
      const a = insertEvent.run(ord, 'generate-completed', generated(ord), now).lastInsertRowid;
      const b = insertEvent.run(ord, 'reduce-completed', reduced, now).lastInsertRowid;
      const c = insertEvent.run(ord, 'parse-completed', JSON.stringify({ outcome: { ok: true, value: ord } }), now).lastInsertRowid;
      const d = insertEvent.run(ord, 'score-completed', JSON.stringify({ scores: { 'numeric-match': { value: 1 } } }), now).lastInsertRowid;
      updateTask.run(`[${a}]`, b, c, d, ord);
    }
  }).immediate();
}
const seconds = (performance.now() - started) / 1000;
db.close();
for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
process.stdout.write(JSON.stringify({ tasks: count, seconds, tasksPerSecond: count / seconds }));
