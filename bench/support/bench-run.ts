// The run the store benchmarks write straight through a store (no engine): a snapshot of one mock dataset,
// provenance naming the benchmark, and the four events of a finished task.
import { hashValue } from '../../src/core/canonical-json.js';
import type { TaskEvent } from '../../src/spec/event.js';
import type { NewRun, StoredItem } from '../../src/spec/store.js';
import { testSnapshot } from '../../src/testing/snapshot.js';

/** A run of `tasks` tasks (one model, one prompt: one task per item) named `name`, with the given items. */
export function benchRun(tasks: number, name: string, items: Iterable<StoredItem>): NewRun {
  const snapshot = testSnapshot({ datasets: [{ id: 'ds', fingerprint: 'f'.repeat(64), itemCount: tasks, fields: { input: 'q', target: 'a', idField: 'id' }, targetParse: null }] });
  const provenance = { toolVersion: 'bench', nodeVersion: process.version, platform: 'bench', arch: 'bench', hostname: 'bench', gitCommit: null, configPath: null, experimentName: name, createdAt: new Date().toISOString(), runtime: {}, transport: {} };
  return { runId: hashValue(snapshot), name, snapshot, provenance, items, taskCount: tasks * snapshot.models.length * snapshot.prompts.length * snapshot.replicates };
}

/** Items whose fields are fixed strings: enough where the items' content is not measured. */
export function plainItems(count: number): StoredItem[] {
  return Array.from({ length: count }, (_, ord) => ({ ord, datasetId: 'ds', itemId: `i${ord}`, input: 'q', target: 'a', fields: { id: `i${ord}`, q: 'q', a: 'a' } }));
}

/** The events of a task answered, reduced, parsed and scored (every third one wrong). */
export function finishedEvents(ord: number): TaskEvent[] {
  return [
    { taskOrd: ord, type: 'generate-completed', payload: { sample: 0, candidate: { text: `The answer is ${ord + 1}.`, finishReason: { unified: 'stop', raw: 'stop' }, usage: { inputTokens: 9, outputTokens: 5 }, latencyMs: 1 } } },
    { taskOrd: ord, type: 'reduce-completed', payload: { reduced: { sources: [0] } } },
    { taskOrd: ord, type: 'parse-completed', payload: { outcome: { ok: true, value: ord + 1 } } },
    { taskOrd: ord, type: 'score-completed', payload: { scores: { accuracy: { value: ord % 3 === 0 ? 0 : 1 } } } },
  ];
}
