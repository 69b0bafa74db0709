import { promptLength } from '../core/prompt-render.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineProvider } from '../spec/definition.js';
import type { GenerateRequest, GenerateResult } from '../spec/model.js';
import { modelBaseShape, runtimeSettings } from './model-config.js';
import { restoreRuntime } from './restore.js';

const schema = z.strictObject({
  ...modelBaseShape,
  provider: z.literal('mock'),
  model: z.string().min(1).default('mock-arithmetic'),
  options: z
    .strictObject({
      /** Share of arithmetic questions answered correctly; wrong answers are off by one. */
      accuracy: z.number().min(0).max(1).default(1),
      /** Simulated latency per call. */
      latencyMs: z.number().int().min(0).max(600_000).default(0),
      /** A fixed reply for every prompt, instead of the arithmetic behaviour. */
      reply: z.string().optional(),
    })
    .default({ accuracy: 1, latencyMs: 0 }),
});

const EXPRESSION = /(-?\d+(?:\.\d+)?)\s*([-+*/×÷x])\s*(-?\d+(?:\.\d+)?)/;

/** FNV-1a over a string, scaled to [0, 1): deterministic per prompt and seed. */
function unitHash(text: string, seed: number): number {
  let hash = 0x811c9dc5 ^ seed;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 0x1_0000_0000;
}

function compute(left: number, operator: string, right: number): number | null {
  switch (operator) {
    case '+':
      return left + right;
    case '-':
      return left - right;
    case '*':
    case 'x':
    case '×':
      return left * right;
    default:
      return right === 0 ? null : left / right;
  }
}

/** Builds the mock's reply: the arithmetic in the prompt, solved (or deliberately off by one). */
export function mockReply(prompt: string, seed: number, options: { accuracy: number; reply?: string | undefined }): string {
  if (options.reply !== undefined) return options.reply;
  const match = EXPRESSION.exec(prompt);
  if (!match) return `Mock reply ${Math.floor(unitHash(prompt, seed) * 1e8)}.`;
  let value = compute(Number(match[1]), match[2]!, Number(match[3]));
  if (value === null) return 'The answer is undefined.';
  if (unitHash(prompt, seed) >= options.accuracy) value += 1;
  const shown = Number.isInteger(value) ? String(value) : String(Number(value.toFixed(6)));
  return `Let me work it out: ${match[0]} = ${shown}. The answer is ${shown}.`;
}

/**
 * A deterministic model for demos and fast tests; it never touches the network. Labelled `mock` everywhere
 * it appears, so its numbers are never mistaken for a real model's.
 */
export const mockProvider = defineProvider({
  kind: 'mock',
  description: 'built-in deterministic mock model (no network, for demos and tests)',
  schema,
  identity: (config) => ({ model: config.model, options: { accuracy: config.options.accuracy, reply: config.options.reply } }),
  transport: (config) => ({ latencyMs: config.options.latencyMs, ...runtimeSettings(config) }),
  restore: (identity, transport) => ({
    id: identity.id,
    provider: 'mock',
    model: identity.model,
    params: identity.params,
    options: { ...identity.options, latencyMs: transport.latencyMs ?? 0 },
    ...restoreRuntime(transport),
  }),
  create(config) {
    const { latencyMs } = config.options;
    return {
      specificationVersion: 'assay.model.v1',
      id: config.id,
      provider: 'mock',
      modelName: config.model,
      async doGenerate(request: GenerateRequest): Promise<GenerateResult> {
        const started = performance.now();
        if (latencyMs > 0) await sleep(latencyMs, undefined, { signal: request.signal });
        const text = mockReply(request.prompt, request.seed, config.options);
        return {
          text,
          finishReason: { unified: 'stop', raw: 'stop' },
          usage: { inputTokens: Math.ceil(promptLength(request) / 4), outputTokens: Math.ceil(text.length / 4) },
          latencyMs: performance.now() - started,
        };
      },
    };
  },
});
