import type { ReducerDefinition } from '../spec/definition.js';
import { bestOfReducer } from './best-of.js';
import { firstReducer } from './first.js';
import { majorityVoteReducer } from './majority-vote.js';

/** Built-in reducers by kind. */
export const REDUCERS: readonly ReducerDefinition[] = [firstReducer, majorityVoteReducer, bestOfReducer];
