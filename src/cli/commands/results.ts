import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { STORE_HELP } from '../arguments.js';
import { printErrorLine } from '../output.js';
import { terminalSafe } from '../../core/terminal-safe.js';
import { resolveRun } from '../resolve-run.js';
import { UserError } from '../../core/errors.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function resultsCommand(): Command {
  return new Command('results')
    .description('one row per task of a stored run: input, prompt as sent, answer, parsed value, every score, failure, tokens, cost, latency')
    .argument('<run>', 'experiment config file, a run id (or unique prefix), or a results file')
    .addOption(new Option('--format <format>', "csv, json (an array), jsonl (one object per line) or karenina (karenina's verification-results export, every task)").choices(['csv', 'json', 'jsonl', 'karenina']).default('csv'))
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--model <id>', 'only tasks of this model (repeatable)', collect)
    .option('--dataset <id>', 'only tasks of this dataset (repeatable)', collect)
    .option('--failed', 'only tasks that failed')
    .option('--store <path>', STORE_HELP.reference)
    .action(async (reference: string, options: { format: 'csv' | 'json' | 'jsonl' | 'karenina'; out?: string; model?: string[]; dataset?: string[]; failed?: boolean; store?: string }) => {
      if (options.format === 'karenina' && (options.model || options.dataset || options.failed)) {
        throw new UserError('usage', '--format karenina writes every task of the run; drop --model, --dataset and --failed', { hint: 'filter in karenina after loading the file' });
      }
      const { store, runId } = await resolveRun(reference, options.store);
      try {
        if (options.format === 'karenina') {
          const { writeKareninaResults, writeKareninaResultsFile } = await import('../../report/karenina-results.js');
          if (options.out) {
            const out = resolve(options.out);
            const { tasks } = await writeKareninaResultsFile(store, runId, out);
            printErrorLine(`wrote ${tasks} results to ${out} (karenina)`);
          } else {
            const safe = process.stdout.isTTY ? terminalSafe : (text: string) => text;
            await writeKareninaResults(store, runId, async (text) => {
              if (text && !process.stdout.write(safe(text))) await new Promise((done) => process.stdout.once('drain', done));
            });
          }
          return;
        }
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
