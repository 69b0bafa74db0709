import { existsSync, statSync } from 'node:fs';
import type { Store } from '../../spec/store.js';
import { FilesStore } from './files-store.js';
import { ResultsFileStore } from './results-file-store.js';

/** How often, at most, a read looks at the files for news. */
const CHECK_MS = 500;

/** What the job's files look like now: changes when the job writes a record, saves its state or finishes. */
function signature(outputPath: string): string {
  const parts = [`${outputPath}.tmp`, `${outputPath}.state`, outputPath].map((path) => {
    try {
      const stat = statSync(path);
      return `${stat.size}:${stat.mtimeMs}`;
    } catch {
      return '-';
    }
  });
  return parts.join('|');
}

/**
 * A progressive save read by someone other than its job (assay view), while the job may still be running:
 * opened without the job's lock and never written. Reads see the files as of the last look: every read
 * checks (at most every half second) whether the job has written since, and if so reopens the files. When
 * the job has finished (its `.state` and `.tmp` gone, the results file written), the results file is read.
 */
export class ProgressiveReader {
  private current: Store;
  private seen: string;
  private checkedAt = Date.now();
  private reopening: Promise<void> | null = null;

  private constructor(private readonly outputPath: string) {
    this.seen = signature(outputPath);
    this.current = ProgressiveReader.openNow(outputPath);
  }

  private static openNow(outputPath: string): Store {
    if (!existsSync(`${outputPath}.state`) && existsSync(outputPath)) return ResultsFileStore.open(outputPath);
    return FilesStore.open(outputPath, { job: { config: null, datasetPaths: {} }, readonly: true });
  }

  /** A Store over the job's files, as the job writes them. */
  static open(outputPath: string): Store {
    const reader = new ProgressiveReader(outputPath);
    return new Proxy(reader.current, {
      get(_target, property) {
        const value = Reflect.get(reader.current, property) as unknown;
        if (typeof value !== 'function') return value;
        if (property === 'close') return () => reader.current.close();
        return async (...args: unknown[]) => {
          await reader.refresh();
          const method = Reflect.get(reader.current, property) as (...parameters: unknown[]) => unknown;
          return method.apply(reader.current, args);
        };
      },
    });
  }

  private refresh(): Promise<void> {
    if (Date.now() - this.checkedAt < CHECK_MS) return Promise.resolve();
    this.reopening ??= (async () => {
      try {
        this.checkedAt = Date.now();
        const now = signature(this.outputPath);
        if (now === this.seen) return;
        // The job may be between two writes (a .state renamed into place, a line half written): a failed
        // reopen keeps the last good view and tries again at the next look.
        try {
          const next = ProgressiveReader.openNow(this.outputPath);
          const previous = this.current;
          this.current = next;
          this.seen = now;
          await previous.close();
        } catch {
          // keep the last good view
        }
      } finally {
        this.reopening = null;
      }
    })();
    return this.reopening;
  }
}
