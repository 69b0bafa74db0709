import { Command } from 'commander';
import { UserError } from '../../core/errors.js';
import { printJson, printLine, shortId } from '../output.js';

/** `assay store copy FROM TO [run...]`: whole runs between any two stores (SQLite files, PostgreSQL URLs). */
export function storeCommand(): Command {
  return new Command('store')
    .description('work on whole stores: `assay store copy FROM TO [run...]` copies runs between any two stores')
    .addCommand(
      new Command('copy')
        .description('copy whole runs from one store to another (SQLite file or postgres:// URL), each atomically')
        .argument('<from>', 'the store to copy from (a path or a postgres:// URL)')
        .argument('<to>', 'the store to copy to (created when missing)')
        .argument('[runs...]', 'run ids (or unique prefixes); default: every run in FROM')
        .option('--json', 'print JSON')
        .action(async (fromLocation: string, toLocation: string, references: string[], options: { json?: boolean }) => {
          const [{ openStore }, { copyRun }] = await Promise.all([import('../../stores/open-store.js'), import('../../stores/copy-run.js')]);
          const from = await openStore(fromLocation, { create: false });
          try {
            const runIds: string[] = [];
            if (references.length === 0) for (const run of await from.listRuns()) runIds.push(run.runId);
            for (const reference of references) {
              const matches = await from.findRuns(reference, 2);
              if (matches.length !== 1) {
                throw new UserError('run_not_found', `${matches.length === 0 ? 'no run' : 'more than one run'} matching '${reference}' in store ${from.location}`, {
                  hint: matches.length === 0 ? `list the runs with \`assay runs --store ${from.location}\`` : 'give more digits',
                });
              }
              runIds.push(matches[0]!.runId);
            }
            const to = await openStore(toLocation, { create: true });
            const copied: { runId: string; outcome: string }[] = [];
            try {
              for (const runId of runIds) {
                const outcome = await copyRun(from, to, runId);
                copied.push({ runId, outcome });
                if (!options.json) printLine(`${outcome === 'copied' ? 'copied' : 'already there, unchanged:'} run ${shortId(runId)}`);
              }
              if (options.json) printJson({ from: from.location, to: to.location, runs: copied });
              else printLine(`${copied.filter((entry) => entry.outcome === 'copied').length} of ${copied.length} runs copied from ${from.location} to ${to.location}`);
            } finally {
              await to.close();
            }
          } finally {
            await from.close();
          }
        }),
    );
}
