import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { OwnerUnknownError } from '../core/errors.js';
import type { ClaimedTask, Store } from '../spec/store.js';

export interface LeaseKeeperOptions {
  readonly store: Store;
  readonly runId: string;
  readonly leaseMs: number;
  /** Tells the user what happened to this process's leases (an eviction, tasks taken over). */
  readonly notice: (message: string) => void;
  /** This process's own elapsed time, in ms (monotonic); never compared with another machine's clock. */
  readonly now?: () => number;
}

/**
 * This process's side of the leases it holds on a run: its owner registration, the fencing token of every
 * task it has claimed, and the heartbeat that renews them.
 *
 * Expiry is the store's business (its clock decides when a lease lapses). What this process measures is only
 * its own elapsed time since the store last confirmed its leases: once half a lease has passed without a
 * confirmation (a pause, a sleeping laptop, a stalled event loop), no new model call starts until a heartbeat
 * says which leases are still held. A task whose lease another process took is dropped at once, and its
 * late results are refused by the store's token check anyway.
 */
export class LeaseKeeper {
  private ownerId = '';
  private readonly held = new Map<number, number>();
  private confirmedAt = Number.NEGATIVE_INFINITY;
  private renewing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  private lostCount = 0;
  private onFailure: ((error: unknown) => void) | null = null;
  /** Whether a heartbeat has told the store how many leases this process holds (what `assay status` shows). */
  private heldReported = false;

  constructor(private readonly options: LeaseKeeperOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** The owner id this process writes under (it changes when the process registers again after an eviction). */
  get owner(): string {
    return this.ownerId;
  }

  /** Task ordinal to fencing token, for every lease this process holds. */
  get tokens(): ReadonlyMap<number, number> {
    return this.held;
  }

  /** Tasks this process gave up because another process took their lease. */
  get lost(): number {
    return this.lostCount;
  }

  async register(): Promise<void> {
    this.ownerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const sentAt = this.now();
    await this.options.store.registerOwner({ owner: this.ownerId, runId: this.options.runId, host: hostname(), pid: process.pid }, this.options.leaseMs);
    this.confirmedAt = sentAt;
  }

  /** Renews the leases every quarter lease; a renewal that fails (the store refused it) goes to `onFailure`. */
  start(onFailure: (error: unknown) => void): void {
    this.onFailure = onFailure;
    this.timer = setInterval(() => void this.renew().catch(onFailure), Math.max(250, this.options.leaseMs / 4));
    this.timer.unref();
  }

  /**
   * Records the tasks a claim leased. After the first claim the held count goes to the store at once (one
   * heartbeat), not a quarter lease later, so `assay status` does not show a working process holding nothing.
   */
  claimed(tasks: readonly ClaimedTask[]): void {
    for (const task of tasks) this.held.set(task.ord, task.token);
    if (!this.heldReported && tasks.length > 0 && this.onFailure) {
      this.heldReported = true;
      void this.renew().catch(this.onFailure);
    }
  }

  /** The task's lease was given back (its release committed) or refused: it is no longer held. */
  dropped(ord: number): void {
    this.held.delete(ord);
  }

  holds(ord: number): boolean {
    return this.held.has(ord);
  }

  /**
   * Whether a model call for the task may start now: the lease is held and confirmed recently enough that it
   * cannot have lapsed. Otherwise asks the store first (one heartbeat shared by every waiting call).
   */
  mayCall(ord: number): boolean | Promise<boolean> {
    if (!this.held.has(ord)) return false;
    if (this.now() - this.confirmedAt < this.options.leaseMs / 2) return true;
    return this.renew().then(() => this.held.has(ord));
  }

  /** One heartbeat: renews what is held, learns what was taken, and registers again if the store forgot us. */
  renew(): Promise<void> {
    this.renewing ??= this.heartbeat().finally(() => {
      this.renewing = null;
    });
    return this.renewing;
  }

  private async heartbeat(): Promise<void> {
    const { store, leaseMs, notice } = this.options;
    const sentAt = this.now();
    const away = sentAt - this.confirmedAt;
    let result = await store.heartbeat(this.ownerId, leaseMs, this.held);
    if (!result.alive) {
      // Another process removed us after our lease lapsed. Our tokens still decide which tasks are ours.
      const previous = this.ownerId;
      await this.register();
      result = await store.heartbeat(this.ownerId, leaseMs, this.held);
      notice(
        `this process went ${Math.round(away / 1000)} s without renewing its leases (paused or asleep?), longer than its lease of ${Math.round(leaseMs / 1000)} s; ` +
          `another process removed it (${previous}); it registered again and keeps only the tasks nobody took over`,
      );
    }
    if (result.lost.length > 0) {
      for (const ord of result.lost) this.held.delete(ord);
      this.lostCount += result.lost.length;
      notice(`another process took over ${result.lost.length} task(s) whose lease this process let lapse; no more calls are made for them here`);
    }
    this.confirmedAt = sentAt;
  }

  /** Registers again when a claim or append found the owner unknown (evicted between two heartbeats). */
  async recover(error: unknown): Promise<void> {
    if (!OwnerUnknownError.isInstance(error)) throw error;
    await this.renew();
  }

  /** Stops renewing and removes the owner: every lease it still holds is free at once. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.ownerId) await this.options.store.releaseOwner(this.ownerId);
  }

}
