import { z } from 'zod';
import { UserError } from '../core/errors.js';
import { rememberSecret } from '../core/redact.js';

/** Generation parameters accepted by every provider. */
export const generationParamsSchema = z.strictObject({
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().positive().optional(),
  topP: z.number().gt(0).max(1).optional(),
  stop: z.array(z.string()).max(16).optional(),
  /** Provider-specific request options, passed through unchanged. */
  extra: z.record(z.string(), z.unknown()).optional(),
});

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The *name* of an environment variable; a value that looks like a key is refused with a hint. */
export const apiKeyEnvSchema = z
  .string()
  .regex(ENV_NAME, 'expected the name of an environment variable (letters, digits, _), not a key');

/** An HTTP header name (RFC 9110 token characters). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Extra request headers whose values are read from the environment: `{ X-Portkey-Api-Key: PORTKEY_API_KEY }`.
 * Only the header names and variable names are recorded.
 */
export const headersFromEnvSchema = z.record(z.string().regex(HEADER_NAME, 'expected an HTTP header name'), apiKeyEnvSchema);

/** Limits on what may be sent to one model within a sliding window (a minute unless told otherwise). */
export const rateLimitSchema = z.strictObject({
  requestsPerMinute: z.number().int().positive().optional(),
  tokensPerMinute: z.number().int().positive().optional(),
  /** The window both limits count over, in seconds (default 60). */
  windowSeconds: z.number().positive().max(3600).default(60),
});

/** Prices in USD per million tokens; without one, well-known models are priced from a maintained table. */
export const priceSchema = z.strictObject({
  input: z.number().min(0),
  output: z.number().min(0),
});

/** Fields every model entry has, whatever its provider. */
export const modelBaseShape = {
  id: z.string().min(1).regex(/^[^\s]+$/, 'ids may not contain spaces'),
  params: generationParamsSchema.default({}),
  /** Most calls to this model in flight at once (on top of runtime.concurrency). */
  concurrency: z.number().int().positive().optional(),
  /** Halve the concurrency on a 429 and grow it back as calls succeed (default on). */
  adaptiveConcurrency: z.boolean().default(true),
  rateLimit: rateLimitSchema.optional(),
  price: priceSchema.optional(),
  /** A system prompt (a template) that replaces the prompt's system message in this model's tasks. */
  system: z.string().min(1).optional(),
};

/** Not part of the answer: concurrency, limits and prices are runtime settings, recorded as provenance. */
export function runtimeSettings(config: { concurrency?: number | undefined; adaptiveConcurrency: boolean; rateLimit?: unknown; price?: unknown }): Record<string, unknown> {
  return {
    concurrency: config.concurrency ?? null,
    adaptiveConcurrency: config.adaptiveConcurrency,
    rateLimit: config.rateLimit ?? null,
    price: config.price ?? null,
  };
}

/** The API key a model reads from the environment, or a one-line error saying which variable to set. */
export function apiKeyFrom(env: Readonly<Record<string, string | undefined>>, variable: string | undefined, modelId: string, required: boolean): string | undefined {
  if (variable === undefined) return undefined;
  const value = env[variable];
  if (!value && required) {
    throw new UserError('missing_api_key', `model '${modelId}' reads its API key from $${variable}, which is not set`, { hint: `export ${variable}=... before running` });
  }
  rememberSecret(value || undefined);
  return value || undefined;
}

/** The header values a model reads from the environment, or a one-line error naming the first variable not set. */
export function headersFrom(env: Readonly<Record<string, string | undefined>>, variables: Readonly<Record<string, string>> | undefined, modelId: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, variable] of Object.entries(variables ?? {})) {
    const value = env[variable];
    if (!value) {
      throw new UserError('missing_header_env', `model '${modelId}' reads its ${name} header from $${variable}, which is not set`, { hint: `export ${variable}=... before running` });
    }
    rememberSecret(value);
    headers[name] = value;
  }
  return headers;
}

/** Header names given both literally and from the environment (compared without case), which is ambiguous. */
export function headersInBoth(literal: Readonly<Record<string, string>> | undefined, fromEnv: Readonly<Record<string, string>> | undefined): string[] {
  const literalNames = new Set(Object.keys(literal ?? {}).map((name) => name.toLowerCase()));
  return Object.keys(fromEnv ?? {}).filter((name) => literalNames.has(name.toLowerCase()));
}
