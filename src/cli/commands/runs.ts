import { relative } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { UserError } from '../../core/errors.js';
import { defaultStorePath, openStore } from '../../stores/open-store.js';
import type { RunRecord } from '../../spec/store.js';
import { pipelineOf, shownThroughStage } from '../../core/execution-state.js';
import { activeOwners, describeOwners } from '../../stores/active-owners.js';
import { STORE_HELP } from '../arguments.js';
import { printErrorLine, printJson, printLine, shortId, table } from '../output.js';
import { resolveRun } from '../resolve-run.js';

/** What tells apart runs of the same name: where they came from and what they compute. */
function describeRun(run: RunRecord) {
  const origin = run.provenance.origin;
  return {
    configPath: run.provenance.configPath ?? null,
    importedFrom: origin ? origin.file : null,
    models: run.snapshot.models.map((model) => model.id),
    metrics: run.snapshot.metrics.map((metric) => String(metric.args.name ?? metric.id)),
    datasets: run.snapshot.datasets.map((dataset) => ({ id: dataset.id, fingerprint: dataset.fingerprint, items: dataset.itemCount })),
  };
}

/** A config path as short as it can be read: relative to the current folder when it is below it. */
function shortPath(path: string | null): string {
  if (path === null) return '-';
  const near = relative(process.cwd(), path);
  return near.startsWith('..') || near === '' ? path : near;
}

export function runsCommand(): Command {
  return new Command('runs')
    .description('list the runs in a store; `assay runs rm <run>` deletes one')
    .enablePositionalOptions()
    .option('--store <path>', STORE_HELP.here)
    .option('--json', 'print JSON')
    .action(async (options: { store?: string; json?: boolean }) => {
      const store = await openStore(options.store ?? defaultStorePath(), { create: false });
      try {
        const runs = await store.listRuns();
        const rows = [];
        for (const run of runs) {
          const histogram = await store.getStageHistogram(run.runId);
          const done = histogram.filter((row) => row.nextStage === 5).reduce((sum, row) => sum + row.count, 0);
          const failed = histogram.filter((row) => row.failed).reduce((sum, row) => sum + row.count, 0);
          rows.push({
            runId: run.runId,
            name: run.name,
            status: run.status,
            completedThroughStage: shownThroughStage(run.completedThroughStage, pipelineOf(run.snapshot)),
            tasks: run.taskCount,
            done,
            failed,
            createdAt: run.createdAt,
            updatedAt: run.updatedAt,
            ...describeRun(run),
          });
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
            ['run', 'name', 'status', 'through', 'tasks', 'done', 'failed', 'created', 'models', 'metrics', 'config'],
            rows.map((row) => [
              shortId(row.runId),
              row.name,
              row.status,
              row.completedThroughStage ?? '-',
              row.tasks,
              row.done,
              row.failed,
              row.createdAt.slice(0, 19).replace('T', ' '),
              row.models.join(',') || '-',
              row.metrics.join(',') || '-',
              row.importedFrom !== null ? `imported: ${row.importedFrom}` : shortPath(row.configPath),
            ]),
          ),
        );
      } finally {
        await store.close();
      }
    })
    .addCommand(removeCommand());
}

function removeCommand(): Command {
  return new Command('rm')
    .description('delete a run and everything stored for it (asks first on a terminal)')
    .argument('<run>', 'a run id (or unique prefix), or an experiment config file')
    .option('--yes', 'delete without asking')
    .option('--store <path>', STORE_HELP.reference)
    .action(async (reference: string, options: { yes?: boolean; store?: string }) => {
      const { store, runId } = await resolveRun(reference, options.store);
      try {
        const run = (await store.getRun(runId))!;
        const what = `run ${shortId(runId)} (${run.name}, ${run.taskCount} tasks, ${run.status}, created ${run.createdAt.slice(0, 19).replace('T', ' ')})`;
        // Leases of processes of this machine that are gone are void: only a live one keeps the run.
        const live = await activeOwners(store, runId, { removeInactive: true });
        if (live.length > 0) {
          throw new UserError('run_busy', `${what} is being executed by ${describeOwners(live)}; it is not deleted`, { hint: 'wait for it to finish, or stop it, then delete it' });
        }
        if (!options.yes) {
          if (!process.stdin.isTTY || !process.stderr.isTTY) {
            throw new UserError('confirmation_needed', `not deleting ${what}: there is no terminal to ask on`, { hint: 'pass --yes to delete it' });
          }
          const prompt = createInterface({ input: process.stdin, output: process.stderr });
          const answer = await prompt.question(`delete ${what} from ${store.location}? [y/N] `).finally(() => prompt.close());
          if (!/^y(es)?$/i.test(answer.trim())) {
            printErrorLine('not deleted');
            return;
          }
        }
        await store.deleteRun(runId);
        printLine(`deleted ${what} from ${store.location}`);
      } finally {
        await store.close();
      }
    });
}
