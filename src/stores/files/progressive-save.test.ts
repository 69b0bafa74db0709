import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configDifferences, ProgressiveSave, readState } from './progressive-save.js';

const KEYS = ['d/q1/m/p/0', 'd/q2/m/p/0', 'd/q3/m/p/0'];
const result = (task: string) => ({ type: 'score' as const, task, scores: { accuracy: { value: 1 } } });

describe('ProgressiveSave', () => {
  let directory: string;
  let output: string;
  const job = () => new ProgressiveSave({ outputPath: output, config: { model: 'a', temperature: 0 }, datasetPaths: '/data/benchmark.jsonld' });

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'assay-progressive-'));
    output = join(directory, 'results.json');
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('tracks a manifest of task keys and refuses results for anything else', () => {
    const save = job();
    save.initialize(KEYS);
    expect([save.totalTasks, save.completedCount]).toEqual([3, 0]);
    expect(save.statePath).toBe(`${output}.state`);
    expect(save.tmpPath).toBe(`${output}.tmp`);
    save.addResult(result('d/q1/m/p/0'));
    save.addResult(result('d/q2/m/p/0'), 'failed');
    expect(save.completedCount).toBe(1);
    expect(save.failedCount).toBe(1);
    expect(save.pendingTaskKeys()).toEqual(['d/q2/m/p/0', 'd/q3/m/p/0']);
    expect(save.pendingTaskKeys().length + save.completedCount).toBe(save.totalTasks);
    expect(() => save.addResult(result('d/q9/m/p/0'))).toThrow(/task 'd\/q9\/m\/p\/0' is not in this job's manifest/);
    save.close();
  });

  it('appends every result to the .tmp at once but rewrites the .state in batches', () => {
    const save = job();
    save.initialize(KEYS);
    save.addResult(result('d/q1/m/p/0'));
    save.addResult(result('d/q3/m/p/0'));
    expect(readFileSync(save.tmpPath, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line).task)).toEqual(['d/q1/m/p/0', 'd/q3/m/p/0']);
    expect(readState(save.statePath).counts.completed).toBe(0);
    save.writeState();
    expect(readState(save.statePath).counts).toEqual({ total: 3, completed: 2, failed: 0, pending: 1 });
    save.close();
  });

  it('resumes from the .tmp, which is the source of truth, and reports status from the .state alone', () => {
    const save = job();
    save.initialize(KEYS);
    save.addResult(result('d/q2/m/p/0'));
    save.close();
    const { save: resumed, records } = ProgressiveSave.loadForResume(`${output}.state`);
    resumed.useManifest(KEYS);
    expect(records).toEqual([result('d/q2/m/p/0')]);
    const status = ProgressiveSave.inspectStateFile(`${output}.state`);
    expect(status).toMatchObject({ total: 3, completed: 1, failed: 0, pending: 2, tmpExists: true });
    expect(status.percent).toBeCloseTo(100 / 3);
    expect(status.tmpBytes).toBe(readFileSync(`${output}.tmp`).length);
    expect(() => resumed.useManifest([...KEYS, 'd/q4/m/p/0'])).toThrow(/the tasks of this job have changed since it started/);
    resumed.close();
  });

  it('names the paths at which two configs differ, in order, at most a few', () => {
    expect(configDifferences({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] } })).toEqual({ paths: ['b.c[1]'], more: 0 });
    expect(configDifferences({ a: 1 }, { a: 1, 'x-y': 2 })).toEqual({ paths: ['["x-y"]'], more: 0 });
    expect(configDifferences({ a: 1, b: 2, c: 3, d: 4 }, { a: 0, b: 0, c: 0, d: 0 })).toEqual({ paths: ['a', 'b', 'c'], more: 1 });
    expect(configDifferences({ m: [{ id: 'x' }] }, { m: [{ id: 'x' }, { id: 'y' }] })).toEqual({ paths: ['m[1]'], more: 0 });
    expect(configDifferences(1, 2)).toEqual({ paths: ['(the whole configuration)'], more: 0 });
    expect(configDifferences({ a: { b: 1 } }, { a: { b: 1 } })).toEqual({ paths: [], more: 0 });
  });

  it('says whether a config and a dataset path still match the job, and why not', () => {
    const save = job();
    save.initialize(KEYS);
    expect(save.isCompatible({ temperature: 0, model: 'a' }, '/data/benchmark.jsonld')).toEqual({ compatible: true });
    expect(save.isCompatible({ model: 'b', temperature: 0 }, '/data/benchmark.jsonld')).toEqual({ compatible: false, reason: 'configuration has changed since the job started (model)' });
    expect(save.isCompatible({ model: 'a', temperature: 0 }, '/other/benchmark.jsonld')).toEqual({
      compatible: false,
      reason: 'dataset path changed: /data/benchmark.jsonld -> /other/benchmark.jsonld',
    });
    save.close();
  });

  it('finalizes by writing the output atomically and removing both sidecars', async () => {
    const save = job();
    save.initialize(KEYS);
    for (const key of KEYS) save.addResult(result(key));
    await save.finalize('{"done":true}');
    expect(readFileSync(output, 'utf8')).toBe('{"done":true}');
    expect(existsSync(save.tmpPath)).toBe(false);
    expect(existsSync(save.statePath)).toBe(false);
  });
});
