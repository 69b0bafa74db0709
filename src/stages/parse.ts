import type { TaskEvent } from '../spec/event.js';
import type { Parser } from '../spec/parser.js';
import type { PluginContext } from '../spec/plugin-context.js';
import { stageFailure } from './stage-failure.js';

/** Parses the reduced candidate. An unparseable answer is a result (`ok: false`); only a crash is a failure. */
export async function runParse(taskOrd: number, parser: Parser, text: string, context: PluginContext): Promise<TaskEvent> {
  try {
    return { taskOrd, type: 'parse-completed', payload: { outcome: await parser.parse(text, context) } };
  } catch (error) {
    return { taskOrd, type: 'parse-failed', payload: { failure: stageFailure(error) } };
  }
}
