import { z } from 'zod';

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

/** Fields every model entry has, whatever its provider. */
export const modelBaseShape = {
  id: z.string().min(1).regex(/^[^\s]+$/, 'ids may not contain spaces'),
  params: generationParamsSchema.default({}),
  /** Most calls to this model in flight at once (on top of runtime.concurrency). */
  concurrency: z.number().int().positive().optional(),
};
