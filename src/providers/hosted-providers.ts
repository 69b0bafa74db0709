import { z } from 'zod';
import { defineProvider } from '../spec/definition.js';
import { aiSdkModel } from './ai-sdk-model.js';
import { poolFetch } from './http-transport.js';
import { apiKeyEnvSchema, apiKeyFrom, modelBaseShape, runtimeSettings } from './model-config.js';
import { restoreRuntime } from './restore.js';

const hosted = {
  model: z.string().min(1),
  /** Another endpoint for the same API (a proxy, a regional endpoint, a test server). */
  baseURL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
};

function transportOf(config: { baseURL?: string | undefined; apiKeyEnv: string; concurrency?: number | undefined; adaptiveConcurrency: boolean; rateLimit?: unknown; price?: unknown }) {
  return { baseURL: config.baseURL ?? null, apiKeyEnv: config.apiKeyEnv, ...runtimeSettings(config) };
}

function restoreHosted(provider: string, identity: { id: string; model: string; params: object; options: Readonly<Record<string, unknown>> }, transport: Readonly<Record<string, unknown>>) {
  return {
    id: identity.id,
    provider,
    model: identity.model,
    params: identity.params,
    ...identity.options,
    ...(typeof transport.baseURL === 'string' ? { baseURL: transport.baseURL } : {}),
    ...(typeof transport.apiKeyEnv === 'string' ? { apiKeyEnv: transport.apiKeyEnv } : {}),
    ...restoreRuntime(transport),
  };
}

const openaiSchema = z.strictObject({
  ...modelBaseShape,
  ...hosted,
  provider: z.literal('openai'),
  apiKeyEnv: apiKeyEnvSchema.default('OPENAI_API_KEY'),
  /** `chat` (chat completions) or `responses` (the Responses API). */
  api: z.enum(['chat', 'responses']).default('chat'),
});

/** OpenAI's API (through the AI SDK's OpenAI provider). */
export const openAIProvider = defineProvider({
  kind: 'openai',
  description: "OpenAI's API",
  schema: openaiSchema,
  identity: (config) => ({ model: config.model, options: { api: config.api } }),
  transport: transportOf,
  restore: (identity, transport) => restoreHosted('openai', identity, transport),
  create(config, context) {
    const apiKey = apiKeyFrom(context.env, config.apiKeyEnv, config.id, true);
    return aiSdkModel({
      id: config.id,
      provider: 'openai',
      modelName: config.model,
      apiKey,
      optionsNamespace: 'openai',
      load: async () => {
        const provider = (await import('@ai-sdk/openai')).createOpenAI({ apiKey: apiKey!, fetch: poolFetch, ...(config.baseURL ? { baseURL: config.baseURL } : {}) });
        return config.api === 'responses' ? provider.responses(config.model) : provider.chat(config.model);
      },
    });
  },
});

const anthropicSchema = z.strictObject({
  ...modelBaseShape,
  ...hosted,
  provider: z.literal('anthropic'),
  apiKeyEnv: apiKeyEnvSchema.default('ANTHROPIC_API_KEY'),
});

/** Anthropic's Messages API. */
export const anthropicProvider = defineProvider({
  kind: 'anthropic',
  description: "Anthropic's Messages API",
  schema: anthropicSchema,
  identity: (config) => ({ model: config.model, options: {} }),
  transport: transportOf,
  restore: (identity, transport) => restoreHosted('anthropic', identity, transport),
  create(config, context) {
    const apiKey = apiKeyFrom(context.env, config.apiKeyEnv, config.id, true);
    return aiSdkModel({
      id: config.id,
      provider: 'anthropic',
      modelName: config.model,
      apiKey,
      optionsNamespace: 'anthropic',
      load: async () => (await import('@ai-sdk/anthropic')).createAnthropic({ apiKey: apiKey!, fetch: poolFetch, ...(config.baseURL ? { baseURL: config.baseURL } : {}) })(config.model),
    });
  },
});

const googleSchema = z.strictObject({
  ...modelBaseShape,
  ...hosted,
  provider: z.literal('google'),
  apiKeyEnv: apiKeyEnvSchema.default('GOOGLE_GENERATIVE_AI_API_KEY'),
});

/** Google's Gemini API (Generative Language API). */
export const googleProvider = defineProvider({
  kind: 'google',
  description: "Google's Gemini API",
  schema: googleSchema,
  identity: (config) => ({ model: config.model, options: {} }),
  transport: transportOf,
  restore: (identity, transport) => restoreHosted('google', identity, transport),
  create(config, context) {
    const apiKey = apiKeyFrom(context.env, config.apiKeyEnv, config.id, true);
    return aiSdkModel({
      id: config.id,
      provider: 'google',
      modelName: config.model,
      apiKey,
      optionsNamespace: 'google',
      load: async () => (await import('@ai-sdk/google')).createGoogleGenerativeAI({ apiKey: apiKey!, fetch: poolFetch, ...(config.baseURL ? { baseURL: config.baseURL } : {}) })(config.model),
    });
  },
});
