import type { LanguageModelV3, LanguageModelV3CallOptions, LanguageModelV3Prompt } from '@ai-sdk/provider';
import type { GenerateRequest, GenerateResult, LanguageModel, UnifiedFinishReason } from '../spec/model.js';
import { hasRememberedSecrets, redactDeep, redactKnownSecrets, rememberSecret } from '../core/redact.js';
import { classifyProviderError } from './call-error.js';
import { warmTransport } from './http-transport.js';

const FINISH_REASONS: readonly UnifiedFinishReason[] = ['stop', 'length', 'content-filter', 'tool-calls', 'error', 'other'];

export interface AiSdkModelOptions {
  readonly id: string;
  /** The provider kind, as configs name it. */
  readonly provider: string;
  readonly modelName: string;
  /** The key in use, only so it can be scrubbed from anything stored. */
  readonly apiKey: string | undefined;
  /** Builds the AI SDK model (loading the provider package lazily). */
  readonly load: () => Promise<LanguageModelV3>;
  /** The providerOptions namespace for `params.extra`. */
  readonly optionsNamespace: string;
}

/**
 * The AI SDK call options for one request: its chat turns (a system message and one user message, or the
 * request's whole conversation), the parameters.
 */
export function callOptions(request: GenerateRequest, optionsNamespace: string): LanguageModelV3CallOptions {
  const prompt: LanguageModelV3Prompt = [];
  if (request.messages) {
    for (const message of request.messages) {
      if (message.role === 'system') prompt.push({ role: 'system', content: message.content });
      else prompt.push({ role: message.role, content: [{ type: 'text', text: message.content }] });
    }
  } else {
    if (request.system !== undefined) prompt.push({ role: 'system', content: request.system });
    prompt.push({ role: 'user', content: [{ type: 'text', text: request.prompt }] });
  }
  const { params } = request;
  return {
    prompt,
    ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
    ...(params.maxTokens !== undefined ? { maxOutputTokens: params.maxTokens } : {}),
    ...(params.topP !== undefined ? { topP: params.topP } : {}),
    ...(params.stop !== undefined ? { stopSequences: [...params.stop] } : {}),
    ...(params.extra !== undefined ? { providerOptions: { [optionsNamespace]: params.extra as Record<string, never> } } : {}),
    ...(request.responseFormat ? { responseFormat: { type: 'json' as const, schema: request.responseFormat.schema as never, name: request.responseFormat.name } } : {}),
    seed: request.seed,
    abortSignal: request.signal,
  };
}

/**
 * A model adapter over any AI SDK provider. It calls the provider model's `doGenerate` (the AI SDK's provider
 * specification) once per attempt: the provider package builds the request for its API and reads the reply,
 * while retries, limits and recording stay in assay's engine. `generateText` would add a second layer of
 * retries, steps and validation that assay does not use, at a measured third of the CPU of a call.
 * Structured output is asked for with the JSON response format and read by assay's own reply reader, so an
 * answer that does not match the schema is still kept and judged by that reader.
 */
export function aiSdkModel(options: AiSdkModelOptions): LanguageModel {
  let model: Promise<LanguageModelV3> | undefined;
  rememberSecret(options.apiKey);
  const load = () => (model ??= options.load());
  return {
    specificationVersion: 'assay.model.v1',
    id: options.id,
    provider: options.provider,
    modelName: options.modelName,
    async prepare() {
      await Promise.all([load(), warmTransport()]);
    },
    async doGenerate(request: GenerateRequest): Promise<GenerateResult> {
      const languageModel = await load();
      const started = performance.now();
      try {
        const result = await languageModel.doGenerate(callOptions(request, options.optionsNamespace));
        let text = '';
        let reasoning: string | undefined;
        for (const part of result.content) {
          if (part.type === 'text') text += part.text;
          else if (part.type === 'reasoning') reasoning = (reasoning ?? '') + part.text;
        }
        const unified = FINISH_REASONS.includes(result.finishReason.unified) ? result.finishReason.unified : 'unknown';
        return withoutSecrets({
          text,
          finishReason: { unified, raw: result.finishReason.raw ?? null },
          usage: { inputTokens: result.usage.inputTokens.total ?? null, outputTokens: result.usage.outputTokens.total ?? null },
          latencyMs: performance.now() - started,
          raw: {
            id: result.response?.id ?? null,
            model: result.response?.modelId ?? null,
            body: result.response?.body ?? null,
            ...(reasoning !== undefined ? { reasoning } : {}),
            ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
          },
        });
      } catch (error) {
        throw classifyProviderError(error, (text) => text, request.signal);
      }
    },
  };
}

/**
 * A reply with the exact values of the secrets in use replaced, should a server echo one back (its raw body
 * is stored). Only exact values: shapes that look like keys may be a legitimate part of an answer.
 */
function withoutSecrets(result: GenerateResult): GenerateResult {
  if (!hasRememberedSecrets()) return result;
  return { ...result, text: redactKnownSecrets(result.text), raw: redactDeep(result.raw, redactKnownSecrets) };
}
