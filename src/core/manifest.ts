import type { RunSnapshot } from '../spec/snapshot.js';
import type { TaskDescriptor } from '../spec/store.js';
import { TaskKey } from './task-key.js';

/** The dimensions of a run's task grid, from its snapshot. */
export interface ManifestShape {
  readonly modelIds: readonly string[];
  readonly promptIds: readonly string[];
  readonly replicates: number;
  /** Tasks per item: models x prompts x replicates. */
  readonly perItem: number;
}

export interface ManifestItem {
  readonly datasetId: string;
  readonly itemId: string;
}

export function manifestShape(snapshot: Pick<RunSnapshot, 'models' | 'prompts' | 'replicates'>): ManifestShape {
  const modelIds = snapshot.models.map((model) => model.id);
  const promptIds = snapshot.prompts.map((prompt) => prompt.id);
  return { modelIds, promptIds, replicates: snapshot.replicates, perItem: modelIds.length * promptIds.length * snapshot.replicates };
}

/**
 * Tasks are item-major: for item 0 every model, then within a model every prompt, then every replicate;
 * then item 1. So a task's position (`ord`) and its coordinates convert both ways by arithmetic alone.
 */
export function taskCoordinates(shape: ManifestShape, ord: number): Omit<TaskDescriptor, 'key'> {
  const itemOrd = Math.floor(ord / shape.perItem);
  let rest = ord - itemOrd * shape.perItem;
  const perModel = shape.promptIds.length * shape.replicates;
  const modelIndex = Math.floor(rest / perModel);
  rest -= modelIndex * perModel;
  const promptIndex = Math.floor(rest / shape.replicates);
  return { ord, itemOrd, modelIndex, promptIndex, replicate: rest - promptIndex * shape.replicates };
}

export function taskOrd(shape: ManifestShape, itemOrd: number, modelIndex: number, promptIndex: number, replicate: number): number {
  return ((itemOrd * shape.modelIds.length + modelIndex) * shape.promptIds.length + promptIndex) * shape.replicates + replicate;
}

export function describeTask(shape: ManifestShape, ord: number, item: ManifestItem): TaskDescriptor {
  const coordinates = taskCoordinates(shape, ord);
  const key = TaskKey.format({
    datasetId: item.datasetId,
    itemId: item.itemId,
    modelId: shape.modelIds[coordinates.modelIndex]!,
    promptId: shape.promptIds[coordinates.promptIndex]!,
    replicate: coordinates.replicate,
  });
  return { ...coordinates, key };
}

/**
 * The position of a task key in the manifest, or undefined when the key names no task of this run.
 * `itemOrdOf` finds an item's position from its dataset and id.
 */
export function locateTaskKey(shape: ManifestShape, key: string, itemOrdOf: (datasetId: string, itemId: string) => number | undefined): number | undefined {
  let parts;
  try {
    parts = TaskKey.parse(key);
  } catch {
    return undefined;
  }
  const modelIndex = shape.modelIds.indexOf(parts.modelId);
  const promptIndex = shape.promptIds.indexOf(parts.promptId);
  if (modelIndex < 0 || promptIndex < 0 || parts.replicate >= shape.replicates) return undefined;
  const itemOrd = itemOrdOf(parts.datasetId, parts.itemId);
  return itemOrd === undefined ? undefined : taskOrd(shape, itemOrd, modelIndex, promptIndex, parts.replicate);
}

/** A manifest over items held in memory. */
export interface Manifest {
  readonly shape: ManifestShape;
  readonly taskCount: number;
  task(ord: number): TaskDescriptor;
  tasks(): Iterable<TaskDescriptor>;
  locate(key: string): number | undefined;
}

export function createManifest(shape: ManifestShape, items: readonly ManifestItem[]): Manifest {
  const taskCount = items.length * shape.perItem;
  let index: Map<string, number> | undefined;
  const task = (ord: number) => describeTask(shape, ord, items[Math.floor(ord / shape.perItem)]!);
  return {
    shape,
    taskCount,
    task,
    *tasks() {
      for (let ord = 0; ord < taskCount; ord++) yield task(ord);
    },
    locate(key) {
      index ??= new Map(items.map((item, ord) => [`${item.datasetId}\u0000${item.itemId}`, ord]));
      return locateTaskKey(shape, key, (datasetId, itemId) => index!.get(`${datasetId}\u0000${itemId}`));
    },
  };
}
