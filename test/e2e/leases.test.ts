import { describe, expect, it } from 'vitest';
import { pauseScenario } from '../chaos/pause-scenario.js';

describe('fenced leases across processes', () => {
  it('a process paused past its lease loses its tasks to another one, writes nothing for them and says so; no result is written twice', async () => {
    const figures = await pauseScenario({ tasks: 120, concurrency: 4, pauseMs: 2500 });
    expect(figures.paused.code, figures.paused.stderr).toBe(0);
    expect(figures.second.code, figures.second.stderr).toBe(0);
    // Both did work, and the woken one said what happened to its leases.
    expect(figures.callsByProcess[0]).toBeGreaterThan(0);
    expect(figures.callsByProcess[1]).toBeGreaterThan(0);
    expect(figures.paused.stderr).toMatch(/longer than its lease|took over/);
    // Every question asked; none asked twice beyond what the paused process had in flight.
    expect(figures.asked).toBe(120);
    expect(figures.maxAskedPerQuestion).toBeLessThanOrEqual(2);
    expect(figures.repeated).toBeLessThanOrEqual(4);
    // The store holds exactly one answer per task: the paused process's late answers were refused.
    expect(figures.maxAnswersPerTask).toBe(1);
    expect(figures.finalStatus).toBe('completed');
  });
});
