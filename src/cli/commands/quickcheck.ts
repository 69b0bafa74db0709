import { Command } from 'commander';
import { getExecutionState, getScoreSummary, getUsageSummary } from '../../experiment/summary.js';
import { STAGES } from '../../spec/stage.js';
import type { InterruptReason } from '../../spec/store.js';
import { formatCost, printJson, printLine, shortId, table } from '../output.js';
import { resolveRun } from '../resolve-run.js';
import { activeOwners } from '../../stores/active-owners.js';
import { STORE_HELP } from '../arguments.js';

/** What each reason for an interrupted run means, in a few words. */
const INTERRUPT_TEXT: Readonly<Record<InterruptReason, string>> = {
  user: 'stopped by the user',
  budget: 'budget: stopped at the spending cap',
  store: 'the store refused a write',
  error: 'stopped by an internal error',
  model: 'a model could not be reached: every call failed',
};

export function quickcheckCommand(): Command {
  return new Command('quickcheck')
    .description('one screen on a run: status, stage counts, failures, mean scores per model')
    .argument('<run>', 'experiment config file, or a run id (or unique prefix)')
    .option('--store <path>', STORE_HELP.reference)
    .option('--json', 'print JSON')
    .action(async (reference: string, options: { store?: string; json?: boolean }) => {
      const { store, runId } = await resolveRun(reference, options.store);
      try {
        const run = (await store.getRun(runId))!;
        const state = await getExecutionState(store, runId);
        const scores = await getScoreSummary(store, runId);
        const failureCounts = await store.countFailures(runId);
        const failureExamples = await store.listFailures(runId, 5);
        const owners = await activeOwners(store, runId);
        const { usage, cost } = await getUsageSummary(store, runId);
        if (options.json) {
          printJson({
            runId,
            name: run.name,
            status: state.status,
            interruptReason: state.interruptReason,
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
        const why = state.interruptReason ? ` (${INTERRUPT_TEXT[state.interruptReason]})` : '';
        printLine(`status   ${state.status}${why}${through} · updated ${run.updatedAt}`);
        printLine(`tasks    ${state.tasks} · ${state.done} done · ${state.failed} failed · ${state.tasks - state.done - state.failed} pending`);
        printLine(
          `stages   ${STAGES.map((stage) => {
            const counts = state.stages[stage];
            return counts.enabled ? `${stage} ${counts.completed}/${state.tasks}${counts.failed ? ` (${counts.failed} failed)` : ''}` : `${stage} -`;
          }).join(' · ')}`,
        );
        if (owners.length > 0) printLine(`workers  ${owners.map((owner) => `pid ${owner.pid} on ${owner.host}`).join(', ')}`);
        printLine();
        if (scores.length > 0) {
          const interval = (row: (typeof scores)[number]) => (row.ci ? `[${row.ci[0].toFixed(3)}, ${row.ci[1].toFixed(3)}] ${row.ciMethod}` : '–');
          printLine(table(['model', 'prompt', 'metric', 'mean', '95% CI', 'n'], scores.map((row) => [row.model, row.prompt, row.metric, row.mean.toFixed(3), interval(row), row.n])));
          if (run.snapshot.replicates > 1) printLine('         (with replicates, intervals need items averaged first: see assay report)');
        } else printLine('no scores yet');
        if (usage.length > 0) {
          printLine();
          printLine(
            table(
              ['model', 'stage', 'calls', 'input tokens', 'output tokens', 'cost (USD)'],
              usage.map((row) => [row.model, row.stage, row.calls, row.inputTokens, row.outputTokens, row.cost === null ? 'unknown' : row.cost.toFixed(4)]),
            ),
          );
          printLine(`cost     ${formatCost(cost)}`);
          if (cost.importedPrices) printLine("         (at this machine's prices: the prices that came with the imported bundle are not used)");
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
