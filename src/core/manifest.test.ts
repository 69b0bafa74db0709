import { describe, expect, it } from 'vitest';
import { createManifest, taskCoordinates, taskOrd, type ManifestShape } from './manifest.js';

const shape: ManifestShape = { modelIds: ['m1', 'm2'], promptIds: ['p1', 'p2', 'p3'], replicates: 2, perItem: 12 };

describe('manifest', () => {
  it('orders tasks item-major, then model, prompt and replicate', () => {
    const manifest = createManifest(shape, [
      { datasetId: 'd', itemId: 'a' },
      { datasetId: 'd', itemId: 'b' },
    ]);
    expect(manifest.taskCount).toBe(24);
    const keys = [...manifest.tasks()].map((task) => task.key);
    expect(keys.slice(0, 3)).toEqual(['d/a/m1/p1/0', 'd/a/m1/p1/1', 'd/a/m1/p2/0']);
    expect(keys[12]).toBe('d/b/m1/p1/0');
    expect(new Set(keys).size).toBe(24);
  });

  it('converts positions and coordinates both ways', () => {
    for (let ord = 0; ord < 36; ord++) {
      const { itemOrd, modelIndex, promptIndex, replicate } = taskCoordinates(shape, ord);
      expect(taskOrd(shape, itemOrd, modelIndex, promptIndex, replicate)).toBe(ord);
    }
  });

  it('locates keys, and only keys of this run', () => {
    const manifest = createManifest(shape, [{ datasetId: 'd', itemId: 'x/y' }]);
    for (const task of manifest.tasks()) expect(manifest.locate(task.key)).toBe(task.ord);
    expect(manifest.locate('d/x%2Fy/m3/p1/0')).toBeUndefined();
    expect(manifest.locate('d/x%2Fy/m1/p1/2')).toBeUndefined();
    expect(manifest.locate('d/other/m1/p1/0')).toBeUndefined();
    expect(manifest.locate('not a key')).toBeUndefined();
  });
});
