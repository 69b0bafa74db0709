import { setTimeout as sleep } from 'node:timers/promises';

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' || code === 'SQLITE_BUSY_RECOVERY';
}

/**
 * Several processes share one SQLite file (`assay worker`, `assay run --workers`): a write that finds another
 * process's write lock would, with SQLite's busy timeout, sleep inside the call, blocking the whole Node thread
 * (every call in flight, every timer) for 1 to 100 ms at a time. With the timeout at 0 the call fails at once
 * with SQLITE_BUSY, before it has changed anything (a transaction fails at BEGIN IMMEDIATE; a single statement
 * at its first write), and this wrapper tries the whole method again after giving the event loop back, waiting
 * a little longer each time, for at most `deadlineMs` in all. Every store method is one atomic operation, so
 * trying it again is trying it once.
 */
export function retryWhenBusy<Instance extends object>(store: Instance, deadlineMs: number): Instance {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      let method = wrapped.get(property);
      if (!method) {
        const call = (args: unknown[]) => (value as (...parameters: unknown[]) => unknown).apply(target, args);
        method = (...args: unknown[]) => {
          let first: unknown;
          try {
            first = call(args);
          } catch (error) {
            if (!isBusy(error)) throw error;
            return again(() => call(args), deadlineMs, error);
          }
          return first instanceof Promise ? first.catch((error: unknown) => (isBusy(error) ? again(() => call(args), deadlineMs, error) : Promise.reject(error))) : first;
        };
        wrapped.set(property, method);
      }
      return method;
    },
  });
}

async function again(call: () => unknown, deadlineMs: number, error: unknown): Promise<unknown> {
  const started = performance.now();
  let last = error;
  for (let attempt = 0; performance.now() - started < deadlineMs; attempt++) {
    if (attempt === 0) await new Promise((resolve) => setImmediate(resolve));
    else await sleep(Math.min(20, attempt));
    try {
      return await call();
    } catch (thrown) {
      if (!isBusy(thrown)) throw thrown;
      last = thrown;
    }
  }
  throw last;
}
