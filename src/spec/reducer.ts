import type { PluginContext } from './plugin-context.js';
import type { ParseOutcome, Parser } from './parser.js';

/** One stored candidate as the reducer sees it. */
export interface CandidateView {
  readonly sample: number;
  readonly text: string;
}

export interface ReducedCandidate {
  readonly text: string;
  /** Sample indexes the reduced candidate was built from. */
  readonly sources: readonly number[];
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface ReduceContext extends PluginContext {
  /** The experiment's parser, for reducers that vote on parsed values. */
  readonly parser: Parser;
}

export interface Reducer {
  readonly specificationVersion: 'assay.reducer.v1';
  reduce(candidates: readonly CandidateView[], context: ReduceContext): ReducedCandidate | Promise<ReducedCandidate>;
}

export type { ParseOutcome };
