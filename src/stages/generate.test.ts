import { describe, expect, it } from 'vitest';
import { createManifest } from '../core/manifest.js';
import { callSeed, TaskSeeds } from './generate.js';

describe('call seeds', () => {
  it('hashed piece by piece equal the seeds of whole task keys', () => {
    const items = [
      { datasetId: 'gsm8k', itemId: 'q/1%x' },
      { datasetId: 'd', itemId: 'b' },
    ];
    const shape = { modelIds: ['org/model', 'm2'], promptIds: ['default', 'p%2F'], replicates: 3, perItem: 12 };
    const manifest = createManifest(shape, items);
    for (const runSeed of [0, 42, 2 ** 31 - 1]) {
      const seeds = new TaskSeeds(runSeed, shape);
      for (const task of manifest.tasks()) {
        const item = items[task.itemOrd]!;
        for (const sample of [0, 1, 7]) expect(seeds.seed(task, item, sample)).toBe(callSeed(runSeed, task.key, sample));
      }
    }
  });

  it('differ between samples, replicates and runs', () => {
    const key = 'd/i/m/p/0';
    expect(new Set([callSeed(0, key, 0), callSeed(0, key, 1), callSeed(0, 'd/i/m/p/1', 0), callSeed(1, key, 0)]).size).toBe(4);
  });
});
