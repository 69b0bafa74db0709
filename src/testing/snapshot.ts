import { SNAPSHOT_FORMAT, SNAPSHOT_VERSION, type Provenance, type RunSnapshot } from '../spec/snapshot.js';

/**
 * A small valid run snapshot for tests of stores and the engine: one mock model, one prompt, one sample,
 * first / last-number / numeric-match, no datasets, judges or evaluators. Override what the test is about.
 */
export function testSnapshot(overrides: Partial<RunSnapshot> = {}): RunSnapshot {
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    datasets: [],
    models: [{ id: 'm', provider: 'mock', model: 'mock', params: {}, options: {} }],
    evaluators: [],
    prompts: [{ id: 'p', system: null, user: '{{input}}' }],
    samples: 1,
    replicates: 1,
    seed: 0,
    reduce: { id: 'first', version: '1', args: {} },
    parse: { id: 'last-number', version: '1', args: {} },
    metrics: [{ id: 'numeric-match', version: '1', args: { name: 'accuracy' } }],
    judges: [],
    ...overrides,
  };
}

/** The provenance of a run made by a test (fixed values, so a store can be checked to give it back as given). */
export function testProvenance(experimentName: string): Provenance {
  return {
    toolVersion: 'test',
    nodeVersion: process.version,
    platform: 'test',
    arch: 'test',
    hostname: 'test',
    gitCommit: null,
    configPath: null,
    experimentName,
    createdAt: '2026-01-01T00:00:00.000Z',
    runtime: {},
    transport: {},
  };
}
