import { describe, expect, it } from 'vitest';
import { runBundleMutations } from './bundle-mutations.js';
import { inputMutationCampaign } from './input-mutations.js';
import { killRestartScenario, ROLES } from './kill-restart.js';

// The reduced chaos suite inside `npm test`; `npm run chaos` runs the full one and writes docs/reliability.md.
describe('chaos (reduced)', () => {
  it('kill -9 at random moments, restarting each time: the results equal an uninterrupted run, repeats stay within kills x concurrency per role, events never go down', async () => {
    const figures = await killRestartScenario({ kills: 8, items: 30, concurrency: 4, seed: 7 });
    expect(figures.differences).toEqual([]);
    expect(figures.resultsEqual).toBe(true);
    expect(figures.eventsNeverDecreased).toBe(true);
    for (const role of ROLES) expect(figures.repeats[role], role).toBeGreaterThanOrEqual(0);
    // A call of any role keeps its slot until its reply is committed: at most `concurrency` replies lost per kill.
    const repeats = ROLES.reduce((total, role) => total + figures.repeats[role], 0);
    expect(repeats).toBeLessThanOrEqual(figures.kills * figures.concurrency);
  }, 180_000);

  it('40 mutated and forged bundles: each import exits 0 or 1 with one line, never 2 or a stack trace; a refused one leaves the store as it was', async () => {
    const report = await runBundleMutations({ count: 40, seed: 11 });
    expect(report.violations.map((entry) => `${entry.mutation} (${entry.description}): ${entry.violations.join('; ')}`)).toEqual([]);
    expect(report.tried).toBe(40);
    expect(report.refused).toBeGreaterThan(0);
  }, 180_000);

  it('60 mutated configs and datasets: run and estimate exit 0 or 1 with one line, never 2, a stack or a hang; a refused one leaves the store as it was', async () => {
    const report = await inputMutationCampaign({ count: 60, seed: 5 });
    expect(report.failures.map((entry) => `#${entry.index} ${entry.fixture} ${entry.file} ${entry.kind} (${entry.note}): ${entry.problems.join(', ')}`)).toEqual([]);
    expect(report.tried).toBe(60);
    expect(report.exitCodes['exit 1']).toBeGreaterThan(0);
  }, 240_000);
});
