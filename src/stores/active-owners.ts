import { hostname } from 'node:os';
import { processAlive } from '../core/process-alive.js';
import type { OwnerRecord, Store } from '../spec/store.js';

/**
 * The one rule for "is someone running this?": an owner is active while its lease is live by the store's
 * clock, unless it runs on this machine and its process is gone (killed: its leases are void at once, not
 * after they expire). With `removeInactive` (the engine, before it claims) the others are removed, so their
 * leases are free at once; without it nothing is written (read-only commands). Every check that asks (a
 * second `assay run`, a rerun, a replay, an import, the run's final status) uses this.
 */
export async function activeOwners(store: Store, runId: string, options: { except?: string; removeInactive?: boolean } = {}): Promise<OwnerRecord[]> {
  const host = hostname();
  const active: OwnerRecord[] = [];
  for (const owner of await store.listOwners(runId)) {
    if (owner.owner === options.except) continue;
    const killed = owner.host === host && owner.pid !== process.pid && !processAlive(owner.pid);
    if (owner.live && !killed) active.push(owner);
    else if (options.removeInactive) await store.releaseOwner(owner.owner);
  }
  return active;
}

/** Who holds a run, for a message: "pid 123 on host-a, pid 456 on host-b". */
export function describeOwners(owners: readonly OwnerRecord[]): string {
  return owners.map((owner) => `pid ${owner.pid} on ${owner.host}`).join(', ');
}
