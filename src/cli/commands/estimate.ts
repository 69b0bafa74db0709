import { Command } from 'commander';
import { printJson, printLine, shortId, table } from '../output.js';

export function estimateCommand(): Command {
  return new Command('estimate')
    .description('predict calls, tokens and cost of an experiment before spending anything')
    .argument('<config>', 'experiment config file')
    .option('--store <path>', 'store with earlier runs, for observed answer lengths and work already done (default: as for run)')
    .option('--json', 'print JSON')
    .action(async (config: string, options: { store?: string; json?: boolean }) => {
      const [{ Experiment }, { estimateExperiment }] = await Promise.all([import('../../experiment/experiment.js'), import('../../experiment/estimate.js')]);
      const experiment = Experiment.fromConfig(config);
      const estimate = await estimateExperiment(experiment, experiment.storePath(options.store));
      if (options.json) {
        printJson(estimate);
        return;
      }
      const money = (value: number | null) => (value === null ? 'unknown' : `$${value.toFixed(value < 1 ? 4 : 2)}`);
      printLine(`run ${shortId(estimate.runId)} · ${estimate.tasks} tasks`);
      printLine();
      printLine(
        table(
          ['model', 'stage', 'calls', 'reused', 'input tokens', 'output tokens', 'output basis', 'cost', 'price'],
          estimate.rows.map((row) => [row.model, row.stage, row.calls, row.reused, row.inputTokens, row.outputTokens, row.outputBasis, money(row.cost), row.priceSource]),
        ),
      );
      printLine();
      printLine(`total: ${estimate.total.calls} calls · ${estimate.total.inputTokens} input + ${estimate.total.outputTokens} output tokens · ${money(estimate.total.cost)}`);
      if (estimate.remaining) printLine(`left to run in ${estimate.remaining.store}: about ${estimate.remaining.calls} calls · ${money(estimate.remaining.cost)}`);
      for (const note of estimate.notes) printLine(`note: ${note}`);
    });
}
