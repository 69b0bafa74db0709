import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ProgressDisplay } from './progress-display.js';
import type { ProgressSnapshot } from '../engine/progress-tracker.js';
import { ProgressTracker } from '../engine/progress-tracker.js';
import type { FailureCategory } from '../spec/failure.js';

/** The line prefix of a worker's machine-readable reports on stderr (`assay worker --report-lines`). */
export const REPORT_PREFIX = 'assay-worker-report ';

/** What a worker with `--report-lines` writes: its progress (cumulative, this session) or a notice. */
export type WorkerReport =
  | { readonly kind: 'progress'; readonly retries: number; readonly models: readonly ReportedModel[] }
  | { readonly kind: 'notice'; readonly message: string };

interface ReportedModel {
  readonly modelId: string;
  readonly completed: number;
  readonly failed: number;
  readonly calls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly failures: Partial<Record<FailureCategory, number>>;
}

/** A progress display that reports to a parent process instead of drawing: one JSON line at attach, then every 250 ms. */
export class ReportingDisplay implements ProgressDisplay {
  private timer: NodeJS.Timeout | undefined;
  private tracker: ProgressTracker | undefined;

  attach(tracker: ProgressTracker): void {
    if (this.tracker) this.report(); // the previous run's last figures
    this.tracker = tracker;
    this.report();
    this.timer ??= setInterval(() => this.report(), 250);
    this.timer.unref();
  }

  private report(): void {
    if (!this.tracker) return;
    const snapshot: ProgressSnapshot = this.tracker.snapshot();
    const models = snapshot.models.map((model) => ({
      modelId: model.modelId,
      completed: model.completed,
      failed: model.failed,
      calls: model.calls,
      inputTokens: model.inputTokens,
      outputTokens: model.outputTokens,
      failures: model.failuresByCategory,
    }));
    write({ kind: 'progress', retries: snapshot.retries, models });
  }

  notice(message: string): void {
    write({ kind: 'notice', message });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.report();
  }
}

function write(report: WorkerReport): void {
  process.stderr.write(`${REPORT_PREFIX}${JSON.stringify(report)}\n`);
}

export interface FleetChild {
  readonly index: number;
  readonly child: ChildProcess;
  /** How it ended; `killedBy`: a signal this process did not forward (kill -9, the OOM killer), else null. */
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; killedBy: NodeJS.Signals | null; stdout: string }>;
  /** The worker's last error line (`assay: error: ...`), if it printed one. */
  readonly lastError: () => string | null;
  /** The signals this process forwarded to it (a worker that dies of one of them was stopped, not killed). */
  readonly forwarded: Set<NodeJS.Signals>;
}

/**
 * Starts `count` `assay worker` processes on this machine for one run, each its own Node process, and folds
 * their reports into `tracker` (their progress in one display). Each worker has its own process group, so a
 * Ctrl+C at the terminal reaches them only as the parent forwards it: once to stop, twice to cancel.
 */
/** How `assay run --workers` hands its workers the store (a URL may carry a password, never put in argv). */
export const FLEET_STORE_ENV = 'ASSAY_FLEET_STORE';

export function startWorkers(count: number, args: readonly string[], tracker: ProgressTracker, display: ProgressDisplay, store: string): FleetChild[] {
  const children: FleetChild[] = [];
  for (let index = 0; index < count; index++) {
    const child = spawn(process.execPath, [process.argv[1]!, 'worker', ...args, '--json', '--report-lines'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      // The store reaches the workers through the environment: a URL's password never shows in `ps`.
      env: { ...process.env, [FLEET_STORE_ENV]: store },
    });
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const last = new Map<string, ReportedModel>();
    let lastRetries: number | null = null;
    let baseline = true;
    let lastError: string | null = null;
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (line.startsWith('assay: error: ')) lastError = line.slice('assay: error: '.length);
      if (!line.startsWith(REPORT_PREFIX)) {
        if (line.trim() !== '') display.notice(`worker ${index + 1}: ${line}`);
        return;
      }
      const report = JSON.parse(line.slice(REPORT_PREFIX.length)) as WorkerReport;
      if (report.kind === 'notice') {
        // Each worker sees the others on the run: that is the point here, not news.
        if (!/^another process is working on this run/.test(report.message)) display.notice(`worker ${index + 1}: ${report.message}`);
        return;
      }
      // The first report is where the worker started (the run's counts then): only what follows is its work.
      for (const model of report.models) {
        const before = last.get(model.modelId);
        if (!baseline && before) {
          const failures: Partial<Record<FailureCategory, number>> = {};
          for (const [category, value] of Object.entries(model.failures) as [FailureCategory, number][]) failures[category] = value - (before.failures[category] ?? 0);
          tracker.merge(model.modelId, {
            completed: model.completed - before.completed,
            failed: model.failed - before.failed,
            calls: model.calls - before.calls,
            inputTokens: model.inputTokens - before.inputTokens,
            outputTokens: model.outputTokens - before.outputTokens,
            failures,
          });
        } else if (!baseline) {
          tracker.merge(model.modelId, { completed: 0, failed: 0, calls: model.calls, inputTokens: model.inputTokens, outputTokens: model.outputTokens, failures: model.failures });
        }
        last.set(model.modelId, model);
      }
      if (lastRetries !== null) tracker.mergeRetries(report.retries - lastRetries);
      lastRetries = report.retries;
      baseline = false;
    });
    const forwarded = new Set<NodeJS.Signals>();
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; killedBy: NodeJS.Signals | null; stdout: string }>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        // Killed by someone else (kill -9, the OOM killer): not a bug of assay, and not the end of the run.
        const killedBy = signal && !forwarded.has(signal) ? signal : null;
        if (killedBy) display.notice(killedLine(index, count, child.pid, killedBy));
        resolve({ code, signal, killedBy, stdout });
      });
    });
    children.push({ index, child, done, lastError: () => lastError, forwarded });
  }
  return children;
}

/** Forwards a signal to every worker still running. */
export function signalWorkers(children: readonly FleetChild[], signal: NodeJS.Signals): void {
  for (const { child, forwarded } of children) {
    if (child.exitCode === null && child.signalCode === null) {
      // Recorded first: a worker still starting (no handler yet) dies of it at once, and that is a stop.
      forwarded.add(signal);
      child.kill(signal);
    }
  }
}

/** The line for a worker killed by a signal this process did not send. */
export function killedLine(index: number, count: number, pid: number | undefined, signal: NodeJS.Signals): string {
  return `worker ${index + 1} of ${count} (pid ${pid ?? '?'}) was killed by ${signal}: what it finished is saved, and its unfinished tasks go back to the other workers`;
}

export interface FleetRunOptions {
  readonly workers: number;
  readonly untilStage?: import('../spec/stage.js').Stage;
  readonly existingRunPolicy: 'auto' | 'error' | 'rerun';
  readonly store?: string;
  readonly concurrency?: number;
  readonly maxCost?: number;
  readonly reuse: boolean;
  readonly output?: string;
  readonly stopSignal: AbortSignal;
  readonly cancelSignal: AbortSignal;
}

/**
 * `assay run --workers N`: creates the run here (checking the config and its rows), then works it with N
 * `assay worker` processes instead of in this one, shows their progress as one, and summarizes the run from
 * the store once they are done. A worker that fails with an internal error makes the whole command fail so;
 * one killed by a signal is said in one line when it dies, and the run is summarized as it is at the end.
 */
export async function runWithWorkers(
  experiment: import('../experiment/experiment.js').Experiment,
  options: FleetRunOptions,
  display: ProgressDisplay,
): Promise<import('../experiment/summary.js').RunSummary> {
  const [{ openStore }, { summarizeRun }, { PriceBook }, { InternalError, UserError }] = await Promise.all([
    import('../stores/open-store.js'),
    import('../experiment/summary.js'),
    import('../core/cost.js'),
    import('../core/errors.js'),
  ]);
  const started = Date.now();
  if (!experiment.source.path) throw new UserError('usage', '--workers needs a config file the workers can read');
  const untilStage = options.untilStage ?? 'judge';
  const created = await experiment.run({
    noWork: true,
    untilStage,
    reuse: options.reuse,
    runtime: { existingRunPolicy: options.existingRunPolicy, ...(options.store ? { store: options.store } : {}), ...(options.maxCost ? { maxCostUsd: options.maxCost } : {}) },
  });
  if (created.action === 'reused') return created;
  // The store's real location (a URL with its password): created.store is the redacted one, for messages.
  const location = experiment.storePath(options.store);
  const store = await openStore(location, { create: false });
  try {
    const run = (await store.getRun(created.runId))!;
    const doneByModel = await store.countPastStageByModel(run.runId, untilStage);
    const prices = run.provenance.prices ? PriceBook.recorded(run.provenance.prices) : await PriceBook.for([]);
    const tracker = new ProgressTracker(
      run.runId,
      run.taskCount,
      created.done,
      run.snapshot.models.map((model, index) => ({ modelId: model.id, total: run.taskCount / run.snapshot.models.length, completed: doneByModel[index] ?? 0 })),
      prices,
    );
    display.attach(tracker);
    const args = [
      run.runId,
      '--config',
      experiment.source.path,
      '--until-stage',
      untilStage,
      ...(options.concurrency ? ['--concurrency', String(options.concurrency)] : []),
      ...(options.maxCost ? ['--max-cost', String(options.maxCost)] : []),
      ...(options.reuse ? [] : ['--no-reuse']),
    ];
    // Ctrl+C while the run was being created (a big dataset read at once): stop there, no worker started.
    if (options.stopSignal.aborted) {
      tracker.stopping = true;
      return await summarizeRun(store, run.runId, { action: created.action, untilStage, modelCalls: 0, reusedGenerations: 0, durationMs: Date.now() - started });
    }
    const children = startWorkers(options.workers, args, tracker, display, location);
    const onStop = () => {
      tracker.stopping = true;
      signalWorkers(children, 'SIGINT');
    };
    const onCancel = () => signalWorkers(children, 'SIGINT');
    options.stopSignal.addEventListener('abort', onStop, { once: true });
    options.cancelSignal.addEventListener('abort', onCancel, { once: true });
    let results;
    try {
      results = await Promise.all(children.map((child) => child.done));
    } finally {
      options.stopSignal.removeEventListener('abort', onStop);
      options.cancelSignal.removeEventListener('abort', onCancel);
    }
    const reports = results.map((result) => {
      try {
        return JSON.parse(result.stdout) as { modelCalls: number; runs: { reusedGenerations: number; modelDown?: unknown }[] };
      } catch {
        return null;
      }
    });
    // A worker killed by a signal (one this process forwarded: stopped; another: said when it died, above) is
    // not an internal error; one that exits 2, or with a code no worker uses and no summary, is.
    const broken = results.findIndex((result, index) => result.signal === null && (result.code === 2 || (result.code !== 0 && result.code !== 1 && result.code !== 130 && result.code !== 143 && reports[index] === null)));
    if (broken >= 0) throw new InternalError(`worker ${broken + 1} of ${options.workers} ended with ${results[broken]!.signal ?? `exit code ${results[broken]!.code}`}; what it finished is saved`);
    const failed = results.findIndex((result, index) => result.code === 1 && !reports[index]?.runs.some((summary) => summary.modelDown));
    const modelCalls = reports.reduce((sum, report) => sum + (report?.modelCalls ?? 0), 0);
    const reusedGenerations = reports.reduce((sum, report) => sum + (report?.runs.reduce((total, summary) => total + summary.reusedGenerations, 0) ?? 0), 0);
    const modelDown = reports.flatMap((report) => report?.runs.flatMap((summary) => (summary.modelDown ? [summary.modelDown] : [])) ?? [])[0] as import('../experiment/summary.js').RunSummary['modelDown'] | undefined;
    const summary = await summarizeRun(store, run.runId, {
      action: created.action,
      untilStage,
      modelCalls,
      reusedGenerations,
      durationMs: Date.now() - started,
      ...(modelDown ? { modelDown } : {}),
    });
    if (failed >= 0 && summary.interruptReason !== 'budget') {
      throw new UserError('worker_failed', `worker ${failed + 1} of ${options.workers}: ${children[failed]!.lastError() ?? 'stopped with exit code 1'}`);
    }
    const perWorker = reports.map((report) => report?.modelCalls ?? 0);
    const withWorkers = {
      ...summary,
      workers: perWorker.map((calls, index) => ({ worker: index + 1, pid: children[index]!.child.pid ?? null, modelCalls: calls, killedBy: results[index]!.killedBy })),
    };
    if (options.output) {
      const { writeResultsFile } = await import('../report/results-file.js');
      const { resolve } = await import('node:path');
      await writeResultsFile(store, run.runId, resolve(options.output));
      return { ...withWorkers, output: { path: resolve(options.output), written: true } };
    }
    return withWorkers;
  } finally {
    await store.close();
  }
}
