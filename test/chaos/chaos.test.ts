import { describe, expect, it } from 'vitest';
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
});
