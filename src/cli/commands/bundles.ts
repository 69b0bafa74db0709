import { Argument, Command } from 'commander';
import { ARTIFACT_KINDS, type ArtifactKind } from '../../core/records.js';
import { defaultStorePath, openExistingStore, openStore } from '../../stores/open-store.js';
import { printJson, printLine, shortId } from '../output.js';
import { resolveRun } from '../resolve-run.js';
import { STORE_HELP } from '../arguments.js';

export function exportCommand(): Command {
  return new Command('export')
    .description('write one kind of a run\'s results to a portable, checksummed bundle file')
    .addArgument(new Argument('<kind>', 'what to export').choices(ARTIFACT_KINDS))
    .argument('<run>', 'experiment config file, or a run id (or unique prefix)')
    .requiredOption('-o, --output <file>', 'bundle file to write (.jsonl, or .jsonl.gz to compress)')
    .option('--store <path>', STORE_HELP.reference)
    .option('--json', 'print JSON')
    .action(async (kind: ArtifactKind, reference: string, options: { output: string; store?: string; json?: boolean }) => {
      const { exportBundle } = await import('../../bundles/export-bundle.js');
      const { store, runId } = await resolveRun(reference, options.store);
      try {
        const header = await exportBundle(store, runId, kind, options.output);
        const summary = { file: options.output, kind, runId, items: header.items, records: header.records, sha256: header.sha256 };
        if (options.json) printJson(summary);
        else printLine(`wrote ${header.records} ${kind} records (and ${header.items} items) of run ${shortId(runId)} to ${options.output}`);
      } finally {
        await store?.close();
      }
    });
}

export function importCommand(): Command {
  return new Command('import')
    .description('import a bundle into a store, checking it first; creates the run if the store lacks it')
    .argument('<file>', 'bundle file written by assay export')
    .option('--store <path>', STORE_HELP.here)
    .option('--replace', 'replace artifacts that differ from the bundle instead of refusing')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { store?: string; replace?: boolean; json?: boolean }) => {
      const { applyImport, checkBundle, planImport } = await import('../../bundles/import-bundle.js');
      // Everything is checked before a store is created or written: a refused bundle leaves no trace.
      const bundle = await checkBundle(file);
      const location = options.store ?? defaultStorePath();
      const existing = await openExistingStore(location);
      let store = existing;
      try {
        const plan = await planImport(existing, bundle, { replace: options.replace ?? false });
        store ??= await openStore(location, { create: true });
        const result = await applyImport(store, plan);
        if (options.json) printJson({ ...result, store: store.location });
        else {
          printLine(
            `imported ${result.imported} of ${result.records} ${result.kind} records into run ${shortId(result.runId)}` +
              `${result.createdRun ? ' (run created)' : ''}; ${result.unchanged} already there${result.replaced ? `, ${result.replaced} replaced` : ''}`,
          );
          printLine(`store: ${store.location}`);
        }
      } finally {
        await store?.close();
      }
    });
}
