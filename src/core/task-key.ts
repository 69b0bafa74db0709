/**
 * A task key names one (dataset item, answering model, prompt, replicate) as a readable string:
 * `dataset/item/model/prompt/replicate`. Each part is escaped (`%` -> `%25`, `/` -> `%2F`) so any id
 * round-trips through `TaskKey.format` and `TaskKey.parse`.
 */
export interface TaskKeyParts {
  readonly datasetId: string;
  readonly itemId: string;
  readonly modelId: string;
  readonly promptId: string;
  readonly replicate: number;
}

function escapePart(part: string): string {
  return part.includes('%') || part.includes('/') ? part.replace(/%/g, '%25').replace(/\//g, '%2F') : part;
}

function unescapePart(part: string): string {
  return part.includes('%') ? part.replace(/%(25|2F)/gi, (match) => (match === '%25' ? '%' : '/')) : part;
}

export const TaskKey = {
  format(parts: TaskKeyParts): string {
    return `${escapePart(parts.datasetId)}/${escapePart(parts.itemId)}/${escapePart(parts.modelId)}/${escapePart(parts.promptId)}/${parts.replicate}`;
  },

  parse(key: string): TaskKeyParts {
    const pieces = key.split('/');
    if (pieces.length !== 5) throw new TypeError(`task key '${key}' does not have 5 parts (dataset/item/model/prompt/replicate)`);
    const [datasetId, itemId, modelId, promptId, replicateText] = pieces as [string, string, string, string, string];
    const replicate = Number(replicateText);
    if (!Number.isInteger(replicate) || replicate < 0 || String(replicate) !== replicateText) {
      throw new TypeError(`task key '${key}' has replicate '${replicateText}', expected a non-negative integer`);
    }
    return {
      datasetId: unescapePart(datasetId),
      itemId: unescapePart(itemId),
      modelId: unescapePart(modelId),
      promptId: unescapePart(promptId),
      replicate,
    };
  },
};
