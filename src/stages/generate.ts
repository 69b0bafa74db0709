import type { ManifestShape } from '../core/manifest.js';
import { renderPrompt, type PromptParts } from '../core/prompt-render.js';
import type { PromptTemplate } from '../core/prompt-template.js';
import { TaskKey } from '../core/task-key.js';
import type { GenerateRequest, GenerationParams } from '../spec/model.js';

export type { PromptParts } from '../core/prompt-render.js';

export interface GenerateItem {
  readonly datasetId: string;
  readonly itemId: string;
  readonly input: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Continues an FNV-1a hash over a string. */
export function fnv(hash: number, text: string): number {
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash;
}

/** FNV-1a of the task key and sample, mixed with the run seed: a stable 31-bit seed per call. */
export function callSeed(runSeed: number, taskKey: string, sample: number): number {
  return seedFromKeyHash(fnv(0x811c9dc5 ^ runSeed, taskKey), sample);
}

/** The last step of `callSeed`, for callers that hashed the key piece by piece (same result). */
export function seedFromKeyHash(keyHash: number, sample: number): number {
  let hash = keyHash ^ (sample + 1);
  hash = Math.imul(hash, 0x01000193);
  return (hash >>> 1) & 0x7fffffff;
}

/**
 * The request for one sample of one task: rendered prompt (with the model's own system prompt, if it has one),
 * parameters, seed and the item it is about.
 */
export function buildGenerateRequest(prompt: PromptParts, item: GenerateItem, params: GenerationParams, seed: number, system: PromptTemplate | null = null): Omit<GenerateRequest, 'signal'> {
  const rendered = renderPrompt(prompt, item, system);
  return { ...rendered, params, seed, item: { datasetId: item.datasetId, itemId: item.itemId, fields: item.fields } };
}


/**
 * `callSeed` for every task of a run without building key strings: a key is `dataset/item/` + `model/prompt/replicate`,
 * so the hash state after each item's prefix is cached and continued with the (few) suffixes. Same seeds as
 * `callSeed(runSeed, task.key, sample)`.
 */
export class TaskSeeds {
  /** Tasks of one item are claimed together: the last item's prefix hash is kept. */
  private lastItem: { readonly datasetId: string; readonly itemId: string } | null = null;
  private lastHash = 0;
  private readonly suffixes = new Map<number, string>();

  constructor(
    private readonly runSeed: number,
    private readonly shape: ManifestShape,
  ) {}

  seed(
    task: { readonly modelIndex: number; readonly promptIndex: number; readonly replicate: number },
    item: { readonly datasetId: string; readonly itemId: string },
    sample: number,
  ): number {
    if (this.lastItem === null || this.lastItem.itemId !== item.itemId || this.lastItem.datasetId !== item.datasetId) {
      const placeholder = 'm/p/0';
      const prefix = TaskKey.format({ datasetId: item.datasetId, itemId: item.itemId, modelId: 'm', promptId: 'p', replicate: 0 }).slice(0, -placeholder.length);
      this.lastHash = fnv(0x811c9dc5 ^ this.runSeed, prefix);
      this.lastItem = item;
    }
    const suffixIndex = (task.modelIndex * this.shape.promptIds.length + task.promptIndex) * this.shape.replicates + task.replicate;
    let suffix = this.suffixes.get(suffixIndex);
    if (suffix === undefined) {
      const key = TaskKey.format({ datasetId: 'd', itemId: 'i', modelId: this.shape.modelIds[task.modelIndex]!, promptId: this.shape.promptIds[task.promptIndex]!, replicate: task.replicate });
      suffix = key.slice('d/i/'.length);
      this.suffixes.set(suffixIndex, suffix);
    }
    return seedFromKeyHash(fnv(this.lastHash, suffix), sample);
  }
}
