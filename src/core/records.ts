import { eventStage, type TaskEvent, type TaskEventPayloads } from '../spec/event.js';
import type { Stage } from '../spec/stage.js';
import type { StoredItem } from '../spec/store.js';

/**
 * The one record format for portable artifacts: bundles and the progressive-save `.tmp` file both hold these,
 * one JSON object per line, each naming its task by key so it means the same in any store.
 */
export type ArtifactKind = 'generation' | 'reduction' | 'parse' | 'score' | 'evaluation';

export const ARTIFACT_KINDS: readonly ArtifactKind[] = ['generation', 'reduction', 'parse', 'score', 'evaluation'];

export const KIND_STAGE: Readonly<Record<ArtifactKind, Stage>> = {
  generation: 'generate',
  reduction: 'reduce',
  parse: 'parse',
  score: 'score',
  evaluation: 'judge',
};

export type ArtifactRecord =
  | ({ readonly type: 'generation'; readonly task: string } & TaskEventPayloads['generate-completed'])
  | ({ readonly type: 'reduction'; readonly task: string } & TaskEventPayloads['reduce-completed'])
  | ({ readonly type: 'parse'; readonly task: string } & TaskEventPayloads['parse-completed'])
  | ({ readonly type: 'score'; readonly task: string } & TaskEventPayloads['score-completed'])
  | ({ readonly type: 'evaluation'; readonly task: string } & TaskEventPayloads['judge-completed']);

/** A failed stage, as the progressive-save log records it (bundles carry only artifacts). */
export type FailureRecordLine = { readonly type: 'failure'; readonly task: string; readonly stage: Stage; readonly sample?: number } & {
  readonly failure: TaskEventPayloads['generate-failed']['failure'];
};

export type ItemRecord = { readonly type: 'item' } & StoredItem;

/** An evaluator's reply, as the progressive-save log records it (bundles carry only artifacts). */
export type CallRecordLine = { readonly type: 'call'; readonly task: string } & TaskEventPayloads['call-completed'];

/** A replay's rewind (of every task, or of the tasks listed), as the progressive-save log records it. */
export type RewindRecord = { readonly type: 'rewind'; readonly stage: Stage; readonly tasks?: readonly string[] };

export type LogRecord = ArtifactRecord | FailureRecordLine | CallRecordLine | ItemRecord | RewindRecord;

const COMPLETED_TYPE: Readonly<Record<ArtifactKind, TaskEvent['type']>> = {
  generation: 'generate-completed',
  reduction: 'reduce-completed',
  parse: 'parse-completed',
  score: 'score-completed',
  evaluation: 'judge-completed',
};

/** The log record for a task event: an artifact, a failure, or an evaluator's reply. */
export function recordOf(event: TaskEvent, taskKey: string): ArtifactRecord | FailureRecordLine | CallRecordLine {
  if (event.type === 'call-completed') return { type: 'call', task: taskKey, ...event.payload };
  const stage = eventStage(event);
  if (event.type.endsWith('-failed')) {
    const payload = event.payload as { failure: FailureRecordLine['failure']; sample?: number };
    return { type: 'failure', task: taskKey, stage, ...(payload.sample !== undefined ? { sample: payload.sample } : {}), failure: payload.failure };
  }
  const kind = ARTIFACT_KINDS.find((candidate) => COMPLETED_TYPE[candidate] === event.type)!;
  return { type: kind, task: taskKey, ...(event.payload as object) } as ArtifactRecord;
}

/** The event an artifact, failure or call record stands for. */
export function eventOf(record: ArtifactRecord | FailureRecordLine | CallRecordLine, taskOrd: number): TaskEvent {
  if (record.type === 'call') {
    const { type: _type, task: _task, ...payload } = record;
    return { taskOrd, type: 'call-completed', payload };
  }
  if (record.type === 'failure') {
    const { type: _type, task: _task, stage, ...payload } = record;
    return { taskOrd, type: `${stage}-failed`, payload } as TaskEvent;
  }
  const { type, task: _task, ...payload } = record;
  return { taskOrd, type: COMPLETED_TYPE[type], payload } as TaskEvent;
}
