import { existsSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import { UserError } from '../../core/errors.js';
import { lastStageOf, pipelineOf, reachesStage } from '../../core/execution-state.js';
import type { Experiment } from '../../experiment/experiment.js';
import type { RunSummary } from '../../experiment/summary.js';
import { STAGES, type Stage } from '../../spec/stage.js';
import type { Store } from '../../spec/store.js';
import { positiveInteger, positiveNumber } from '../arguments.js';
import { formatDuration, onStderrClosed, printErrorLine, printJson, printLine, shortId, stoppedExitCode } from '../output.js';
import { modelDownLine } from './run.js';

interface WorkerOptions {
  store?: string;
  config?: string;
  follow?: boolean;
  pollSeconds: number;
  untilStage?: Stage;
  concurrency?: number;
  maxCost?: number;
  json?: boolean;
  quiet?: boolean;
  reportLines?: boolean;
  reuse: boolean;
}

export const WORKER_STORE_HELP = 'the store holding the runs (default: the config runtime.store, else $ASSAY_STORE, else .assay/assay.db in the current folder)';

export function workerCommand(): Command {
  return new Command('worker')
    .description('join a stored run (or every unfinished run of a store) and work its tasks beside any other processes on it, until nothing is left')
    .argument('[run]', 'a run id (or unique prefix), or the experiment config of the run; default: every unfinished run in the store')
    .option('--store <location>', WORKER_STORE_HELP)
    .option('--config <file>', 'the config the models come from (checked against the run); default: the config the run was created from, if it is on this machine')
    .option('--follow', 'when nothing is left, wait for new runs instead of exiting (stop with Ctrl+C or SIGTERM)')
    .option('--poll-seconds <n>', 'with --follow: how often the store is asked for new runs', positiveInteger, 2)
    .addOption(new Option('--until-stage <stage>', 'stop every task after this stage').choices(STAGES))
    .option('--concurrency <n>', 'model calls in flight at once in this process (overrides runtime.concurrency)', positiveInteger)
    .option('--max-cost <usd>', 'the spending cap of the run, for the whole fleet (overrides runtime.maxCostUsd)', positiveNumber)
    .option('--no-reuse', "call the models even where the store already holds the same call's answer (from another run, or this one)")
    .option('--json', 'print one JSON summary on stdout')
    .option('--quiet', 'no progress display')
    .addOption(new Option('--report-lines', 'report progress as JSON lines on stderr (what assay run --workers reads)').hideHelp())
    .action(async (reference: string | undefined, options: WorkerOptions) => {
      const [{ Experiment }, { workRun, isWorkable }, { createProgressDisplay }, { defaultStorePath, openStore }] = await Promise.all([
        import('../../experiment/experiment.js'),
        import('../../experiment/work-run.js'),
        import('../progress-display.js'),
        import('../../stores/open-store.js'),
      ]);
      const given = options.config ? Experiment.fromConfig(options.config) : undefined;
      const named = reference !== undefined && existsSync(reference) && statSync(reference).isFile() ? Experiment.fromConfig(reference) : undefined;
      const models = given ?? named;
      const location = options.store ?? process.env.ASSAY_FLEET_STORE ?? (named ?? given)?.storePath() ?? defaultStorePath();
      const store: Store = await openStore(location, { create: false });
      const stop = new AbortController();
      const cancel = new AbortController();
      const display = options.reportLines
        ? new (await import('../worker-fleet.js')).ReportingDisplay()
        : createProgressDisplay({ quiet: options.quiet ?? false, json: options.json ?? false });
      let stoppedBy = 'SIGINT' as NodeJS.Signals;
      const onSignal = (signal: NodeJS.Signals) => {
        if (!stop.signal.aborted) {
          stoppedBy = signal;
          display.notice('stopping: no new tasks; calls in flight finish and are saved, then the leases are released (Ctrl+C again to cancel them)');
          stop.abort();
        } else cancel.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      // A worker of `assay run --workers` whose parent is gone (killed: its report pipe breaks, or this process
      // is handed to another parent) stops as on SIGTERM: nothing new claimed, the calls in flight finish and
      // are saved, the leases are released. No orphan goes on paying for a run nobody watches.
      let unwatch = () => {};
      if (options.reportLines) {
        const parent = process.ppid;
        const parentGone = () => {
          if (!stop.signal.aborted) stop.abort();
        };
        const offStderr = onStderrClosed(parentGone);
        const timer = setInterval(() => {
          if (process.ppid !== parent) parentGone();
        }, 200);
        timer.unref();
        unwatch = () => {
          offStderr();
          clearInterval(timer);
        };
      }
      const summaries: RunSummary[] = [];
      const skipped: SkippedRun[] = [];
      /** Runs this worker cannot work (its config has not their models): not tried again. */
      const passed = new Set<string>();
      try {
        const runIds = await runsNamed(store, reference, named);
        const worked = new Set<string>();
        const work = async (runId: string) => {
          worked.add(runId);
          const run = await store.getRun(runId);
          if (run?.status === 'completed' && reachesStage(run.completedThroughStage, options.untilStage ?? lastStageOf(pipelineOf(run.snapshot)))) {
            if (!options.json && !options.reportLines) display.notice(`run ${shortId(runId)} (${run.name}) is complete; nothing to do`);
            return;
          }
          const summary = await workRun(store, runId, {
            ...(models ? { models } : {}),
            ...(options.untilStage ? { untilStage: options.untilStage } : {}),
            reuse: options.reuse,
            runtime: { ...(options.concurrency ? { concurrency: options.concurrency } : {}), ...(options.maxCost ? { maxCostUsd: options.maxCost } : {}) },
            stopSignal: stop.signal,
            cancelSignal: cancel.signal,
            onProgress: (tracker) => display.attach(tracker),
            onNotice: (message) => display.notice(message),
          });
          summaries.push(summary);
          if (!options.json && !options.reportLines) display.notice(`run ${shortId(runId)} (${summary.name}): ${summary.status}${summary.interruptReason ? ` (${summary.interruptReason})` : ''} · ${summary.done} of ${summary.tasks} done · ${summary.modelCalls} model calls by this worker`);
        };
        if (runIds) {
          for (const runId of runIds) if (!stop.signal.aborted) await work(runId);
        }
        // No run named: every unfinished run, again until none is left (and, following, as new ones come).
        while (!runIds && !stop.signal.aborted) {
          const next = (await store.listRuns()).filter((run) => isWorkable(run) && !passed.has(run.runId) && (!worked.has(run.runId) || run.status === 'created'));
          for (const run of next) {
            if (stop.signal.aborted) break;
            try {
              await work(run.runId);
            } catch (error) {
              // Not named, so not necessarily meant for this worker: a run whose models this machine's config
              // does not have is left to workers that have it, and said so (exit 1 at the end, without --follow).
              if (!UserError.isInstance(error) || !['model_mismatch', 'worker_needs_config', 'models_from_config'].includes(error.code)) throw error;
              passed.add(run.runId);
              skipped.push({ runId: run.runId, name: run.name, reason: error.line() });
              display.notice(skippedLine(skipped.at(-1)!));
            }
          }
          if (next.length > 0) continue;
          if (!options.follow) break;
          await sleep(options.pollSeconds * 1000, undefined, { signal: stop.signal }).catch(() => undefined);
        }
      } finally {
        display.stop();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        unwatch();
        await store.close();
      }
      report(summaries, skipped, options, stop.signal.aborted ? stoppedBy : null, store.location);
      if (skipped.length > 0 && !options.follow) {
        for (const run of skipped) printErrorLine(`assay: error: ${skippedLine(run)}`);
        process.exitCode ??= 1;
      }
    });
}

/** The runs a reference names (a config's run must be in the store already), or null for "every unfinished run". */
async function runsNamed(store: Store, reference: string | undefined, named: Experiment | undefined): Promise<string[] | null> {
  if (reference === undefined) return null;
  if (named) {
    const { runId } = named.compile();
    if (!(await store.getRun(runId))) {
      throw new UserError('run_not_found', `${reference} compiles to run ${shortId(runId)}, which is not in store ${store.location}`, {
        hint: `create it first: assay submit ${reference} --store ${store.location}`,
      });
    }
    return [runId];
  }
  if (!/^[0-9a-f]{4,64}$/.test(reference)) throw new UserError('bad_reference', `'${reference}' is neither a config file nor a run id`, { hint: 'pass a run id (at least 4 hex digits), a config path, or nothing' });
  const matches = await store.findRuns(reference, 2);
  if (matches.length === 0) throw new UserError('run_not_found', `no run ${reference} in store ${store.location}`, { hint: 'list them with assay runs --store ...' });
  if (matches.length > 1) throw new UserError('ambiguous_run', `run id prefix '${reference}' matches more than one run`, { hint: 'give more digits' });
  return [matches[0]!.runId];
}

/** An unfinished run this worker left to others: its config has not the run's models (or it found no config). */
interface SkippedRun {
  readonly runId: string;
  readonly name: string;
  readonly reason: string;
}

const skippedLine = (run: SkippedRun) => `skipped run ${shortId(run.runId)} (${run.name}): ${run.reason}`;

function report(summaries: readonly RunSummary[], skipped: readonly SkippedRun[], options: WorkerOptions, stoppedBy: NodeJS.Signals | null, location: string): void {
  const stopped = stoppedBy !== null;
  const modelCalls = summaries.reduce((sum, summary) => sum + summary.modelCalls, 0);
  if (options.json) printJson({ runs: summaries, skipped, modelCalls, stopped });
  else if (summaries.length === 0 && skipped.length > 0) {
    printLine(`nothing done: ${skipped.length === 1 ? 'the one unfinished run' : `all ${skipped.length} unfinished runs`} in ${location} skipped (see below)`);
  } else if (summaries.length === 0) printLine(`nothing to do: no unfinished run in ${location}`);
  else {
    for (const summary of summaries) {
      printLine(`run ${shortId(summary.runId)} (${summary.name}): ${summary.status}${summary.interruptReason ? ` (${summary.interruptReason})` : ''}`);
      printLine(`  ${summary.tasks} tasks · ${summary.done} done · ${summary.failed} failed · ${summary.modelCalls} model calls by this worker · ${formatDuration(summary.durationMs / 1000)}`);
    }
  }
  const again = `assay worker --store ${location}`;
  for (const summary of summaries) {
    if (summary.status === 'interrupted' && summary.interruptReason === 'model' && summary.modelDown) {
      printErrorLine(modelDownLine(summary.modelDown, again));
      process.exitCode = 1;
    } else if (summary.status === 'interrupted' && summary.interruptReason === 'budget') {
      printErrorLine(`run ${shortId(summary.runId)} stopped at the spending cap: ${summary.done} of ${summary.tasks} tasks are done and saved; raise runtime.maxCostUsd in the config and run: ${again}`);
      process.exitCode = 1;
    } else if (summary.stoppedFor === 'budget') {
      // The fleet's cap, reached here while other processes still finish their calls in flight.
      printErrorLine(`run ${shortId(summary.runId)}: this worker stopped at the fleet's spending cap (${summary.done} of ${summary.tasks} tasks done and saved so far; the other workers stop too); raise runtime.maxCostUsd in the config and run: ${again}`);
      process.exitCode = 1;
    }
  }
  // Stopped by a signal: every finished result is saved and the leases are released. With --follow that is
  // how a worker is meant to end (a Kubernetes pod being stopped): exit 0; otherwise 130 after Ctrl+C and 143
  // after SIGTERM, as `assay run`.
  if (stopped && process.exitCode === undefined && !options.follow) {
    printErrorLine(`stopped: every finished result is saved and this worker's leases are released; continue with: ${again}`);
    process.exitCode = stoppedExitCode(stoppedBy);
  }
}

export function submitCommand(): Command {
  return new Command('submit')
    .description('create the run of an experiment config in a store, without working it (workers do: assay worker); prints its id')
    .argument('<config>', 'experiment config file (YAML or JSON)')
    .option('--store <location>', 'store file (default: the config runtime.store, else $ASSAY_STORE, else .assay/assay.db beside the config)')
    .addOption(
      new Option('--existing-run-policy <policy>', 'when the run exists: auto keeps it, error refuses, rerun replaces it with a new, empty one')
        .choices(['auto', 'error', 'rerun'])
        .default('auto'),
    )
    .option('--json', 'print JSON')
    .action(async (config: string, options: { store?: string; existingRunPolicy: 'auto' | 'error' | 'rerun'; json?: boolean }) => {
      const { Experiment } = await import('../../experiment/experiment.js');
      const experiment = Experiment.fromConfig(config);
      for (const warning of experiment.compile().warnings) printErrorLine(`assay: warning: ${warning}`);
      const summary = await experiment.run({ noWork: true, runtime: { existingRunPolicy: options.existingRunPolicy, ...(options.store ? { store: options.store } : {}) } });
      printSubmitted(summary, options.json ?? false);
    });
}

/** What `submit` and `run --no-work` print: the run id on stdout (for scripts), and how to work it. */
export function printSubmitted(summary: RunSummary, json: boolean): void {
  if (json) {
    printJson({ runId: summary.runId, name: summary.name, status: summary.status, action: summary.action, tasks: summary.tasks, done: summary.done, store: summary.store });
    return;
  }
  printLine(summary.runId);
  const what =
    summary.action === 'created'
      ? 'created'
      : summary.action === 'rerun'
        ? 'replaced by a new, empty one (the results it held are gone)'
        : `already there (${summary.status}, ${summary.done} of ${summary.tasks} done)`;
  printErrorLine(`run ${shortId(summary.runId)} (${summary.name}, ${summary.tasks} tasks) ${what} in ${summary.store}; work it with: assay worker ${shortId(summary.runId)} --store ${summary.store}`);
}
