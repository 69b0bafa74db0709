/**
 * Fleet limits (Store.reserveCalls, Store.pauseModel; docs/adr/fleet-limits.md): per run and model, the
 * grants of calls made within the window (summed, never one contended counter), and when a rate limit
 * pauses the model for every process. The pause row is also what a reservation locks.
 */
const FLEET_SQL = `
CREATE TABLE IF NOT EXISTS model_windows (
  run_pk INTEGER NOT NULL,
  model TEXT NOT NULL,
  paused_until INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_pk, model)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS call_grants (
  grant_pk INTEGER PRIMARY KEY,
  run_pk INTEGER NOT NULL,
  model TEXT NOT NULL,
  granted_at INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  tokens INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS call_grants_by_time ON call_grants (run_pk, model, granted_at);
`;

/**
 * The viewer's task queries (Store.queryTasks, docs/adr/0017-the-viewer.md): each task's current score values,
 * one row per (task, score), indexed by value; and failed tasks by failure category. Kept in the same
 * transaction as the events that change them.
 */
const TASK_QUERY_SQL = `
CREATE TABLE IF NOT EXISTS task_scores (
  run_pk INTEGER NOT NULL,
  ord INTEGER NOT NULL,
  -- 0: a metric's score (score stage), 1: a judge's (judge.trait)
  kind INTEGER NOT NULL,
  name TEXT NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (run_pk, ord, kind, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS task_scores_by_value ON task_scores (run_pk, name, value, ord);
CREATE INDEX IF NOT EXISTS tasks_by_failure ON tasks (run_pk, json_extract(failure, '$.category'), ord) WHERE failed = 1;
`;

/** Fills task_scores from the current score and judge results of the tasks (of one run, or of all: @run null). */
export const TASK_SCORES_FILL_SQL = `
INSERT OR REPLACE INTO task_scores (run_pk, ord, kind, name, value)
  SELECT t.run_pk, t.ord, 0, j.key, json_extract(j.value, '$.value') FROM tasks t JOIN events e ON e.seq = t.score_seq, json_each(e.payload, '$.scores') j
  WHERE (@run IS NULL OR t.run_pk = @run) AND t.score_seq IS NOT NULL AND json_type(j.value, '$.value') IN ('integer', 'real')
  UNION ALL
  SELECT t.run_pk, t.ord, 1, j.key, json_extract(j.value, '$.value') FROM tasks t JOIN events e ON e.seq = t.judge_seq, json_each(e.payload, '$.scores') j
  WHERE (@run IS NULL OR t.run_pk = @run) AND t.judge_seq IS NOT NULL AND json_type(j.value, '$.value') IN ('integer', 'real')
`;

/** Bumped whenever the tables change shape; a store written by a newer assay is refused, not misread. */
export const SCHEMA_VERSION = 6;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS runs (
  run_pk INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  snapshot TEXT NOT NULL,
  provenance TEXT NOT NULL,
  status TEXT NOT NULL,
  completed_through TEXT,
  -- Why the run is interrupted (user, budget, store, error); null otherwise.
  status_reason TEXT,
  -- The last fencing token handed out by a claim on this run: every claim takes the next one.
  lease_epoch INTEGER NOT NULL DEFAULT 0,
  task_count INTEGER NOT NULL,
  -- Tasks at or after this position have no row yet: untouched, pending at generate.
  fresh_from INTEGER NOT NULL DEFAULT 0,
  samples INTEGER NOT NULL,
  has_judges INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- The rows of a run's datasets; an item's input and target are read from its row (the snapshot names the fields).
CREATE TABLE IF NOT EXISTS items (
  run_pk INTEGER NOT NULL,
  ord INTEGER NOT NULL,
  dataset_id TEXT NOT NULL,
  item_id TEXT NOT NULL,
  fields TEXT NOT NULL,
  PRIMARY KEY (run_pk, ord)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS items_by_id ON items (run_pk, dataset_id, item_id);

-- One row per task that has been claimed at least once: what is current (pointers into events) and what
-- comes next, updated in the same transaction as the events that change it. A task's key, item, model,
-- prompt and replicate follow from its position (ord) and the run's snapshot (core/manifest.ts).
CREATE TABLE IF NOT EXISTS tasks (
  run_pk INTEGER NOT NULL,
  ord INTEGER NOT NULL,
  next_stage INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  failure TEXT,
  candidate_seqs TEXT,
  reduce_seq INTEGER,
  parse_seq INTEGER,
  score_seq INTEGER,
  judge_seq INTEGER,
  lease_owner INTEGER,
  -- The fencing token of the current lease: a write must carry it (see runs.lease_epoch).
  lease_token INTEGER,
  PRIMARY KEY (run_pk, ord)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tasks_claimable ON tasks (run_pk, failed, next_stage, ord);

-- The append-only log. seq is the global order of everything that happened.
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  run_pk INTEGER NOT NULL,
  task_ord INTEGER,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_task ON events (run_pk, task_ord);

-- Maintained counters: (next stage, failed) -> tasks, and score sums per model, prompt and metric.
CREATE TABLE IF NOT EXISTS stage_histogram (
  run_pk INTEGER NOT NULL,
  next_stage INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (run_pk, next_stage, failed)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS score_totals (
  run_pk INTEGER NOT NULL,
  model_index INTEGER NOT NULL,
  prompt_index INTEGER NOT NULL,
  metric TEXT NOT NULL,
  sum REAL NOT NULL,
  count INTEGER NOT NULL,
  -- The sum of squared scores; NULL for totals kept before schema 3 (unknown until the totals are rebuilt).
  sum_sq REAL,
  PRIMARY KEY (run_pk, model_index, prompt_index, metric)
) WITHOUT ROWID;

-- Calls and tokens per model and stage, for cost.
CREATE TABLE IF NOT EXISTS usage_totals (
  run_pk INTEGER NOT NULL,
  model TEXT NOT NULL,
  stage TEXT NOT NULL,
  calls INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  PRIMARY KEY (run_pk, model, stage)
) WITHOUT ROWID;

-- The generation groups of each run (see core/generation-groups.ts): runs sharing a group key made the same
-- calls for that group, so a later run can reuse an earlier one's answers.
CREATE TABLE IF NOT EXISTS generation_groups (
  group_key TEXT NOT NULL,
  run_pk INTEGER NOT NULL,
  PRIMARY KEY (group_key, run_pk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS generation_groups_by_run ON generation_groups (run_pk);

-- Evaluator replies by what was asked (core/call-key.ts): the first accepted reply to each request, in any run,
-- so the same request of the same model (a judge prompt, a parsing call) is never paid for twice.
CREATE TABLE IF NOT EXISTS call_replies (
  call_key TEXT PRIMARY KEY,
  run_pk INTEGER NOT NULL,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS call_replies_by_run ON call_replies (run_pk);

-- Processes working on a run. A task's lease is live while its owner's expires_at (this machine's clock,
-- the store's) is in the future; the owner renews it with each heartbeat.
CREATE TABLE IF NOT EXISTS owners (
  owner_pk INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: a lease must not pass to a later owner
  owner TEXT NOT NULL UNIQUE,
  run_pk INTEGER NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  heartbeat_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  -- How many task leases the owner said it held at its last heartbeat (for assay status).
  held_tasks INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS owners_by_run ON owners (run_pk);
${FLEET_SQL}${TASK_QUERY_SQL}`;

/** Steps from each older schema version to the next, applied in order inside one transaction. */
export const MIGRATIONS: Readonly<Record<number, string>> = {
  // 1 -> 2: fenced leases (a token per claim, an expiry per owner) and the reason a run was interrupted.
  2: `
ALTER TABLE runs ADD COLUMN status_reason TEXT;
ALTER TABLE runs ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN lease_token INTEGER;
ALTER TABLE owners ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
`,
  // 2 -> 3: the sum of squared scores beside each sum, for quickcheck's intervals (unknown for older totals).
  3: `
ALTER TABLE score_totals ADD COLUMN sum_sq REAL;
`,
  // 3 -> 4: the index of evaluator replies by request, filled from the replies already stored (one pass).
  4: `
CREATE TABLE IF NOT EXISTS call_replies (call_key TEXT PRIMARY KEY, run_pk INTEGER NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS call_replies_by_run ON call_replies (run_pk);
INSERT OR IGNORE INTO call_replies (call_key, run_pk, seq)
  SELECT json_extract(payload, '$.key'), run_pk, seq FROM events
  WHERE type = 'call-completed' AND json_extract(payload, '$.accepted') = 1 ORDER BY seq;
`,
  // 4 -> 5: fleet limits shared by every process of a run, and the leases each owner holds.
  5: `
ALTER TABLE owners ADD COLUMN held_tasks INTEGER NOT NULL DEFAULT 0;
${FLEET_SQL}`,
  // 5 -> 6: the viewer's task queries: score values by task, failures by category (filled in one pass).
  6: `${TASK_QUERY_SQL}${TASK_SCORES_FILL_SQL.replace(/@run/g, 'NULL')};`,
};
