import { Command, Option } from 'commander';
import type { ExistingRunPolicy } from '../../experiment/experiment.js';
import type { RunSummary } from '../../experiment/summary.js';
import { UserError } from '../../core/errors.js';
import { STAGES, stageIndex, type Stage } from '../../spec/stage.js';
import { formatCost, formatDuration, oneLine, printErrorLine, printJson, printLine, shortId, stoppedExitCode, table } from '../output.js';
import { positiveInteger, positiveNumber, STORE_HELP } from '../arguments.js';

interface RunCommandOptions {
  output?: string;
  format?: 'json' | 'csv' | 'karenina';
  progressiveSave?: boolean;
  resume?: string;
  untilStage?: Stage;
  existingRunPolicy: ExistingRunPolicy;
  store?: string;
  concurrency?: number;
  maxCost?: number;
  reuse: boolean;
  failOnFailures?: boolean;
  json?: boolean;
  quiet?: boolean;
  work: boolean;
  workers?: number;
}

export function runCommand(): Command {
  return new Command('run')
    .description('run an experiment: create its run, or resume it where it stopped')
    .argument('[config]', 'experiment config file (YAML or JSON); not needed with --resume')
    .addOption(new Option('--until-stage <stage>', 'stop every task after this stage').choices(STAGES))
    .addOption(
      new Option('--existing-run-policy <policy>', 'when the run exists: auto resumes or reuses it, error refuses, rerun starts over')
        .choices(['auto', 'error', 'rerun'])
        .default('auto'),
    )
    .option('--store <path>', STORE_HELP.config)
    .option('--concurrency <n>', 'model calls in flight at once (overrides runtime.concurrency)', positiveInteger)
    .option('--max-cost <usd>', 'stop before the run (all sessions, all models) would cost more than this many USD (overrides runtime.maxCostUsd)', positiveNumber)
    .option('--no-reuse', 'call the models even where the store already holds the same answer or the same judge/parser reply')
    .option('--output <file>', 'write the results to this file when the run ends (.json, or .csv)')
    .addOption(new Option('--format <format>', 'format of the --output file (default: from its extension); karenina: its verification-results export').choices(['json', 'csv', 'karenina']))
    .option('--progressive-save', 'keep the run in plain files beside --output (<file>.tmp and <file>.state) instead of a store')
    .option('--resume <state>', 'continue the progressive-save job of this .state file')
    .option('--fail-on-failures', 'exit 1 when any task failed (for CI); failures are still saved and retried next time')
    .option('--no-work', 'create the run (or find it) and print its id, working none of it: workers do (assay worker)')
    .option('--workers <n>', 'work the run with N worker processes on this machine (each its own Node process) instead of this one', positiveInteger)
    .option('--json', 'print one JSON summary on stdout')
    .option('--quiet', 'no progress display')
    .action(async (configArgument: string | undefined, options: RunCommandOptions) => {
      const [{ Experiment }, { createProgressDisplay }] = await Promise.all([import('../../experiment/experiment.js'), import('../progress-display.js')]);
      if (options.format && !options.output && !options.resume) throw new UserError('usage', '--format is the format of --output <file>; give --output too', { hint: 'e.g. --output results.json --format karenina' });
      if (options.progressiveSave && !options.output) throw new UserError('usage', '--progressive-save needs --output <file>', { hint: 'e.g. --output results.json --progressive-save' });
      if (options.resume && (configArgument || options.output)) throw new UserError('usage', '--resume takes the job from its .state file; give no config or --output with it');
      if (!options.resume && !configArgument) throw new UserError('usage', 'give an experiment config file (or --resume <state>)', { hint: 'e.g. assay run examples/quickstart.yaml' });
      let experiment;
      let output: { path: string; progressive: boolean } | undefined;
      if (options.resume) {
        const reopened = Experiment.fromProgressiveState(options.resume);
        experiment = reopened.experiment;
        output = { path: reopened.outputPath, progressive: true, ...(options.format ? { format: options.format } : {}) };
      } else {
        experiment = Experiment.fromConfig(configArgument!);
        if (options.output) output = { path: options.output, progressive: options.progressiveSave ?? false, ...(options.format ? { format: options.format } : {}) };
      }
      const config = configArgument ?? experiment.source.path ?? '';
      for (const warning of experiment.compile().warnings) printErrorLine(`assay: warning: ${warning}`);
      if (!options.work && options.workers) {
        throw new UserError('usage', '--no-work and --workers are alternatives: --no-work works none of the run, --workers works it with N processes', { hint: 'drop one of them' });
      }
      if ((!options.work || options.workers) && (output?.progressive || options.resume)) {
        throw new UserError('usage', `${options.work ? '--workers' : '--no-work'} needs a store: a progressive save (--progressive-save, --resume) is one process's files`, { hint: 'drop --progressive-save, or the worker options' });
      }
      if (!options.work) {
        const created = await experiment.run({
          noWork: true,
          ...(options.untilStage ? { untilStage: options.untilStage } : {}),
          runtime: { existingRunPolicy: options.existingRunPolicy, ...(options.store ? { store: options.store } : {}) },
        });
        (await import('./worker.js')).printSubmitted(created, options.json ?? false);
        return;
      }
      const display = createProgressDisplay({ quiet: options.quiet ?? false, json: options.json ?? false });
      const stop = new AbortController();
      const cancel = new AbortController();
      // Which signal stopped the run decides the exit code (stoppedExitCode).
      let stoppedBy = 'SIGINT' as NodeJS.Signals;
      const onSignal = (signal: NodeJS.Signals) => {
        if (!stop.signal.aborted) {
          stoppedBy = signal;
          const grace = formatDuration(experiment.config.runtime.gracePeriodMs / 1000);
          display.notice(`stopping: no new tasks; calls in flight have ${grace} to finish (Ctrl+C again to cancel them)`);
          stop.abort();
        } else if (!cancel.signal.aborted) {
          display.notice('cancelling calls in flight');
          cancel.abort();
        }
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      let summary: RunSummary;
      try {
        summary = options.workers
          ? await (await import('../worker-fleet.js')).runWithWorkers(
              experiment,
              {
                workers: options.workers,
                existingRunPolicy: options.existingRunPolicy,
                reuse: options.reuse,
                stopSignal: stop.signal,
                cancelSignal: cancel.signal,
                ...(options.untilStage ? { untilStage: options.untilStage } : {}),
                ...(options.store ? { store: options.store } : {}),
                ...(options.concurrency ? { concurrency: options.concurrency } : {}),
                ...(options.maxCost ? { maxCost: options.maxCost } : {}),
                ...(output ? { output: output.path } : {}),
              },
              display,
            )
          : await experiment.run({
          ...(options.untilStage ? { untilStage: options.untilStage } : {}),
          runtime: {
            existingRunPolicy: options.existingRunPolicy,
            ...(options.store ? { store: options.store } : {}),
            ...(options.concurrency ? { concurrency: options.concurrency } : {}),
            ...(options.maxCost ? { maxCostUsd: options.maxCost } : {}),
          },
          reuse: options.reuse,
          ...(output ? { output } : {}),
          stopSignal: stop.signal,
          cancelSignal: cancel.signal,
          onProgress: (tracker) => display.attach(tracker),
          onNotice: (message) => display.notice(message),
        });
      } finally {
        display.stop();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      // A stop that left the run unfinished: interrupted, or still running because other processes are on it
      // (they set its final status), or, with --workers, as it was when no worker got going (created).
      const interrupted = stop.signal.aborted && summary.status !== 'completed' && summary.status !== 'partial';
      const killed = summary.workers?.filter((worker) => worker.killedBy !== null) ?? [];
      if (options.json) printJson({ ...summary, interrupted });
      else printSummary(summary, config);
      const again = output?.progressive ? `assay run --resume ${output.path}.state` : `assay run ${config}${options.store ? ` --store ${summary.store}` : ''}`;
      if (summary.status === 'interrupted' && summary.interruptReason === 'model' && summary.modelDown) {
        printErrorLine(modelDownLine(summary.modelDown, again));
        process.exitCode = 1;
      } else if (summary.status === 'interrupted' && summary.interruptReason === 'budget') {
        printErrorLine(`stopped at the spending cap: ${summary.done} of ${summary.tasks} tasks are done and saved; raise --max-cost (or runtime.maxCostUsd) and run: ${again}`);
        process.exitCode = 1;
      } else if (summary.stoppedFor === 'budget') {
        printErrorLine(`stopped at the spending cap of the run, which other processes share: ${summary.done} of ${summary.tasks} tasks done and saved so far; raise --max-cost (or runtime.maxCostUsd) and run: ${again}`);
        process.exitCode = 1;
      } else if (interrupted) {
        printErrorLine(`interrupted: every finished result is saved; resume with: ${again}`);
        process.exitCode = stoppedExitCode(stoppedBy);
      } else if (killed.length > 0 && summary.status !== 'completed') {
        const which = killed.map((worker) => `worker ${worker.worker} (pid ${worker.pid ?? '?'}) was killed by ${worker.killedBy}`).join(', ');
        printErrorLine(`run ${shortId(summary.runId)} is not complete: ${which}; ${summary.done} of ${summary.tasks} tasks are done and saved; continue with: ${again}`);
        process.exitCode = 1;
      } else if (summary.output && !summary.output.written && !options.json) {
        printErrorLine(`the results file is written once every stage of every task is done; continue with: ${again}`);
      }
      if (options.failOnFailures && summary.failed > 0 && process.exitCode === undefined) {
        printErrorLine(`${summary.failed} of ${summary.tasks} tasks failed (--fail-on-failures): ${summary.failures.map((row) => `${row.count} ${row.category} at ${row.stage}`).join(', ')}`);
        process.exitCode = 1;
      }
    });
}

/** The one line that says which model could not be reached, how, and what to do. */
export function modelDownLine(down: NonNullable<RunSummary['modelDown']>, again: string): string {
  const where = down.baseURL ? ` at ${down.baseURL}` : '';
  const advice =
    down.category === 'connection'
      ? 'start the server (or fix its baseURL)'
      : down.status === 404
        ? 'check the model name and the baseURL'
        : 'check the API key (the env var the model names) and its access to the model';
  const status = down.status !== undefined ? ` ${down.status}` : '';
  return `model ${down.model}${where}: ${down.failures} calls in a row failed and none answered (${down.category}${status}: ${oneLine(down.message).slice(0, 300)}); ${advice} and run the same command again: ${again}`;
}

export function printSummary(summary: RunSummary, config: string): void {
  const through = summary.completedThroughStage ? ` through ${summary.completedThroughStage}` : '';
  const reason = summary.interruptReason ? ` (${summary.interruptReason})` : '';
  // Still running when this process stopped: other processes are on the run (they set its final status).
  const others = summary.status === 'running' ? ' (other processes are still on it; they set its final status)' : '';
  printLine(`run ${shortId(summary.runId)} (${summary.name}): ${summary.status}${reason}${through}${others}`);
  // Stopped after a stage (--until-stage): "done" counts tasks through the whole pipeline, so say how many
  // passed the stage asked for too.
  const lastStage = STAGES.filter((stage) => summary.stages[stage].enabled).at(-1);
  const upTo = lastStage && stageIndex(summary.untilStage) < stageIndex(lastStage) ? ` · ${summary.stages[summary.untilStage].completed} through ${summary.untilStage}` : '';
  printLine(
    `  ${summary.tasks} tasks${upTo} · ${summary.done} done · ${summary.failed} failed · ${summary.modelCalls} model calls this session · ${formatDuration(summary.durationMs / 1000)} · ${summary.action}`,
  );
  // assay run --workers: what each worker process did.
  const { workers } = summary;
  if (workers && workers.length > 0) {
    printLine(`  workers: ${workers.map((entry) => `${entry.worker} (pid ${entry.pid ?? '?'}) ${entry.modelCalls} calls${entry.killedBy ? ` (killed by ${entry.killedBy})` : ''}`).join(' · ')}`);
  }
  if (summary.reusedGenerations > 0) printLine(`  ${summary.reusedGenerations} generations reused from other runs in the store (no calls made for them)`);
  if (summary.usage.length > 0) {
    const tokens = summary.usage.reduce((sum, row) => sum + row.inputTokens + row.outputTokens, 0);
    printLine(`  ${summary.usage.reduce((sum, row) => sum + row.calls, 0)} calls and ${tokens} tokens in all sessions · cost ${formatCost(summary.cost)}`);
  }
  if (summary.scores.length > 0) {
    printLine();
    printLine(table(['model', 'prompt', 'metric', 'mean', 'n'], summary.scores.map((row) => [row.model, row.prompt, row.metric, row.mean.toFixed(3), row.n]), '  '));
  }
  if (summary.failures.length > 0) {
    printLine();
    printLine(`  failures: ${summary.failures.map((row) => `${row.count} ${row.category} at ${row.stage}`).join(', ')}`);
    for (const example of summary.failureExamples.slice(0, 5)) {
      printLine(`    ${example.category} at ${example.stage}, e.g. ${example.taskKey}: ${oneLine(example.message).slice(0, 200)}`);
    }
    printLine(`  run the same command again to retry them: assay run ${config}`);
  }
  printLine();
  // A progressive save keeps the run in its .state and .tmp beside the results file: there is no store to name.
  if (!summary.output?.progressive) printLine(`  store: ${summary.store}`);
  if (summary.output?.written) printLine(`  results file: ${summary.output.path}`);
  else if (summary.output) {
    printLine(`  progress: ${summary.output.state}`);
    printLine(`  results file: ${summary.output.path}, written when every stage of every task is done (assay run --resume ${summary.output.state})`);
  }
}
