import type { StoredCandidate, StoredReduction } from '../spec/event.js';
import type { ReducedCandidate } from '../spec/reducer.js';

/** The stored form of a reduction: its text is dropped when it is the first source candidate's text. */
export function storeReduction(reduced: ReducedCandidate, candidateText: (sample: number) => string | undefined): StoredReduction {
  const first = reduced.sources[0];
  const sameText = first !== undefined && candidateText(first) === reduced.text;
  return {
    sources: reduced.sources,
    ...(sameText ? {} : { text: reduced.text }),
    ...(reduced.details !== undefined ? { details: reduced.details } : {}),
  };
}

/** The full reduced candidate from its stored form and the task's candidates. */
export function loadReduction(stored: StoredReduction, candidates: readonly (Pick<StoredCandidate, 'text'> | null)[]): ReducedCandidate {
  const text = stored.text ?? candidates[stored.sources[0] ?? 0]?.text ?? '';
  return { text, sources: stored.sources, ...(stored.details !== undefined ? { details: stored.details } : {}) };
}
