import type { AttemptRecord, FailureRecord } from './failure.js';
import type { GenerateResult, TokenUsage } from './model.js';
import type { Judgment } from './judge.js';
import type { MetricScore } from './metric.js';
import type { ParseOutcome } from './parser.js';
import type { Stage } from './stage.js';

export const EVENT_SCHEMA_VERSION = 1;

/** A candidate as stored: the normalized result plus where it came from. */
export interface StoredCandidate extends GenerateResult {
  /** Set when the candidate was reused from another run instead of calling the model: that run's id. */
  readonly reusedFrom?: string;
  /** The failed attempts before the one that answered (rate limits, timeouts...); absent when the first attempt did. */
  readonly failedAttempts?: readonly AttemptRecord[];
}

/**
 * A reduction as stored. `text` is left out when it is the text of candidate `sources[0]` (the usual case),
 * so answers are not stored twice; read it back with `reducedText`.
 */
export interface StoredReduction {
  readonly sources: readonly number[];
  readonly text?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** One model call made by a stage (a parsing model, a best-of chooser, a judge): who, how many tokens, how long. */
export interface CallRecord {
  readonly model: string;
  readonly usage: TokenUsage;
  readonly latencyMs: number;
  /** On the call that answered: the attempts that failed before it (rate limits, timeouts, bad replies). */
  readonly failedAttempts?: readonly AttemptRecord[];
  /**
   * Set when the call has its own `call-completed` event in this store, which is where its usage is counted.
   * Records without it (from an imported bundle) count where they stand.
   */
  readonly logged?: true;
  /**
   * Set when no call was made: the same request of the same model had been answered already (in this run or
   * another of the store), and that reply was used. The run it was paid for in.
   */
  readonly reusedFrom?: string;
}

/**
 * One reply of an evaluator model (a parsing model, a judge of a panel, a best-of chooser), committed the
 * moment it arrives, before the stage that asked for it has finished: a crash loses at most the calls in
 * flight, and the stage, run again, takes the stored reply instead of paying for it twice.
 */
export interface CallCompleted {
  /** The stage that made the call. */
  readonly stage: Stage;
  /** What was asked: a hash of the model's identity and the whole request (core/call-key.ts). */
  readonly key: string;
  readonly model: string;
  readonly result: GenerateResult;
  /** False for a reply the stage rejected (off-format) and asked again: paid for, never reused. */
  readonly accepted: boolean;
  readonly failedAttempts?: readonly AttemptRecord[];
}

export interface TaskEventPayloads {
  'generate-completed': { readonly sample: number; readonly candidate: StoredCandidate };
  'generate-failed': { readonly sample: number; readonly failure: FailureRecord };
  'reduce-completed': { readonly reduced: StoredReduction; readonly calls?: readonly CallRecord[] };
  'reduce-failed': { readonly failure: FailureRecord; readonly calls?: readonly CallRecord[] };
  'parse-completed': { readonly outcome: ParseOutcome; readonly calls?: readonly CallRecord[] };
  'parse-failed': { readonly failure: FailureRecord; readonly calls?: readonly CallRecord[] };
  'score-completed': { readonly scores: Readonly<Record<string, MetricScore>>; readonly calls?: readonly CallRecord[] };
  'score-failed': { readonly failure: FailureRecord; readonly calls?: readonly CallRecord[] };
  'judge-completed': { readonly judgments: readonly Judgment[]; readonly scores: Readonly<Record<string, MetricScore>>; readonly calls?: readonly CallRecord[] };
  'judge-failed': { readonly failure: FailureRecord; readonly calls?: readonly CallRecord[] };
  'call-completed': CallCompleted;
}

export type TaskEventType = keyof TaskEventPayloads;

/** The events that record a stage's outcome for a task (every task event but `call-completed`). */
export type StageEventType = Exclude<TaskEventType, 'call-completed'>;

export type TaskEvent = {
  [Type in TaskEventType]: {
    /** Position of the task in the run's manifest. */
    readonly taskOrd: number;
    readonly type: Type;
    readonly payload: TaskEventPayloads[Type];
  };
}[TaskEventType];

export interface RunEventPayloads {
  'run-created': { readonly taskCount: number };
  'run-started': { readonly owner: string; readonly untilStage: Stage; readonly pid: number; readonly host: string };
  'run-finished': { readonly status: string; readonly completedThroughStage: Stage | null };
  'run-interrupted': { readonly owner: string; readonly reason: string };
  'run-rewound': { readonly stage: Stage; readonly tasks?: number };
}

export type RunEventType = keyof RunEventPayloads;

/** The stage an event belongs to (for a `call-completed`, the stage that made the call). */
export function eventStage(event: Pick<TaskEvent, 'type' | 'payload'>): Stage {
  if (event.type === 'call-completed') return (event.payload as CallCompleted).stage;
  return event.type.slice(0, event.type.indexOf('-')) as Stage;
}

export function isFailureEvent(type: TaskEventType): boolean {
  return type.endsWith('-failed');
}

/** An event as read back from a store. */
export interface StoredEvent {
  readonly seq: number;
  readonly runId: string;
  readonly taskOrd: number | null;
  readonly type: TaskEventType | RunEventType;
  readonly payload: unknown;
  readonly createdAt: string;
}
