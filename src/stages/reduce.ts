import { storeReduction } from '../core/reduction.js';
import type { TaskEvent } from '../spec/event.js';
import type { CandidateView, ReduceContext, ReducedCandidate, Reducer } from '../spec/reducer.js';
import { stageFailure } from './stage-failure.js';

/**
 * Reduces a task's candidates to one. Returns the event to store and, on success, the reduced candidate for
 * the stages after it; a reducer that throws (or whose model call fails) becomes a recorded failure.
 */
export function runReduce(
  taskOrd: number,
  reducer: Reducer,
  context: ReduceContext,
  candidates: readonly CandidateView[],
): ReduceStageResult | Promise<ReduceStageResult> {
  const succeed = (reduced: ReducedCandidate): ReduceStageResult => {
    const stored = storeReduction(reduced, (sample) => candidates.find((candidate) => candidate.sample === sample)?.text);
    return { event: { taskOrd, type: 'reduce-completed', payload: { reduced: stored } }, reduced };
  };
  const fail = (error: unknown): ReduceStageResult => ({ event: { taskOrd, type: 'reduce-failed', payload: { failure: stageFailure(error) } }, reduced: null });
  try {
    const reduced = reducer.reduce(candidates, context);
    // Deterministic reducers answer at once; only a reducer that asks a model costs a promise.
    return reduced instanceof Promise ? reduced.then(succeed, fail) : succeed(reduced);
  } catch (error) {
    return fail(error);
  }
}

export interface ReduceStageResult {
  readonly event: TaskEvent;
  readonly reduced: ReducedCandidate | null;
}
