import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

describe('files store lock and state file', () => {
  let folder: string;
  const output = () => join(folder, 'results.json');
  const open = () => FilesStore.open(output(), { job: { config: { test: true }, datasetPaths: {} } });

  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'assay-files-lock-'));
  });
  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('refuses a job another live process holds, and leaves its lock alone', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      const lock = JSON.stringify({ format: 'assay.lock', pid: holder.pid, host: hostname() });
      writeFileSync(`${output()}.lock`, lock);
      expect(open).toThrow(new RegExp(`being run by pid ${holder.pid} on ${hostname()}`));
      expect(readFileSync(`${output()}.lock`, 'utf8')).toBe(lock);
    } finally {
      holder.kill();
    }
  });

  it('takes over the lock of a process of this machine that is gone', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.pid']);
    writeFileSync(`${output()}.lock`, JSON.stringify({ format: 'assay.lock', pid: gone.pid, host: hostname() }));
    const store = open();
    expect(JSON.parse(readFileSync(`${output()}.lock`, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    await store.close();
    expect(existsSync(`${output()}.lock`)).toBe(false);
  });

  it('refuses a lock file it did not write (damaged or foreign), and never overwrites it', () => {
    for (const content of ['{"pid": "twelve"', 'my notes', '[]', '{"pid": 1.5, "host": "x"}']) {
      writeFileSync(`${output()}.lock`, content);
      expect(open).toThrow(/is not a lock file assay wrote/);
      expect(readFileSync(`${output()}.lock`, 'utf8')).toBe(content);
    }
  });

  it('refuses a damaged .state with one clear line, and leaves it (and the lock) as they were', () => {
    for (const content of ['{"format": "assay.progressive-state", "version": 1}', 'not json', 'null']) {
      writeFileSync(`${output()}.state`, content);
      writeFileSync(`${output()}.tmp`, '');
      expect(open).toThrow(/results\.json\.state (is damaged|is not a progressive-save state file)/);
      expect(readFileSync(`${output()}.state`, 'utf8')).toBe(content);
      expect(existsSync(`${output()}.lock`)).toBe(false);
    }
  });
});
