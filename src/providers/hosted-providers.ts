import type { LanguageModelV3 } from '@ai-sdk/provider';
import { z } from 'zod';
import { defineProvider } from '../spec/definition.js';
import { aiSdkModel } from './ai-sdk-model.js';
import { poolFetch } from './http-transport.js';
import { apiKeyEnvSchema, apiKeyFrom, headersFrom, headersFromEnvSchema, modelBaseShape, runtimeSettings } from './model-config.js';
import { restoreHeadersFromEnv, restoreRuntime } from './restore.js';

const hosted = {
  model: z.string().min(1),
  /** Another endpoint for the same API (a proxy, a regional endpoint, a test server). */
  baseURL: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  /** Extra request headers read from environment variables (a gateway's key, say): `{ X-Api-Key: VARIABLE_NAME }`. */
  headersFromEnv: headersFromEnvSchema.optional(),
};

function transportOf(config: {
  baseURL?: string | undefined;
  apiKeyEnv: string;
  headersFromEnv?: Readonly<Record<string, string>> | undefined;
  concurrency?: number | undefined;
  adaptiveConcurrency: boolean;
  rateLimit?: unknown;
  price?: unknown;
}) {
  return { baseURL: config.baseURL ?? null, apiKeyEnv: config.apiKeyEnv, headersFromEnv: config.headersFromEnv ?? {}, ...runtimeSettings(config) };
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
    ...restoreHeadersFromEnv(transport),
    ...restoreRuntime(transport),
  };
}

interface HostedConfig {
  readonly id: string;
  readonly model: string;
  readonly baseURL?: string | undefined;
  readonly apiKeyEnv: string;
  readonly headersFromEnv?: Readonly<Record<string, string>>;
  readonly api?: 'chat' | 'responses';
}

/** One hosted API: its config fields beyond the shared ones, and how to build its AI SDK model. */
interface HostedApi {
  readonly kind: 'openai' | 'anthropic' | 'google';
  readonly description: string;
  /** The variable the key is read from when the config names none. */
  readonly keyEnv: string;
  readonly extra?: z.ZodRawShape;
  /** Options that change answers, so are part of the model's identity. */
  readonly options?: (config: HostedConfig) => Record<string, unknown>;
  readonly load: (config: HostedConfig, settings: { apiKey: string; fetch: typeof fetch; baseURL?: string; headers?: Record<string, string> }) => Promise<LanguageModelV3>;
}

function hostedProvider(api: HostedApi) {
  const schema = z.strictObject({ ...modelBaseShape, ...hosted, provider: z.literal(api.kind), apiKeyEnv: apiKeyEnvSchema.default(api.keyEnv), ...api.extra });
  return defineProvider({
    kind: api.kind,
    description: api.description,
    schema,
    identity: (config) => ({ model: config.model, options: api.options?.(config as HostedConfig) ?? {} }),
    transport: transportOf,
    restore: (identity, transport) => restoreHosted(api.kind, identity, transport),
    create(config, context) {
      const settings = config as HostedConfig;
      const apiKey = apiKeyFrom(context.env, settings.apiKeyEnv, settings.id, true)!;
      const headers = headersFrom(context.env, settings.headersFromEnv, settings.id);
      return aiSdkModel({
        id: settings.id,
        provider: api.kind,
        modelName: settings.model,
        apiKey,
        optionsNamespace: api.kind,
        load: () =>
          api.load(settings, {
            apiKey,
            fetch: poolFetch,
            ...(settings.baseURL ? { baseURL: settings.baseURL } : {}),
            ...(Object.keys(headers).length > 0 ? { headers } : {}),
          }),
      });
    },
  });
}

/** OpenAI's API: chat completions, or the Responses API with `api: responses`. */
export const openAIProvider = hostedProvider({
  kind: 'openai',
  description: "OpenAI's API",
  keyEnv: 'OPENAI_API_KEY',
  extra: { api: z.enum(['chat', 'responses']).default('chat') },
  options: (config) => ({ api: config.api }),
  async load(config, settings) {
    const provider = (await import('@ai-sdk/openai')).createOpenAI(settings);
    return config.api === 'responses' ? provider.responses(config.model) : provider.chat(config.model);
  },
});

/** Anthropic's Messages API. */
export const anthropicProvider = hostedProvider({
  kind: 'anthropic',
  description: "Anthropic's Messages API",
  keyEnv: 'ANTHROPIC_API_KEY',
  load: async (config, settings) => (await import('@ai-sdk/anthropic')).createAnthropic(settings)(config.model),
});

/** Google's Gemini API (Generative Language API). */
export const googleProvider = hostedProvider({
  kind: 'google',
  description: "Google's Gemini API",
  keyEnv: 'GOOGLE_GENERATIVE_AI_API_KEY',
  load: async (config, settings) => (await import('@ai-sdk/google')).createGoogleGenerativeAI(settings)(config.model),
});
