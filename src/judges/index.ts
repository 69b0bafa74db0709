import type { JudgeDefinition } from '../spec/definition.js';
import { pairwiseJudge } from './pairwise.js';
import { rubricJudge } from './rubric.js';

/** Built-in judges by kind. */
export const JUDGES: readonly JudgeDefinition[] = [rubricJudge, pairwiseJudge];
