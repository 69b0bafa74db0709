import type { Judgment } from '../spec/judge.js';
import type { MetricScore } from '../spec/metric.js';
import type { PanelRatings, TaskResultRow } from '../spec/store.js';

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
