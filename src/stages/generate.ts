import type { PromptTemplate } from '../core/prompt-template.js';
import type { GenerateRequest, GenerationParams } from '../spec/model.js';

export interface PromptParts {
  readonly systemTemplate: PromptTemplate | null;
  readonly userTemplate: PromptTemplate;
}

export interface GenerateItem {
  readonly datasetId: string;
  readonly itemId: string;
  readonly input: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** FNV-1a of the task key and sample, mixed with the run seed: a stable 31-bit seed per call. */
export function callSeed(runSeed: number, taskKey: string, sample: number): number {
  let hash = 0x811c9dc5 ^ runSeed;
  for (let index = 0; index < taskKey.length; index++) {
    hash ^= taskKey.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= sample + 1;
  hash = Math.imul(hash, 0x01000193);
  return (hash >>> 1) & 0x7fffffff;
}

/** The request for one sample of one task: rendered prompt, parameters, seed and the item it is about. */
export function buildGenerateRequest(prompt: PromptParts, item: GenerateItem, params: GenerationParams, seed: number): Omit<GenerateRequest, 'signal'> {
  const values = { input: item.input, id: item.itemId, fields: item.fields };
  const system = prompt.systemTemplate?.render(values);
  return {
    ...(system !== undefined ? { system } : {}),
    prompt: prompt.userTemplate.render(values),
    params,
    seed,
    item: { datasetId: item.datasetId, itemId: item.itemId, fields: item.fields },
  };
}

