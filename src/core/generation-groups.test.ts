import { describe, expect, it } from 'vitest';
import type { RunSnapshot } from '../spec/snapshot.js';
import { testSnapshot } from '../testing/snapshot.js';
import { generationGroups, sameCallsMapper } from './generation-groups.js';
import { manifestShape, taskCoordinates } from './manifest.js';

const model = (id: string, temperature = 0) => ({ id, provider: 'mock', model: 'm', params: { temperature }, options: {} });
const dataset = (id: string, fingerprint: string, itemCount: number) => ({ id, fingerprint, itemCount, fields: { input: 'q', target: 'a', idField: null }, targetParse: null });

function snapshot(overrides: Partial<RunSnapshot>): RunSnapshot {
  return testSnapshot({
    datasets: [dataset('d', 'f1', 3)],
    models: [model('a')],
    metrics: [{ id: 'numeric-match', version: '1', args: { name: 'x' } }],
    ...overrides,
  });
}

describe('generation groups', () => {
  it('ignore what does not change the calls (metrics, parser) and notice what does', () => {
    const base = generationGroups(snapshot({}))[0]!.key;
    expect(generationGroups(snapshot({ metrics: [], parse: { id: 'exact-text', version: '1', args: {} } }))[0]!.key).toBe(base);
    expect(generationGroups(snapshot({ seed: 1 }))[0]!.key).not.toBe(base);
    expect(generationGroups(snapshot({ models: [model('a', 0.5)] }))[0]!.key).not.toBe(base);
    expect(generationGroups(snapshot({ datasets: [dataset('d', 'f2', 3)] }))[0]!.key).not.toBe(base);
  });

  it('map each task to the task that made the same calls, across different task grids', () => {
    const source = snapshot({ models: [model('a'), model('b')], datasets: [dataset('x', 'fx', 2), dataset('d', 'f1', 3)], replicates: 2 });
    const target = snapshot({ models: [model('b'), model('c')], replicates: 3 });
    const sourceShape = manifestShape(source);
    const targetShape = manifestShape(target);
    const map = sameCallsMapper({ snapshot: target, shape: targetShape }, { snapshot: source, shape: sourceShape });
    for (let ord = 0; ord < 3 * 2 * 3; ord++) {
      const task = taskCoordinates(targetShape, ord);
      const mapped = map(ord);
      if (task.modelIndex === 1 || task.replicate === 2) {
        expect(mapped, `ord ${ord}`).toBeUndefined();
        continue;
      }
      const found = taskCoordinates(sourceShape, mapped!);
      expect(found).toMatchObject({ itemOrd: 2 + task.itemOrd, modelIndex: 1, promptIndex: 0, replicate: task.replicate });
    }
  });
});
