// The public surface of assay: names only, no logic.
export { Experiment, defineExperiment, replayStoredRun, type ExistingRunPolicy, type ReplayOptions, type ReplayStage, type RunOptions } from './experiment/experiment.js';
export { compileExperiment, type CompiledRun } from './experiment/compile.js';
export { getExecutionState, getScoreSummary, type RunSummary, type ScoreSummary } from './experiment/summary.js';
export { getRunSnapshot } from './experiment/inspect.js';
export { openStore, defaultStorePath } from './stores/open-store.js';
export { openSqliteStore, SqliteStore } from './stores/sqlite/sqlite-store.js';
export { FilesStore } from './stores/files/files-store.js';
export { ResultsFileStore } from './stores/files/results-file-store.js';
export { ProgressiveSave, type StatusReport } from './stores/files/progressive-save.js';
export {
  exportBundle,
  exportGenerationBundle,
  exportReductionBundle,
  exportParseBundle,
  exportScoreBundle,
  exportEvaluationBundle,
} from './bundles/export-bundle.js';
export {
  importBundle,
  importGenerationBundle,
  importReductionBundle,
  importParseBundle,
  importScoreBundle,
  importEvaluationBundle,
  checkBundle,
  type ImportResult,
} from './bundles/import-bundle.js';
export { writeResultsFile } from './report/results-file.js';
export { writeKareninaResults, writeKareninaResultsFile } from './report/karenina-results.js';
export { translateTemplate, type Translation } from './karenina/translate-template.js';
export { evaluateExpression, type Evaluation, type ComparisonOutcome } from './karenina/evaluate-expression.js';
export type { Expression, TranslatedTemplate, TemplateField, PyValue } from './karenina/expression.js';
export type { ExperimentConfig, ExperimentInput } from './config/experiment-schema.js';
export type { ExecutionState, StageCounts } from './core/execution-state.js';
export { TaskKey, type TaskKeyParts } from './core/task-key.js';
export { canonicalJson, hashValue } from './core/canonical-json.js';
export { AssayError, UserError, ConfigError, DatasetError } from './core/errors.js';
export { STAGES, type Stage } from './spec/stage.js';
export type { Store, RunRecord, RunStatus } from './spec/store.js';
export type { RunSnapshot, Provenance, PromptIdentity, FewShotIdentity } from './spec/snapshot.js';
export type { LanguageModel, GenerateRequest, GenerateResult, ChatMessage, ChatRole } from './spec/model.js';
export type { Parser, ParseOutcome } from './spec/parser.js';
export type { Metric, MetricScore } from './spec/metric.js';
export type { Reducer } from './spec/reducer.js';
export type { TaskEvent, StoredEvent } from './spec/event.js';
export type { Judge, Judgment, JudgeExecution } from './spec/judge.js';
export type { PluginContext } from './spec/plugin-context.js';
export { buildReport, type ReportOptions } from './report/build-report.js';
export { compareRuns, type CompareOptions, type ComparedRun } from './report/compare-runs.js';
export type { ReportDocument, CompareDocument, GroupStatistic, Comparison, ClusterStatistic, AgreementStatistic, LatencyStatistic, FlippedItems } from './report/report-document.js';
