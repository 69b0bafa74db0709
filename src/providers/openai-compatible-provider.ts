import { z } from 'zod';
import { defineProvider } from '../spec/definition.js';
import { UserError } from '../core/errors.js';
import { aiSdkModel } from './ai-sdk-model.js';
import { poolFetch } from './http-transport.js';
import { isCredentialName, looksLikeCredentialValue } from '../core/credential-shapes.js';
import { apiKeyEnvSchema, apiKeyFrom, headersFrom, headersFromEnvSchema, headersInBoth, modelBaseShape, runtimeSettings } from './model-config.js';
import { restoreHeadersFromEnv, restoreRuntime } from './restore.js';

const schema = z.strictObject({
  ...modelBaseShape,
  provider: z.literal('openai-compatible'),
  model: z.string().min(1),
  baseURL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as http://127.0.0.1:8080/v1' }),
  apiKeyEnv: apiKeyEnvSchema.optional(),
  /** Ask for JSON Schema structured output (json_schema); false sends the plainer json_object mode. */
  structuredOutputs: z.boolean().default(true),
  /** Extra request headers, written literally: never credentials (those are refused). */
  headers: z
    .record(z.string(), z.string())
    .refine((headers) => !Object.entries(headers).some(([name, value]) => isCredentialName(name) || looksLikeCredentialValue(value)), {
      error: 'credentials may not be written in headers; read them from the environment with headersFromEnv',
    })
    .optional(),
  /** Extra request headers read from environment variables: `{ X-Api-Key: VARIABLE_NAME }`. */
  headersFromEnv: headersFromEnvSchema.optional(),
}).refine((config) => headersInBoth(config.headers, config.headersFromEnv).length === 0, {
  error: 'a header is given both in headers and in headersFromEnv; keep one',
  path: ['headersFromEnv'],
});

/** Any server that speaks the OpenAI chat completions API (vLLM, llama.cpp, Ollama, LM Studio, OpenRouter...). */
export const openAICompatibleProvider = defineProvider({
  kind: 'openai-compatible',
  description: 'an OpenAI-compatible chat completions endpoint',
  schema,
  identity: (config) => ({ model: config.model, options: {} }),
  transport: (config) => ({
    baseURL: config.baseURL,
    apiKeyEnv: config.apiKeyEnv ?? null,
    headers: Object.keys(config.headers ?? {}),
    headersFromEnv: config.headersFromEnv ?? {},
    structuredOutputs: config.structuredOutputs,
    ...runtimeSettings(config),
  }),
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
      ...(typeof transport.structuredOutputs === 'boolean' ? { structuredOutputs: transport.structuredOutputs } : {}),
      ...restoreHeadersFromEnv(transport),
      ...restoreRuntime(transport),
    };
  },
  create(config, context) {
    const apiKey = apiKeyFrom(context.env, config.apiKeyEnv, config.id, true);
    const headers = { ...config.headers, ...headersFrom(context.env, config.headersFromEnv, config.id) };
    return aiSdkModel({
      id: config.id,
      provider: 'openai-compatible',
      modelName: config.model,
      apiKey,
      optionsNamespace: 'openai-compatible',
      load: async () =>
        (await import('@ai-sdk/openai-compatible'))
          .createOpenAICompatible({
            name: 'openai-compatible',
            baseURL: config.baseURL,
            fetch: poolFetch,
            ...(apiKey ? { apiKey } : {}),
            ...(Object.keys(headers).length > 0 ? { headers } : {}),
            supportsStructuredOutputs: config.structuredOutputs,
          })
          .chatModel(config.model),
    });
  },
});
