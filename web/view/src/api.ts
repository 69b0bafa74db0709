/** The viewer's JSON API (src/view/view-data.ts), read with fetch; an error reply becomes an Error with its message. */
export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  const body = (await response.json().catch(() => null)) as { error?: string } | null;
  if (!response.ok) throw new Error(body?.error ?? `${response.status} ${response.statusText}`);
  return body as T;
}

export interface StageCount {
  readonly completed: number;
  readonly failed: number;
  readonly pending: number;
  readonly enabled: boolean;
}

export interface Progress {
  readonly status: string;
  readonly updatedAt: string;
  readonly state: { readonly tasks: number; readonly done: number; readonly failed: number; readonly stages: Readonly<Record<string, StageCount>>; readonly completedThroughStage: string | null };
  readonly failures: readonly { readonly stage: string; readonly category: string; readonly count: number }[];
  readonly usage: readonly { readonly model: string; readonly stage: string; readonly calls: number; readonly inputTokens: number; readonly outputTokens: number; readonly cost: number | null }[];
  readonly cost: { readonly total: number | null; readonly unpriced: readonly string[] };
}

export interface RunSummary {
  readonly runId: string;
  readonly name: string;
  readonly status: string;
  readonly tasks: number;
  readonly done: number;
  readonly failed: number;
  readonly cost: number | null;
  readonly createdAt: string;
  readonly models: readonly string[];
  readonly importedFrom: string | null;
}

export interface RunDetail {
  readonly runId: string;
  readonly name: string;
  readonly createdAt: string;
  readonly taskCount: number;
  readonly models: readonly string[];
  readonly prompts: readonly string[];
  readonly datasets: readonly { readonly id: string; readonly items: number }[];
  readonly metrics: readonly string[];
  readonly judges: readonly string[];
  readonly replicates: number;
  readonly samples: number;
  readonly importedFrom: string | null;
  readonly progress: Progress;
}

export interface TaskRow {
  readonly ord: number;
  readonly key: string;
  readonly itemOrd: number;
  readonly model: string;
  readonly prompt: string;
  readonly replicate: number;
  readonly nextStage: number;
  readonly failed: boolean;
  readonly failure: { readonly stage: string; readonly category: string } | null;
  readonly scores: Readonly<Record<string, number>> | null;
  readonly judgeScores: Readonly<Record<string, number>> | null;
  readonly latencyMs: number | null;
  readonly input: string;
  readonly answer: string | null;
}

export interface TasksPage {
  readonly rows: readonly TaskRow[];
  readonly more: boolean;
  readonly queryMs: number;
}

export interface SideTask {
  readonly ord: number;
  readonly key: string;
  readonly model: string;
  readonly prompt: string;
  readonly replicate: number;
  readonly nextStage: number;
  readonly failure: { readonly stage: string; readonly category: string; readonly message?: string } | null;
  readonly answer: string | null;
  readonly parsed: unknown;
  readonly scores: Readonly<Record<string, number>>;
}

export interface ItemSide {
  readonly runId: string;
  readonly runName: string;
  readonly item: { readonly ord: number; readonly dataset?: string; readonly id?: string; readonly input?: string; readonly target?: unknown };
  readonly tasks: readonly SideTask[];
}

export const STAGES = ['generate', 'reduce', 'parse', 'score', 'judge', 'done'] as const;
export const stageName = (index: number) => STAGES[index] ?? String(index);
