import { Command } from 'commander';
import { formatDuration, printJson, printLine, table } from '../output.js';

export function statusCommand(): Command {
  return new Command('status')
    .description('progress of a run and the workers on it (hosts, pids, heartbeats, leases); or of a progressive-save job, from its .state file alone')
    .argument('<run|state>', 'a run id (or prefix) or config of a run in a store, or a progressive-save job\'s <output>.state file')
    .option('--store <location>', 'the store of a run (default: the config runtime.store, else $ASSAY_STORE, else .assay/assay.db)')
    .option('--tasks', 'also list the failed and pending tasks (reads the .tmp too; progressive-save jobs)')
    .option('--json', 'print JSON')
    .action(async (statePath: string, options: { tasks?: boolean; json?: boolean; store?: string }) => {
      const { existsSync } = await import('node:fs');
      const output = statePath.endsWith('.state') ? statePath.slice(0, -'.state'.length) : statePath;
      // A progressive-save job is named by its .state, its results file, or a finished job's results file.
      const progressive = statePath.endsWith('.state') || existsSync(`${output}.state`) || /\.(json|csv)$/i.test(statePath);
      if (!progressive) return runStatus(statePath, options);
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

/** A stored run's progress and the processes working it, as the store has them. */
async function runStatus(reference: string, options: { json?: boolean; store?: string }): Promise<void> {
  const [{ resolveRun }, { processAlive }, { hostname }, { pipelineOf, shownThroughStage, stageCountsFromHistogram }] = await Promise.all([
    import('../resolve-run.js'),
    import('../../core/process-alive.js'),
    import('node:os'),
    import('../../core/execution-state.js'),
  ]);
  const { store, runId } = await resolveRun(reference, options.store);
  try {
    const run = (await store.getRun(runId))!;
    const pipeline = pipelineOf(run.snapshot);
    const counts = stageCountsFromHistogram(await store.getStageHistogram(runId), run.taskCount, pipeline);
    const here = hostname();
    const now = Date.now();
    const workers = (await store.listOwners(runId)).map((owner) => {
      const gone = owner.host === here && owner.pid !== process.pid && !processAlive(owner.pid);
      return {
        owner: owner.owner,
        host: owner.host,
        pid: owner.pid,
        startedAt: owner.startedAt,
        heartbeatAt: owner.heartbeatAt,
        heartbeatAgeSeconds: Math.max(0, (now - Date.parse(owner.heartbeatAt)) / 1000),
        lease: gone ? 'void (process gone)' : owner.live ? 'live' : 'lapsed',
        live: owner.live && !gone,
        heldTasks: owner.heldTasks,
      };
    });
    if (options.json) {
      printJson({ runId, name: run.name, status: run.status, interruptReason: run.interruptReason, completedThroughStage: run.completedThroughStage, tasks: run.taskCount, done: counts.done, failed: counts.failed, workers });
      return;
    }
    const reason = run.interruptReason ? ` (${run.interruptReason})` : '';
    const through = run.completedThroughStage ? ` through ${shownThroughStage(run.completedThroughStage, pipeline)}` : '';
    printLine(`run     ${run.name} (${runId.slice(0, 12)}) · ${run.status}${reason}${through} · store ${store.location}`);
    printLine(`tasks   ${counts.done}/${run.taskCount} done · ${counts.failed} failed`);
    const live = workers.filter((worker) => worker.live).length;
    printLine(`workers ${live} live${workers.length > live ? `, ${workers.length - live} not (their leases are free for others)` : ''}`);
    if (workers.length > 0) {
      printLine(
        table(
          ['host', 'pid', 'heartbeat', 'lease', 'tasks held', 'started'],
          workers.map((worker) => [worker.host, worker.pid, `${formatDuration(worker.heartbeatAgeSeconds)} ago`, worker.lease, worker.heldTasks, worker.startedAt.slice(0, 19).replace('T', ' ')]),
          '  ',
        ),
      );
    }
  } finally {
    await store.close();
  }
}
