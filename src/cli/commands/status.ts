import { Command } from 'commander';
import { formatDuration, printJson, printLine } from '../output.js';

export function statusCommand(): Command {
  return new Command('status')
    .description('progress of a progressive-save job, read from its .state file alone (cheap while it runs)')
    .argument('<state>', 'the job\'s <output>.state file')
    .option('--tasks', 'also list the failed and pending tasks (reads the .tmp too)')
    .option('--json', 'print JSON')
    .action(async (statePath: string, options: { tasks?: boolean; json?: boolean }) => {
      const [{ ProgressiveSave }, { isStage }, { lastStageOf, pipelineOf, shownThroughStage }] = await Promise.all([
        import('../../stores/files/progressive-save.js'),
        import('../../spec/stage.js'),
        import('../../core/execution-state.js'),
      ]);
      // Once the job is done its sidecars are gone and the results file is there: say so, not "no such file".
      const finished = ProgressiveSave.finishedOutput(statePath);
      if (finished) {
        if (options.json) printJson({ finished: true, outputPath: finished });
        else printLine(`finished: the job is done and its results are in ${finished} (the .state and .tmp are removed when every stage is done)`);
        return;
      }
      const report = ProgressiveSave.inspectStateFile(statePath);
      let tasks: { failed: string[]; pending: string[] } | undefined;
      if (options.tasks) tasks = await listTasks(statePath);
      if (options.json) {
        printJson({ finished: false, ...report, ...(tasks ? { tasks } : {}) });
        return;
      }
      const extra = report.extra as { runId?: string; name?: string; status?: string; snapshot?: { samples: number; judges: readonly unknown[] } };
      // Counts are against the stage the job was asked to reach: name it when that is not the last one.
      const pipeline = extra.snapshot ? pipelineOf(extra.snapshot) : null;
      const until = report.untilStage !== null && isStage(report.untilStage) && pipeline ? shownThroughStage(report.untilStage, pipeline) : null;
      const limited = until !== null && pipeline !== null && until !== lastStageOf(pipeline);
      const resume = `assay run --resume ${statePath}`;
      // A job killed mid-run still says `running` in its .state: the lock tells the truth.
      const status = extra.status === 'running' && !report.running ? 'running when it was last saved, now stopped' : (extra.status ?? '?');
      printLine(`job     ${extra.name ?? '?'} (run ${extra.runId?.slice(0, 12) ?? '?'}) · ${status}`);
      printLine(`output  ${report.outputPath}: not written yet; it is written when every stage of every task is done`);
      const through = limited ? ` through ${until}, the stage this job was asked to reach` : '';
      printLine(`tasks   ${report.completed}/${report.total} completed (${report.percent.toFixed(1)}%)${through} · ${report.failed} failed · ${report.pending} pending`);
      printLine(`tmp     ${report.tmpExists ? `${report.tmpBytes} bytes` : 'missing'}`);
      printLine(`started ${report.startedAt} · last update ${report.updatedAt}`);
      if (report.running) {
        const who = report.holder ? ` (pid ${report.holder.pid} on ${report.holder.host})` : '';
        printLine(`rate    ${report.ratePerSecond.toFixed(1)} tasks/s · ETA ${report.etaSeconds === null ? '?' : formatDuration(report.etaSeconds)}${who}`);
      } else {
        const next = limited && report.pending === 0 ? 'run the later stages and write the results file' : 'continue it';
        printLine(`state   stopped: no process is running this job; ${next} with ${resume}`);
      }
      if (tasks) {
        printLine();
        const failed = new Set(tasks.failed);
        for (const key of tasks.pending) printLine(`${failed.has(key) ? 'failed ' : 'pending'}  ${key}`);
      }
    });
}

/** Failed and pending task keys: the keys come from the items at the head of the .tmp and the run's snapshot. */
async function listTasks(statePath: string): Promise<{ failed: string[]; pending: string[] }> {
  const [{ ProgressiveSave, readState }, { createManifest, manifestShape }, { readFileSync }] = await Promise.all([
    import('../../stores/files/progressive-save.js'),
    import('../../core/manifest.js'),
    import('node:fs'),
  ]);
  const state = readState(statePath);
  const snapshot = (state.extra as { snapshot: import('../../spec/snapshot.js').RunSnapshot }).snapshot;
  const items: { datasetId: string; itemId: string }[] = [];
  for (const line of readFileSync(`${state.outputPath}.tmp`, 'utf8').split('\n')) {
    if (!line.startsWith('{"type":"item"')) break;
    items.push(JSON.parse(line) as { datasetId: string; itemId: string });
  }
  const manifest = createManifest(manifestShape(snapshot), items);
  const sets = ProgressiveSave.stateSets(statePath);
  const failed: string[] = [];
  const pending: string[] = [];
  // Failed tasks are retried on resume, so they are pending too: pending + completed = total.
  for (let ord = 0; ord < manifest.taskCount; ord++) {
    if (sets.failed(ord)) failed.push(manifest.task(ord).key);
    if (!sets.completed(ord)) pending.push(manifest.task(ord).key);
  }
  return { failed, pending };
}
