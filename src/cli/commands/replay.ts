import { Command, Option } from 'commander';
import type { ReplayStage } from '../../experiment/experiment.js';
import type { RunSummary } from '../../experiment/summary.js';
import { positiveInteger, STORE_HELP } from '../arguments.js';
import { printJson } from '../output.js';
import { resolveRun } from '../resolve-run.js';
import { printSummary } from './run.js';

export function replayCommand(): Command {
  return new Command('replay')
    .description('recompute a stage and every later one from stored results, with no calls for earlier stages')
    .argument('<run>', 'experiment config file, or a run id (or unique prefix)')
    .addOption(new Option('--stage <stage>', 'the first stage to recompute').choices(['reduce', 'parse', 'score', 'judge']).makeOptionMandatory())
    .option('--store <path>', STORE_HELP.reference)
    .option('--config <file>', 'take the models from this config (checked against the run): needed for a run imported from a bundle')
    .option('--concurrency <n>', 'evaluator model calls in flight at once', positiveInteger)
    .option('--json', 'print one JSON summary on stdout')
    .option('--quiet', 'no progress display')
    .action(async (reference: string, options: { stage: ReplayStage; store?: string; config?: string; concurrency?: number; json?: boolean; quiet?: boolean }) => {
      const [{ Experiment, replayStoredRun }, { createProgressDisplay }] = await Promise.all([import('../../experiment/experiment.js'), import('../progress-display.js')]);
      // The models' config is read (and checked) before any store is opened.
      const models = options.config ? Experiment.fromConfig(options.config) : undefined;
      const { store, runId, experiment } = await resolveRun(reference, options.store);
      const display = createProgressDisplay({ quiet: options.quiet ?? false, json: options.json ?? false });
      let summary: RunSummary;
      try {
        const common = {
          store,
          stage: options.stage,
          runtime: options.concurrency ? { concurrency: options.concurrency } : {},
          onProgress: (tracker: Parameters<typeof display.attach>[0]) => display.attach(tracker),
          onNotice: (message: string) => display.notice(message),
        };
        summary = experiment ? await experiment.replay(common) : await replayStoredRun(store, runId, { ...common, ...(models ? { models } : {}) });
      } finally {
        display.stop();
        await store.close();
      }
      if (options.json) printJson(summary);
      else printSummary(summary, reference);
    });
}
