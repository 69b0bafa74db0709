import { storeReduction } from '../core/reduction.js';
import type { TaskEvent } from '../spec/event.js';
import type { Parser } from '../spec/parser.js';
import type { CandidateView, ReducedCandidate, Reducer } from '../spec/reducer.js';
import { pluginFailure } from './stage-failure.js';

/**
 * Reduces a task's candidates to one; a reducer that throws becomes a recorded failure. Returns the event to
 * store and, on success, the reduced candidate for the stages after it.
 */
export function runReduce(
  taskOrd: number,
  reducer: Reducer,
  parser: Parser,
  candidates: readonly CandidateView[],
): { event: TaskEvent; reduced: ReducedCandidate | null } {
  try {
    const reduced = reducer.reduce(candidates, { parser });
    const stored = storeReduction(reduced, (sample) => candidates.find((candidate) => candidate.sample === sample)?.text);
    return { event: { taskOrd, type: 'reduce-completed', payload: { reduced: stored } }, reduced };
  } catch (error) {
    return { event: { taskOrd, type: 'reduce-failed', payload: { failure: pluginFailure(error) } }, reduced: null };
  }
}
