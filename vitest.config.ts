import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end tests spawn processes and servers; two workers match this machine's two cores.
    maxWorkers: 2,
    // The dataset identity cache of the tests (and of the CLI processes they start) stays out of ~/.cache.
    env: { ASSAY_CACHE_DIR: join(tmpdir(), `assay-test-cache-${process.pid}`) },
  },
});
