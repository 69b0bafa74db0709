/**
 * How many tasks a process claims at once: four times its concurrency (at least 64, at most 4096), so claims
 * stay rare. With other processes on the run, no more than its share of the tasks still pending (but never
 * fewer than its concurrency): otherwise, near the end, one process holds the last big batch while the
 * others have nothing left to do, and the run ends at a fraction of the fleet's speed.
 */
export function claimSize(concurrency: number, liveProcesses: number, pending: number): number {
  const full = Math.min(4096, Math.max(64, concurrency * 4));
  if (liveProcesses <= 1) return full;
  const share = Math.ceil(pending / liveProcesses);
  return Math.min(full, Math.max(Math.min(concurrency, full), share));
}
