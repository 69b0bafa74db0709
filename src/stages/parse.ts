import type { TaskEvent } from '../spec/event.js';
import type { Parser } from '../spec/parser.js';
import { pluginFailure } from './stage-failure.js';

/** Parses the reduced candidate. An unparseable answer is a result (`ok: false`); only a crash is a failure. */
export function runParse(taskOrd: number, parser: Parser, text: string): TaskEvent {
  try {
    return { taskOrd, type: 'parse-completed', payload: { outcome: parser.parse(text) } };
  } catch (error) {
    return { taskOrd, type: 'parse-failed', payload: { failure: pluginFailure(error) } };
  }
}
