import { hashValue } from './canonical-json.js';
import type { GenerationParams, JsonResponseFormat } from '../spec/model.js';
import type { ModelIdentity } from '../spec/snapshot.js';

/** What an evaluator call asks: the whole request a model sees. */
export interface EvaluatorRequest {
  readonly system?: string;
  readonly prompt: string;
  readonly params: GenerationParams;
  readonly responseFormat?: JsonResponseFormat;
}

/**
 * The identity of an evaluator call: the SHA-256 of the model's identity (provider, model, parameters,
 * answer-changing options) and the request. Two calls with the same key ask the same thing of the same model,
 * so a stored reply to one answers the other.
 */
export function callKey(model: ModelIdentity, request: EvaluatorRequest): string {
  return hashValue({
    model: { provider: model.provider, model: model.model, options: model.options },
    system: request.system ?? null,
    prompt: request.prompt,
    params: request.params,
    responseFormat: request.responseFormat ?? null,
  });
}
