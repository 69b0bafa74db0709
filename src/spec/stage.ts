/** The five stages every task passes through, in order. */
export const STAGES = ['generate', 'reduce', 'parse', 'score', 'judge'] as const;

export type Stage = (typeof STAGES)[number];

/** Position of a stage in the pipeline; `STAGES.length` means the task is done. */
export type StageIndex = 0 | 1 | 2 | 3 | 4 | 5;

export const DONE_INDEX = STAGES.length as StageIndex;

export function stageIndex(stage: Stage): StageIndex {
  return STAGES.indexOf(stage) as StageIndex;
}

export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

/** The stage name at an index, or `done` past the last stage. */
export function stageName(index: number): Stage | 'done' {
  return STAGES[index] ?? 'done';
}
