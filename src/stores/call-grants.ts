import type { CallReservation } from '../spec/store.js';

/**
 * How many of the requested calls fit the limits, given what the window already holds: the one rule of
 * `Store.reserveCalls` every backend applies. A call larger than the whole token limit may go alone (with
 * nothing else in the window), or it would wait forever.
 */
export function grantable(request: CallReservation, usedRequests: number, usedTokens: number): number {
  let granted = Math.max(0, Math.floor(request.requests));
  if (request.requestLimit !== null) granted = Math.min(granted, Math.max(0, request.requestLimit - usedRequests));
  if (request.tokenLimit !== null && granted > 0) {
    const per = Math.max(0, request.tokensPerRequest);
    if (per > 0) {
      const room = Math.floor((request.tokenLimit - usedTokens) / per);
      granted = Math.min(granted, room > 0 ? room : usedTokens === 0 ? 1 : 0);
    }
  }
  return granted;
}

/** Fleet limits kept in memory, for a store only one process opens (the files store): the same rule as SQL. */
export class MemoryCallWindows {
  private readonly windows = new Map<string, { pausedUntil: number; grants: { at: number; requests: number; tokens: number }[] }>();

  private window(runId: string, model: string) {
    const key = `${runId}\u0000${model}`;
    let window = this.windows.get(key);
    if (!window) this.windows.set(key, (window = { pausedUntil: 0, grants: [] }));
    return window;
  }

  reserve(request: CallReservation, now = Date.now()): { granted: number; retryAfterMs: number } {
    const window = this.window(request.runId, request.model);
    if (window.pausedUntil > now) return { granted: 0, retryAfterMs: window.pausedUntil - now };
    if (request.requests <= 0) return { granted: 0, retryAfterMs: 0 };
    const horizon = now - request.windowMs;
    window.grants = window.grants.filter((grant) => grant.at > horizon);
    const usedRequests = window.grants.reduce((sum, grant) => sum + grant.requests, 0);
    const usedTokens = window.grants.reduce((sum, grant) => sum + grant.tokens, 0);
    const granted = grantable(request, usedRequests, usedTokens);
    if (granted > 0) window.grants.push({ at: now, requests: granted, tokens: granted * request.tokensPerRequest });
    const oldest = window.grants[0]?.at ?? now;
    return { granted, retryAfterMs: granted >= request.requests ? 0 : Math.max(1, oldest + request.windowMs - now) };
  }

  pause(runId: string, model: string, pauseMs: number, now = Date.now()): void {
    const window = this.window(runId, model);
    window.pausedUntil = Math.max(window.pausedUntil, now + pauseMs);
  }

  forget(runId: string): void {
    for (const key of this.windows.keys()) if (key.startsWith(`${runId}\u0000`)) this.windows.delete(key);
  }
}
