import { Command } from 'commander';
import { getExecutionState } from '../../experiment/summary.js';
import { STAGES } from '../../spec/stage.js';
import { printJson, printLine, table } from '../output.js';
import { resolveRun } from '../resolve-run.js';

function snapshotCommand(): Command {
  return new Command('snapshot')
    .description('identity (the snapshot hashed into the run id) and provenance of a run')
    .argument('<run>', 'experiment config file, or a run id (or unique prefix)')
    .option('--store <path>', 'store file')
    .option('--json', 'print JSON')
    .action(async (reference: string, options: { store?: string; json?: boolean }) => {
      const { store, runId } = await resolveRun(reference, options.store);
      try {
        const run = (await store.getRun(runId))!;
        const document = { runId, name: run.name, status: run.status, createdAt: run.createdAt, snapshot: run.snapshot, provenance: run.provenance };
        if (options.json) printJson(document);
        else process.stdout.write((await import('yaml')).stringify(document, { lineWidth: 0 }));
      } finally {
        await store.close();
      }
    });
}

function stateCommand(): Command {
  return new Command('state')
    .description('per-stage counts of a run: completed, failed, pending')
    .argument('<run>', 'experiment config file, or a run id (or unique prefix)')
    .option('--store <path>', 'store file')
    .option('--json', 'print JSON')
    .action(async (reference: string, options: { store?: string; json?: boolean }) => {
      const { store, runId } = await resolveRun(reference, options.store);
      try {
        const state = await getExecutionState(store, runId);
        if (options.json) {
          printJson(state);
          return;
        }
        const through = state.completedThroughStage ?? 'none';
        printLine(`run ${runId}`);
        printLine(`status ${state.status} · complete through ${through} · ${state.tasks} tasks`);
        printLine();
        printLine(
          table(
            ['stage', 'completed', 'failed', 'pending'],
            STAGES.map((stage) => {
              const counts = state.stages[stage];
              return counts.enabled ? [stage, counts.completed, counts.failed, counts.pending] : [`${stage} (no judges)`, 0, 0, 0];
            }),
          ),
        );
      } finally {
        await store.close();
      }
    });
}

export function inspectCommand(): Command {
  return new Command('inspect').description('look inside a stored run').addCommand(snapshotCommand()).addCommand(stateCommand());
}
