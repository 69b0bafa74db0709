import type { MetricDefinition } from '../spec/definition.js';
import { exactMatchMetric } from './exact-match.js';
import { numericMatchMetric } from './numeric-match.js';

/** Built-in metrics by kind. */
export const METRICS: readonly MetricDefinition[] = [exactMatchMetric, numericMatchMetric];
