import type { FailureRecord } from './failure.js';
import type { GenerateResult, GenerationParams, JsonResponseFormat } from './model.js';

export interface EvaluatorCall {
  readonly system?: string;
  readonly prompt: string;
  readonly params?: GenerationParams;
  readonly responseFormat?: JsonResponseFormat;
  /**
   * Checks a reply; a returned reason makes the attempt count as an `invalid_response` failure, retried like
   * any other (models sometimes answer off-format).
   */
  readonly accept?: (result: GenerateResult) => string | null;
}

/**
 * What a plugin that needs a model (a template parser, a best-of reducer, a judge) gets from the engine:
 * calls to the experiment's evaluator models, with the engine's retries, rate limits and timeouts.
 */
export interface PluginContext {
  /** Calls an evaluator model by id; rejects with a {@link ModelCallFailed} after the last attempt. */
  callModel(modelId: string, call: EvaluatorCall): Promise<GenerateResult>;
  readonly signal: AbortSignal;
  /** The input of the item being worked on, for prompts that show the question. */
  readonly input?: string;
  /** The item's whole dataset row, for plugins that read more of it (a karenina question's answer template). */
  readonly fields?: Readonly<Record<string, unknown>>;
}

/** Thrown by {@link PluginContext.callModel} when a call failed for good: the stage records this failure. */
export class ModelCallFailed extends Error {
  constructor(readonly failure: FailureRecord) {
    super(failure.message);
    this.name = 'ModelCallFailed';
  }
}

/** Thrown by {@link PluginContext.callModel} when the run is cancelled mid-call: the task stays pending. */
export class CallCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CallCancelled';
  }
}
