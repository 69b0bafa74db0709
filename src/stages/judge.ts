import type { TaskEvent } from '../spec/event.js';

/**
 * The judge stage. With no judges configured a task passes straight from score to done, so this is only
 * reached by runs that declare judges; none can be declared yet.
 */
export function runJudge(taskOrd: number): TaskEvent {
  return { taskOrd, type: 'judge-completed', payload: { judgments: [] } };
}
