import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { STORE_HELP } from '../arguments.js';
import { printErrorLine } from '../output.js';
import { terminalSafe } from '../../core/terminal-safe.js';
import { resolveRun } from '../resolve-run.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function resultsCommand(): Command {
  return new Command('results')
    .description('one row per task of a stored run: input, prompt as sent, answer, parsed value, every score, failure, tokens, cost, latency')
    .argument('<run>', 'experiment config file, a run id (or unique prefix), or a results file')
    .addOption(new Option('--format <format>', 'csv, json (an array) or jsonl (one object per line)').choices(['csv', 'json', 'jsonl']).default('csv'))
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--model <id>', 'only tasks of this model (repeatable)', collect)
    .option('--dataset <id>', 'only tasks of this dataset (repeatable)', collect)
    .option('--failed', 'only tasks that failed')
    .option('--store <path>', STORE_HELP.reference)
    .action(async (reference: string, options: { format: 'csv' | 'json' | 'jsonl'; out?: string; model?: string[]; dataset?: string[]; failed?: boolean; store?: string }) => {
      const { store, runId } = await resolveRun(reference, options.store);
      try {
        const { writeResults } = await import('../../report/results-table.js');
        const filters = { format: options.format, ...(options.model ? { models: options.model } : {}), ...(options.dataset ? { datasets: options.dataset } : {}), ...(options.failed ? { failed: true } : {}) };
        if (options.out) {
          const out = resolve(options.out);
          const { rows } = await writeResults(store, runId, filters, { out });
          printErrorLine(`wrote ${rows} rows to ${out} (${options.format})`);
        } else {
          // Text from models goes to a terminal through the safe writer; a pipe gets the exact bytes.
          const safe = process.stdout.isTTY ? terminalSafe : (text: string) => text;
          await writeResults(store, runId, filters, {
            write: async (text) => {
              if (text && !process.stdout.write(safe(text))) await new Promise((done) => process.stdout.once('drain', done));
            },
          });
        }
      } finally {
        await store.close();
      }
    });
}
