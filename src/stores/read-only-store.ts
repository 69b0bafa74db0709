import { StoreError } from '../core/errors.js';
import type { Store } from '../spec/store.js';

/** The Store methods that only read: everything a reader (assay view, a report) may call. */
const READS = new Set<string>([
  'getRun',
  'findRuns',
  'listRuns',
  'loadItems',
  'loadItemsAt',
  'readItemFields',
  'getTask',
  'listOwners',
  'findRunsSharingGenerations',
  'getStageHistogram',
  'countPastStageByModel',
  'getScoreTotals',
  'getUsageTotals',
  'listFailures',
  'countFailures',
  'loadArtifacts',
  'readResults',
  'readTaskEvents',
  'readTaskEventsAt',
  'queryTasks',
  'findCallReplies',
  'close',
]);

/**
 * A store that refuses every write, whatever its backend: a method that is not a read rejects with a
 * StoreError before it reaches the store. Underneath, each backend is also opened read-only where it can be
 * (an SQLite read-only connection, PostgreSQL read-only sessions, a files store that takes no lock); this is
 * the guarantee that does not depend on each backend getting that right.
 */
export function readOnlyStore(store: Store): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      if (READS.has(property)) return (value as (...args: unknown[]) => unknown).bind(target);
      return () => Promise.reject(new StoreError(target.location, `opened read-only: ${property} is refused`, { hint: 'a reader (assay view) never writes to a store' }));
    },
  });
}
