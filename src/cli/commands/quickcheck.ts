import { Command } from 'commander';
import { getExecutionState, getScoreSummary, getUsageSummary } from '../../experiment/summary.js';
import { STAGES } from '../../spec/stage.js';
import { formatCost, printJson, printLine, shortId, table } from '../output.js';
import { resolveRun } from '../resolve-run.js';

export function quickcheckCommand(): Command {
  return new Command('quickcheck')
    .description('one screen on a run: status, stage counts, failures, mean scores per model')
    .argument('<run>', 'experiment config file, or a run id (or unique prefix)')
    .option('--store <path>', 'store file (default: the config runtime.store, else .assay/assay.db)')
    .option('--json', 'print JSON')
    .action(async (reference: string, options: { store?: string; json?: boolean }) => {
      const { store, runId } = await resolveRun(reference, options.store);
      try {
        const run = (await store.getRun(runId))!;
        const state = await getExecutionState(store, runId);
        const scores = await getScoreSummary(store, runId);
        const failureCounts = await store.countFailures(runId);
        const failureExamples = await store.listFailures(runId, 5);
        const owners = await store.listOwners(runId);
        const { usage, cost } = await getUsageSummary(store, runId);
        if (options.json) {
          printJson({
            runId,
            name: run.name,
            status: state.status,
            completedThroughStage: state.completedThroughStage,
            tasks: state.tasks,
            done: state.done,
            failed: state.failed,
            stages: state.stages,
            scores,
            usage,
            cost,
            failures: { byCategory: failureCounts, examples: failureExamples },
            owners,
            createdAt: run.createdAt,
            updatedAt: run.updatedAt,
          });
          return;
        }
        const through = state.completedThroughStage ? ` (complete through ${state.completedThroughStage})` : '';
        printLine(`run      ${shortId(runId)}  ${run.name}`);
        printLine(`status   ${state.status}${through} · updated ${run.updatedAt}`);
        printLine(`tasks    ${state.tasks} · ${state.done} done · ${state.failed} failed · ${state.tasks - state.done - state.failed} pending`);
        printLine(
          `stages   ${STAGES.map((stage) => {
            const counts = state.stages[stage];
            return counts.enabled ? `${stage} ${counts.completed}/${state.tasks}${counts.failed ? ` (${counts.failed} failed)` : ''}` : `${stage} -`;
          }).join(' · ')}`,
        );
        if (owners.length > 0) printLine(`workers  ${owners.map((owner) => `pid ${owner.pid} on ${owner.host}`).join(', ')}`);
        printLine();
        if (scores.length > 0) printLine(table(['model', 'prompt', 'metric', 'mean', 'n'], scores.map((row) => [row.model, row.prompt, row.metric, row.mean.toFixed(3), row.n])));
        else printLine('no scores yet');
        if (usage.length > 0) {
          printLine();
          printLine(
            table(
              ['model', 'stage', 'calls', 'input tokens', 'output tokens', 'cost (USD)'],
              usage.map((row) => [row.model, row.stage, row.calls, row.inputTokens, row.outputTokens, row.cost === null ? 'unknown' : row.cost.toFixed(4)]),
            ),
          );
          printLine(`cost     ${formatCost(cost)}`);
        }
        if (failureCounts.length > 0) {
          printLine();
          printLine(`failures ${failureCounts.map((row) => `${row.count} ${row.category} at ${row.stage}`).join(', ')}`);
          for (const example of failureExamples) printLine(`  ${example.taskKey}: ${example.failure.message.split('\n')[0]!.slice(0, 160)}`);
        }
      } finally {
        await store.close();
      }
    });
}
