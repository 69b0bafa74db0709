import type { RunSnapshot } from '../spec/snapshot.js';
import { hashValue } from './canonical-json.js';
import { taskCoordinates, taskOrd, type ManifestShape } from './manifest.js';

/**
 * A generation group: every call a run makes for one (dataset, answering model, prompt). Two runs whose group
 * keys match send exactly the same calls for that group, item for item and replicate for replicate (the key
 * covers the dataset's content, the model as it answers, the prompt text and the seed), so the later run may
 * reuse the earlier one's answers instead of paying for them again.
 */
export interface GenerationGroup {
  readonly key: string;
  readonly datasetIndex: number;
  readonly modelIndex: number;
  readonly promptIndex: number;
}

export function generationGroups(snapshot: RunSnapshot): GenerationGroup[] {
  const groups: GenerationGroup[] = [];
  snapshot.datasets.forEach((dataset, datasetIndex) => {
    snapshot.models.forEach((model, modelIndex) => {
      snapshot.prompts.forEach((prompt, promptIndex) => {
        const key = hashValue({
          dataset: { id: dataset.id, fingerprint: dataset.fingerprint, input: dataset.fields.input, idField: dataset.fields.idField },
          model,
          prompt,
          seed: snapshot.seed,
        });
        groups.push({ key, datasetIndex, modelIndex, promptIndex });
      });
    });
  });
  return groups;
}

/** Where each dataset's items start in a run's item list. */
function itemOffsets(snapshot: RunSnapshot): number[] {
  const offsets: number[] = [];
  let offset = 0;
  for (const dataset of snapshot.datasets) {
    offsets.push(offset);
    offset += dataset.itemCount;
  }
  return offsets;
}

/**
 * Maps a task of one run to the task of another run that made the same calls, for the groups the two share.
 * Returns undefined for tasks whose group the source does not have, or whose replicate it did not run.
 */
export function sameCallsMapper(
  target: { snapshot: RunSnapshot; shape: ManifestShape },
  source: { snapshot: RunSnapshot; shape: ManifestShape },
): (ord: number) => number | undefined {
  const sourceGroups = new Map(generationGroups(source.snapshot).map((group) => [group.key, group]));
  const mapped = new Map<string, GenerationGroup>();
  for (const group of generationGroups(target.snapshot)) {
    const match = sourceGroups.get(group.key);
    if (match) mapped.set(`${group.datasetIndex}/${group.modelIndex}/${group.promptIndex}`, match);
  }
  const targetOffsets = itemOffsets(target.snapshot);
  const sourceOffsets = itemOffsets(source.snapshot);
  return (ord) => {
    const task = taskCoordinates(target.shape, ord);
    let datasetIndex = targetOffsets.length - 1;
    while (datasetIndex > 0 && targetOffsets[datasetIndex]! > task.itemOrd) datasetIndex--;
    const match = mapped.get(`${datasetIndex}/${task.modelIndex}/${task.promptIndex}`);
    if (!match || task.replicate >= source.snapshot.replicates) return undefined;
    const itemOrd = sourceOffsets[match.datasetIndex]! + (task.itemOrd - targetOffsets[datasetIndex]!);
    return taskOrd(source.shape, itemOrd, match.modelIndex, match.promptIndex, task.replicate);
  };
}
