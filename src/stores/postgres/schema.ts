/**
 * The PostgreSQL store's tables, in their own schema (`assay`) so they never meet a database's other tables.
 * Times that leases and limits are judged by are milliseconds of the server's clock (see NOW_MS). Hot counters
 * (stage histogram, score and usage totals) carry a `slot`: each process writes its own slot's rows and a read
 * sums over the slots, so many writers never queue on one row.
 */

/** Bumped whenever the tables change shape; a store written by a newer assay is refused, not misread. */
export const PG_SCHEMA_VERSION = 2;

/** The schema (namespace) every table lives in. */
export const PG_NAMESPACE = 'assay';

/** How many counter slots a run's counters spread over (a process picks one at random). */
export const COUNTER_SLOTS = 64;

/** Now, by the server's clock, in milliseconds since the epoch: what every lease and window is judged by. */
export const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/**
 * Fills task_scores from the current score and judge results of one run's tasks ($1), or of every run ($1 NULL).
 * Only finite numbers are kept, as the append does.
 */
export const PG_TASK_SCORES_FILL_SQL = `
INSERT INTO task_scores (run_pk, ord, kind, name, value)
  SELECT s.run_pk, s.ord, s.kind, s.name, s.value FROM (
    SELECT t.run_pk, t.ord, 0::smallint AS kind, j.key AS name, (j.value ->> 'value')::float8 AS value
    FROM tasks t JOIN events e ON e.seq = t.score_seq, json_each(e.payload -> 'scores') j
    WHERE ($1::bigint IS NULL OR t.run_pk = $1::bigint) AND json_typeof(j.value) = 'object' AND json_typeof(j.value -> 'value') = 'number'
    UNION ALL
    SELECT t.run_pk, t.ord, 1::smallint, j.key, (j.value ->> 'value')::float8
    FROM tasks t JOIN events e ON e.seq = t.judge_seq, json_each(e.payload -> 'scores') j
    WHERE ($1::bigint IS NULL OR t.run_pk = $1::bigint) AND json_typeof(j.value) = 'object' AND json_typeof(j.value -> 'value') = 'number'
  ) s
  ON CONFLICT DO NOTHING
`;

/** Steps from each schema version to the next (1 creates everything), applied in order under an advisory lock. */
export const PG_MIGRATIONS: Readonly<Record<number, string>> = {
  1: `
CREATE TABLE runs (
  run_pk bigserial PRIMARY KEY,
  run_id text NOT NULL UNIQUE,
  name text NOT NULL,
  snapshot json NOT NULL,
  provenance json NOT NULL,
  status text NOT NULL,
  completed_through text,
  status_reason text,
  task_count integer NOT NULL,
  -- Tasks at or after this position have no row yet: untouched, pending at generate.
  fresh_from integer NOT NULL DEFAULT 0,
  samples integer NOT NULL,
  has_judges boolean NOT NULL,
  created_at text NOT NULL,
  updated_at text NOT NULL
);
CREATE INDEX runs_by_id_prefix ON runs (run_id text_pattern_ops);
CREATE INDEX runs_by_created ON runs (created_at);

-- Fencing tokens: one sequence for every run, so a token only grows and a claim takes no run-wide lock.
CREATE SEQUENCE lease_tokens;

CREATE TABLE items (
  run_pk bigint NOT NULL,
  ord integer NOT NULL,
  dataset_id text NOT NULL,
  item_id text NOT NULL,
  fields json NOT NULL,
  PRIMARY KEY (run_pk, ord)
);
CREATE UNIQUE INDEX items_by_id ON items (run_pk, dataset_id, item_id);

CREATE TABLE tasks (
  run_pk bigint NOT NULL,
  ord integer NOT NULL,
  next_stage smallint NOT NULL DEFAULT 0,
  failed boolean NOT NULL DEFAULT false,
  failure json,
  candidate_seqs json,
  reduce_seq bigint,
  parse_seq bigint,
  score_seq bigint,
  judge_seq bigint,
  lease_owner bigint,
  lease_token bigint,
  PRIMARY KEY (run_pk, ord)
);
CREATE INDEX tasks_claimable ON tasks (run_pk, failed, next_stage, ord);

CREATE TABLE events (
  seq bigserial PRIMARY KEY,
  run_pk bigint NOT NULL,
  task_ord integer,
  type text NOT NULL,
  payload json NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX events_by_task ON events (run_pk, task_ord, seq);

CREATE TABLE stage_histogram (
  run_pk bigint NOT NULL,
  slot smallint NOT NULL,
  next_stage smallint NOT NULL,
  failed boolean NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (run_pk, slot, next_stage, failed)
);

CREATE TABLE score_totals (
  run_pk bigint NOT NULL,
  slot smallint NOT NULL,
  model_index integer NOT NULL,
  prompt_index integer NOT NULL,
  metric text NOT NULL,
  sum double precision NOT NULL,
  sum_sq double precision NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (run_pk, slot, model_index, prompt_index, metric)
);

CREATE TABLE usage_totals (
  run_pk bigint NOT NULL,
  slot smallint NOT NULL,
  model text NOT NULL,
  stage text NOT NULL,
  calls bigint NOT NULL,
  input_tokens bigint NOT NULL,
  output_tokens bigint NOT NULL,
  PRIMARY KEY (run_pk, slot, model, stage)
);

CREATE TABLE generation_groups (
  group_key text NOT NULL,
  run_pk bigint NOT NULL,
  PRIMARY KEY (group_key, run_pk)
);
CREATE INDEX generation_groups_by_run ON generation_groups (run_pk);

CREATE TABLE call_replies (
  call_key text PRIMARY KEY,
  run_pk bigint NOT NULL,
  seq bigint NOT NULL
);
CREATE INDEX call_replies_by_run ON call_replies (run_pk);

CREATE TABLE owners (
  owner_pk bigserial PRIMARY KEY, -- never reused: a lease must not pass to a later owner
  owner text NOT NULL UNIQUE,
  run_pk bigint NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  started_at text NOT NULL,
  heartbeat_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  held_tasks integer NOT NULL DEFAULT 0
);
CREATE INDEX owners_by_run ON owners (run_pk, expires_at);

CREATE TABLE model_windows (
  run_pk bigint NOT NULL,
  model text NOT NULL,
  paused_until bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (run_pk, model)
);
CREATE TABLE call_grants (
  grant_pk bigserial PRIMARY KEY,
  run_pk bigint NOT NULL,
  model text NOT NULL,
  granted_at bigint NOT NULL,
  requests integer NOT NULL,
  tokens bigint NOT NULL
);
CREATE INDEX call_grants_by_time ON call_grants (run_pk, model, granted_at);
`,
  // 1 -> 2: the viewer's task queries (Store.queryTasks, docs/adr/0017-the-viewer.md): each task's current
  // score values, one row per (task, kind, score), indexed by value; failed tasks by category; tasks by stage.
  // Kept in the same transaction as the events that change them. The fill runs in the migration's transaction.
  2: `
CREATE TABLE task_scores (
  run_pk bigint NOT NULL,
  ord integer NOT NULL,
  -- 0: a metric's score (score stage), 1: a judge's (judge.trait)
  kind smallint NOT NULL,
  name text NOT NULL,
  value double precision NOT NULL,
  PRIMARY KEY (run_pk, ord, kind, name)
);
CREATE INDEX task_scores_by_value ON task_scores (run_pk, name, value, ord);
CREATE INDEX tasks_by_failure ON tasks (run_pk, (failure ->> 'category'), ord) WHERE failed;
CREATE INDEX tasks_by_stage ON tasks (run_pk, next_stage, ord);
${PG_TASK_SCORES_FILL_SQL.replace(/\$1::bigint/g, 'NULL::bigint')};
`,
};
