import { z } from 'zod';
import { UserError } from '../core/errors.js';
import { defineProvider } from '../spec/definition.js';
import type { GenerateRequest, GenerateResult, UnifiedFinishReason } from '../spec/model.js';
import { classifyProviderError, redactor } from './call-error.js';
import { apiKeyEnvSchema, modelBaseShape } from './model-config.js';

const SECRET_HEADER = /^(authorization|x-api-key|api-key|proxy-authorization)$/i;

const schema = z.strictObject({
  ...modelBaseShape,
  provider: z.literal('openai-compatible'),
  model: z.string().min(1),
  baseURL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as http://127.0.0.1:8080/v1' }),
  apiKeyEnv: apiKeyEnvSchema.optional(),
  /** Ask for JSON Schema structured output (json_schema); false sends the plainer json_object mode. */
  structuredOutputs: z.boolean().default(true),
  headers: z
    .record(z.string(), z.string())
    .refine((headers) => !Object.keys(headers).some((name) => SECRET_HEADER.test(name)), {
      error: 'credentials may not be written in headers; name an environment variable with apiKeyEnv',
    })
    .optional(),
});

/** The AI SDK is loaded on the first call, so commands that never call a model start fast. */
type Sdk = {
  ai: typeof import('ai');
  createOpenAICompatible: typeof import('@ai-sdk/openai-compatible').createOpenAICompatible;
};
let sdk: Promise<Sdk> | undefined;
function loadSdk(): Promise<Sdk> {
  sdk ??= Promise.all([import('ai'), import('@ai-sdk/openai-compatible')]).then(([ai, compatible]) => ({
    ai,
    createOpenAICompatible: compatible.createOpenAICompatible,
  }));
  return sdk;
}

const FINISH_REASONS: readonly UnifiedFinishReason[] = ['stop', 'length', 'content-filter', 'tool-calls', 'error', 'other'];

/** Any server that speaks the OpenAI chat completions API (vLLM, llama.cpp, Ollama, LM Studio, OpenRouter...). */
export const openAICompatibleProvider = defineProvider({
  kind: 'openai-compatible',
  description: 'an OpenAI-compatible chat completions endpoint',
  schema,
  identity: (config) => ({ model: config.model, options: {} }),
  transport: (config) => ({ baseURL: config.baseURL, apiKeyEnv: config.apiKeyEnv ?? null, headers: Object.keys(config.headers ?? {}) }),
  restore(identity, transport) {
    if (Array.isArray(transport.headers) && transport.headers.length > 0) {
      throw new UserError('cannot_restore_model', `model '${identity.id}' was called with extra headers, whose values are not stored`, {
        hint: 'pass the experiment config file instead of the run id',
      });
    }
    return {
      id: identity.id,
      provider: 'openai-compatible',
      model: identity.model,
      params: identity.params,
      baseURL: transport.baseURL,
      ...(typeof transport.apiKeyEnv === 'string' ? { apiKeyEnv: transport.apiKeyEnv } : {}),
    };
  },
  create(config, context) {
    const apiKey = config.apiKeyEnv === undefined ? undefined : context.env[config.apiKeyEnv];
    if (config.apiKeyEnv !== undefined && !apiKey) {
      throw new UserError('missing_api_key', `model '${config.id}' reads its API key from $${config.apiKeyEnv}, which is not set`, {
        hint: `export ${config.apiKeyEnv}=... before running`,
      });
    }
    const languageModel = loadSdk().then(({ createOpenAICompatible }) =>
      createOpenAICompatible({
        name: 'openai-compatible',
        baseURL: config.baseURL,
        ...(apiKey ? { apiKey } : {}),
        ...(config.headers ? { headers: config.headers } : {}),
        supportsStructuredOutputs: config.structuredOutputs,
      }).chatModel(config.model),
    );
    const redact = redactor([apiKey]);
    return {
      specificationVersion: 'assay.model.v1',
      id: config.id,
      provider: 'openai-compatible',
      modelName: config.model,
      async doGenerate(request: GenerateRequest): Promise<GenerateResult> {
        const { ai } = await loadSdk();
        const model = await languageModel;
        const started = performance.now();
        try {
          const result = await ai.generateText({
            model,
            ...(request.system !== undefined ? { system: request.system } : {}),
            prompt: request.prompt,
            ...(request.params.temperature !== undefined ? { temperature: request.params.temperature } : {}),
            ...(request.params.maxTokens !== undefined ? { maxOutputTokens: request.params.maxTokens } : {}),
            ...(request.params.topP !== undefined ? { topP: request.params.topP } : {}),
            ...(request.params.stop !== undefined ? { stopSequences: [...request.params.stop] } : {}),
            ...(request.params.extra !== undefined ? { providerOptions: { 'openai-compatible': request.params.extra as Record<string, never> } } : {}),
            ...(request.responseFormat
              ? { output: ai.Output.object({ schema: ai.jsonSchema(request.responseFormat.schema as never), name: request.responseFormat.name }) }
              : {}),
            seed: request.seed,
            maxRetries: 0,
            abortSignal: request.signal,
          });
          const unified = FINISH_REASONS.includes(result.finishReason) ? result.finishReason : 'unknown';
          return {
            text: result.text,
            finishReason: { unified, raw: result.rawFinishReason ?? null },
            usage: { inputTokens: result.usage.inputTokens ?? null, outputTokens: result.usage.outputTokens ?? null },
            latencyMs: performance.now() - started,
            raw: { id: result.response.id, model: result.response.modelId, body: result.response.body ?? null },
          };
        } catch (error) {
          // Structured output that does not validate is still an answer: hand back its text for the caller to read.
          if (ai.NoObjectGeneratedError.isInstance(error) && typeof error.text === 'string') {
            return {
              text: error.text,
              finishReason: { unified: 'other', raw: error.finishReason ?? null },
              usage: { inputTokens: error.usage?.inputTokens ?? null, outputTokens: error.usage?.outputTokens ?? null },
              latencyMs: performance.now() - started,
              raw: { id: error.response?.id ?? null, invalidStructuredOutput: true },
            };
          }
          throw classifyProviderError(error, redact, request.signal);
        }
      },
    };
  },
});
