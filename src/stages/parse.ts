import type { TaskEvent } from '../spec/event.js';
import type { ParseOutcome, Parser } from '../spec/parser.js';
import type { PluginContext } from '../spec/plugin-context.js';
import { stageFailure } from './stage-failure.js';

/** Parses the reduced candidate. An unparseable answer is a result (`ok: false`); only a crash is a failure. */
export function runParse(taskOrd: number, parser: Parser, text: string, context: PluginContext): TaskEvent | Promise<TaskEvent> {
  const succeed = (outcome: ParseOutcome): TaskEvent => ({ taskOrd, type: 'parse-completed', payload: { outcome } });
  const fail = (error: unknown): TaskEvent => ({ taskOrd, type: 'parse-failed', payload: { failure: stageFailure(error) } });
  try {
    const outcome = parser.parse(text, context);
    return outcome instanceof Promise ? outcome.then(succeed, fail) : succeed(outcome);
  } catch (error) {
    return fail(error);
  }
}
