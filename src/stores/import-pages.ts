import { completedThroughStage } from '../core/execution-state.js';
import type { ImportPages, ImportRequest, RunStatus, StageHistogramRow } from '../spec/store.js';

function isPaged<T>(source: Iterable<T> | AsyncIterable<readonly T[]>): source is AsyncIterable<readonly T[]> {
  return Symbol.asyncIterator in source;
}

/**
 * The pages of what an import writes (ImportPages, or a run's items): an array as one page (an import at
 * hand writes as it always did), another iterable in pages of `size`, an async iterable's pages as they come.
 */
export async function* pagesOf<T>(source: ImportPages<T> | Iterable<T>, size = 2_000): AsyncGenerator<readonly T[]> {
  if (isPaged(source)) {
    for await (const page of source) yield page;
  } else if (Array.isArray(source)) {
    yield source;
  } else {
    let page: T[] = [];
    for (const value of source) {
      page.push(value);
      if (page.length >= size) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }
}

/** Whether an import's pages can be read only once (an async source): such an import cannot be tried again. */
export function readOnce(...sources: (ImportPages<unknown> | Iterable<unknown> | undefined)[]): boolean {
  return sources.some((source) => source !== undefined && isPaged(source));
}

/** Every page at once: for a store that holds its whole job in memory anyway (stores/files). */
export async function collectPages<T>(source: ImportPages<T> | Iterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pagesOf(source)) all.push(...page);
  return all;
}

/** The status an import gives its run (ImportRequest.status). */
export type ImportedStatus = NonNullable<ImportRequest['status']>;

/**
 * The status an import leaves its run in, the same on every backend: the one the request carries (a copy
 * brings its source's); else, for a run no process is working, completed through the last stage every task
 * passed, or interrupted; null to leave a running run as it is. The histogram is read only when needed.
 */
export async function importedStatus(
  request: ImportRequest,
  current: RunStatus,
  histogram: () => readonly StageHistogramRow[] | Promise<readonly StageHistogramRow[]>,
): Promise<ImportedStatus | null> {
  if (request.status) return request.status;
  if (current === 'running') return null;
  const reached = completedThroughStage(await histogram());
  return reached === null ? { status: 'interrupted', completedThroughStage: null, interruptReason: 'user' } : { status: 'completed', completedThroughStage: reached, interruptReason: null };
}
