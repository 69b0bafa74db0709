import { storeReduction } from '../core/reduction.js';
import type { TaskEvent } from '../spec/event.js';
import type { CandidateView, ReduceContext, ReducedCandidate, Reducer } from '../spec/reducer.js';
import { stageFailure } from './stage-failure.js';

/**
 * Reduces a task's candidates to one. Returns the event to store and, on success, the reduced candidate for
 * the stages after it; a reducer that throws (or whose model call fails) becomes a recorded failure.
 */
export async function runReduce(
  taskOrd: number,
  reducer: Reducer,
  context: ReduceContext,
  candidates: readonly CandidateView[],
): Promise<{ event: TaskEvent; reduced: ReducedCandidate | null }> {
  try {
    const reduced = await reducer.reduce(candidates, context);
    const stored = storeReduction(reduced, (sample) => candidates.find((candidate) => candidate.sample === sample)?.text);
    return { event: { taskOrd, type: 'reduce-completed', payload: { reduced: stored } }, reduced };
  } catch (error) {
    return { event: { taskOrd, type: 'reduce-failed', payload: { failure: stageFailure(error) } }, reduced: null };
  }
}
