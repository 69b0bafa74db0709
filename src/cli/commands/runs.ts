import { Command } from 'commander';
import { defaultStorePath, openStoreAt } from '../../experiment/store-location.js';
import { printJson, printLine, shortId, table } from '../output.js';
import { STORE_HELP } from '../arguments.js';

export function runsCommand(): Command {
  return new Command('runs')
    .description('list the runs in a store')
    .option('--store <path>', STORE_HELP.here)
    .option('--json', 'print JSON')
    .action(async (options: { store?: string; json?: boolean }) => {
      const store = openStoreAt(options.store ?? defaultStorePath(), { create: false });
      try {
        const runs = await store.listRuns();
        const rows = [];
        for (const run of runs) {
          const histogram = await store.getStageHistogram(run.runId);
          const done = histogram.filter((row) => row.nextStage === 5).reduce((sum, row) => sum + row.count, 0);
          const failed = histogram.filter((row) => row.failed).reduce((sum, row) => sum + row.count, 0);
          rows.push({ runId: run.runId, name: run.name, status: run.status, completedThroughStage: run.completedThroughStage, tasks: run.taskCount, done, failed, createdAt: run.createdAt, updatedAt: run.updatedAt });
        }
        if (options.json) {
          printJson(rows);
          return;
        }
        if (rows.length === 0) {
          printLine(`no runs in ${store.location}`);
          return;
        }
        printLine(
          table(
            ['run', 'name', 'status', 'through', 'tasks', 'done', 'failed', 'created'],
            rows.map((row) => [shortId(row.runId), row.name, row.status, row.completedThroughStage ?? '-', row.tasks, row.done, row.failed, row.createdAt.slice(0, 19).replace('T', ' ')]),
          ),
        );
      } finally {
        await store.close();
      }
    });
}
