import type { MetricDefinition } from '../spec/definition.js';
import { containsMetric } from './contains.js';
import { exactMatchMetric } from './exact-match.js';
import { f1Metric } from './f1.js';
import { kareninaVerifyMetric } from './karenina-verify.js';
import { numericMatchMetric } from './numeric-match.js';
import { createPassAtKMetric } from './pass-at-k.js';
import { regexMetric } from './regex-metric.js';
import { templateVerifyMetric } from './template-verify.js';

/** Metrics that judge one answer on its own; pass@k builds on them. */
const SINGLE_ANSWER: readonly MetricDefinition[] = [exactMatchMetric, numericMatchMetric, f1Metric, containsMetric, regexMetric];

/** Built-in metrics by kind. */
export const METRICS: readonly MetricDefinition[] = [...SINGLE_ANSWER, templateVerifyMetric, kareninaVerifyMetric, createPassAtKMetric(SINGLE_ANSWER)];
