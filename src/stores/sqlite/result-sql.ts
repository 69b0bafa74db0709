import type { Stage, StageIndex } from '../../spec/stage.js';
import type { TaskResultRow } from '../../spec/store.js';
import { panelRatings, scoreValues } from '../result-rows.js';

/** ord, next_stage, failed, failure, scores, latency, and with judges: judge scores, judgments. */
type ResultSqlRow = [number, number, number, string | null, string | null, number | null, (string | null)?, (string | null)?];

/** The columns of a result row (see ResultSqlRow), over tasks `t`. */
export function resultColumns(judged: boolean): string {
  const judge = judged
    ? `,
       (SELECT json_extract(e.payload, '$.scores') FROM events e WHERE e.seq = t.judge_seq),
       (SELECT CASE WHEN json_array_length(e.payload, '$.judgments') > 0 THEN json_extract(e.payload, '$.judgments') END
          FROM events e WHERE e.seq = t.judge_seq)`
    : '';
  return `t.ord, t.next_stage, t.failed, t.failure,
       (SELECT json_extract(e.payload, '$.scores') FROM events e WHERE e.seq = t.score_seq),
       (SELECT json_extract(e.payload, '$.candidate.latencyMs') FROM events e WHERE e.seq = json_extract(t.candidate_seqs, '$[0]'))${judge}`;
}

/** A result row from the columns of `resultColumns`. */
export function toResultRow(row: unknown[]): TaskResultRow {
  const [ord, nextStage, failed, failureText, scores, latency, judgeScores, judgments] = row as ResultSqlRow;
  const failure = failureText ? (JSON.parse(failureText) as { stage: Stage; category: string }) : null;
  return {
    ord,
    nextStage: nextStage as StageIndex,
    failed: failed === 1,
    failure: failure ? { stage: failure.stage, category: failure.category } : null,
    scores: scores ? scoreValues(JSON.parse(scores)) : null,
    latencyMs: typeof latency === 'number' ? latency : null,
    judgeScores: judgeScores ? scoreValues(JSON.parse(judgeScores)) : null,
    ratings: judgments ? panelRatings(JSON.parse(judgments)) : null,
  };
}
