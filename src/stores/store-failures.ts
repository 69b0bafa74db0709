import type { StoreUnavailableError } from '../core/errors.js';

/**
 * Wraps a store so that every failure of the medium under it (a full disk, a read-only file system, an I/O
 * error, a lost connection) leaves each method as a `StoreUnavailableError`, whatever the driver threw.
 * `translate` returns undefined for errors that are not such failures (bugs), which pass through unchanged.
 */
export function translateFailures<Instance extends object>(store: Instance, translate: (error: unknown) => StoreUnavailableError | undefined): Instance {
  const wrapped = new Map<PropertyKey, unknown>();
  const rethrow = (error: unknown): never => {
    throw translate(error) ?? error;
  };
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      let method = wrapped.get(property);
      if (!method) {
        method = (...args: unknown[]) => {
          try {
            const result = (value as (...parameters: unknown[]) => unknown).apply(target, args);
            return result instanceof Promise ? result.catch(rethrow) : result;
          } catch (error) {
            return rethrow(error);
          }
        };
        wrapped.set(property, method);
      }
      return method;
    },
  });
}
