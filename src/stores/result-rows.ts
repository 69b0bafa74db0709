import { loadReduction } from '../core/reduction.js';
import type { StoredCandidate, StoredReduction } from '../spec/event.js';
import type { Judgment } from '../spec/judge.js';
import type { MetricScore } from '../spec/metric.js';
import type { PanelRatings, TaskArtifacts, TaskProgress, TaskResultRow } from '../spec/store.js';

/**
 * A task's current artifacts from its state row's pointers, `payload` giving a stored event's payload by
 * sequence number (null for none): the same in every backend, whatever holds the payloads.
 */
export function artifactsOf(progress: TaskProgress, payload: (seq: number | null) => unknown): TaskArtifacts {
  const candidates = progress.candidateSeqs.map((seq) => (payload(seq) as { candidate: StoredCandidate } | null)?.candidate ?? null);
  const reduction = (payload(progress.reduceSeq) as { reduced: StoredReduction } | null)?.reduced;
  return {
    progress,
    candidates,
    reduced: reduction ? loadReduction(reduction, candidates) : null,
    parsed: (payload(progress.parseSeq) as { outcome: TaskArtifacts['parsed'] } | null)?.outcome ?? null,
    scores: (payload(progress.scoreSeq) as { scores: TaskArtifacts['scores'] } | null)?.scores ?? null,
    judgments: (payload(progress.judgeSeq) as { judgments: TaskArtifacts['judgments'] } | null)?.judgments ?? null,
  };
}

/** Score values by name from a stored `scores` record (metric or judge), or null when there is none. */
export function scoreValues(scores: Readonly<Record<string, MetricScore>> | null | undefined): Record<string, number> | null {
  if (!scores) return null;
  const values: Record<string, number> = {};
  for (const [name, score] of Object.entries(scores)) if (typeof score?.value === 'number') values[name] = score.value;
  return values;
}

/** The ratings of every judge that asked more than one panel member, from stored judgments. */
export function panelRatings(judgments: readonly Judgment[] | null | undefined): PanelRatings[] | null {
  if (!judgments) return null;
  const panels: PanelRatings[] = [];
  for (const judgment of judgments) {
    if (judgment.executions.length < 2) continue;
    panels.push({ judge: judgment.judge, raters: judgment.executions.map((execution) => ({ model: execution.model, values: execution.parsed })) });
  }
  return panels.length > 0 ? panels : null;
}

/** The judge part of a result row, from a stored `judge-completed` payload. */
export function judgeResult(payload: { readonly judgments?: readonly Judgment[]; readonly scores?: Readonly<Record<string, MetricScore>> } | null): Pick<TaskResultRow, 'judgeScores' | 'ratings'> {
  return { judgeScores: scoreValues(payload?.scores), ratings: panelRatings(payload?.judgments) };
}
