import { existsSync, statSync } from 'node:fs';
import { RunNotFoundError, UserError } from '../core/errors.js';
import { defaultStorePath, holdsOneRun, openStore } from '../stores/open-store.js';
import type { Experiment } from '../experiment/experiment.js';
import type { Store } from '../spec/store.js';

export interface ResolvedRun {
  readonly store: Store;
  readonly runId: string;
  /** Set when the reference was a config file. */
  readonly experiment: Experiment | undefined;
}

/**
 * Turns a `<config|runId>` argument into a run in a store. A path to an existing file is compiled to its run
 * id (the store comes from --store, else the config); a results file with its progressive-save `.state` beside
 * it is that job's run, and so is a finished job's results JSON (read-only); anything else is a run id or a
 * unique prefix of one.
 */
export async function resolveRun(reference: string, storeOption: string | undefined): Promise<ResolvedRun> {
  // A progressive save (results file with its .state beside it) holds exactly one run.
  // So does a finished job's results JSON; a results CSV holds none (refused).
  if (holdsOneRun(reference)) {
    const store = await openStore(reference, { create: false });
    const [run] = await store.listRuns();
    if (!run) {
      await store.close();
      throw new UserError('run_not_found', `${store.location} holds no run yet`, { hint: 'start the job again with --progressive-save' });
    }
    return { store, runId: run.runId, experiment: undefined };
  }
  if (existsSync(reference) && statSync(reference).isFile()) {
    // Loaded only for config references: reading a run by id needs neither YAML nor the schemas.
    const { Experiment } = await import('../experiment/experiment.js');
    const experiment = Experiment.fromConfig(reference);
    const { runId } = experiment.compile();
    const store = await openStore(experiment.storePath(storeOption), { create: false });
    if (!(await store.getRun(runId))) {
      await store.close();
      throw new UserError('run_not_found', `${reference} compiles to run ${runId.slice(0, 12)}, which is not in store ${store.location}`, {
        hint: `start it with \`assay run ${reference}\``,
      });
    }
    return { store, runId, experiment };
  }
  if (!/^[0-9a-f]{4,64}$/.test(reference)) {
    throw new UserError('bad_reference', `'${reference}' is neither a config file nor a run id`, { hint: 'pass a config path or a run id (at least 4 hex digits)' });
  }
  const store = await openStore(storeOption ?? defaultStorePath(), { create: false });
  const matches = await store.findRuns(reference, 2);
  if (matches.length === 0) {
    const location = store.location;
    await store.close();
    throw new RunNotFoundError(reference, location);
  }
  if (matches.length > 1) {
    await store.close();
    throw new UserError('ambiguous_run', `run id prefix '${reference}' matches more than one run`, { hint: 'give more digits' });
  }
  return { store, runId: matches[0]!.runId, experiment: undefined };
}
