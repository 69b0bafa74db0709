import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStoreContract } from '../store-contract.test-suite.js';
import { FilesStore } from './files-store.js';

let directory: string | undefined;

describeStoreContract('files', {
  async create() {
    directory = mkdtempSync(join(tmpdir(), 'assay-files-'));
    return FilesStore.open(join(directory, 'results.json'), { job: { config: { test: true }, datasetPaths: {} } });
  },
  async dispose() {
    if (directory) rmSync(directory, { recursive: true, force: true });
  },
  singleRun: true,
});
