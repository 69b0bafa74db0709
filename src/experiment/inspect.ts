import { InternalError, RunNotFoundError } from '../core/errors.js';
import { promptParts, renderPrompt } from '../core/prompt-render.js';
import { compileTemplate } from '../core/prompt-template.js';
import type { TranslatedTemplate } from '../karenina/expression.js';
import { templateOfRow } from '../karenina/template-of-row.js';
import type { ChatMessage } from '../spec/model.js';
import type { Provenance, RunSnapshot } from '../spec/snapshot.js';
import type { Store, TaskDescriptor } from '../spec/store.js';

/** The identity and provenance of a stored run. */
export async function getRunSnapshot(store: Store, runId: string): Promise<{ runId: string; snapshot: RunSnapshot; provenance: Provenance }> {
  const run = await store.getRun(runId);
  if (!run) throw new RunNotFoundError(runId, store.location);
  return { runId, snapshot: run.snapshot, provenance: run.provenance };
}

/** What the answering model of one task was given: the item's input and target, and the prompt as sent. */
export interface TaskInput {
  readonly dataset: string;
  readonly item: string;
  readonly input: string;
  readonly target: unknown;
  /**
   * The task's prompt (by id), rendered for its item the way the generate stage renders it (the model's own
   * system prompt, few-shot examples): the system and user turns, and every turn when there are more.
   */
  readonly prompt: { readonly id: string; readonly system: string | null; readonly user: string; readonly messages?: readonly ChatMessage[] };
  /** The karenina answer template translated from the question's Python, when it has one. */
  readonly answerTemplate: TranslatedTemplate | null;
}

/** The input, target and rendered prompt of a stored task (one indexed read of its item). */
export async function getTaskInput(store: Store, runId: string, task: TaskDescriptor): Promise<TaskInput> {
  const run = await store.getRun(runId);
  if (!run) throw new RunNotFoundError(runId, store.location);
  const item = (await store.loadItemsAt(runId, [task.itemOrd])).get(task.itemOrd);
  const template = run.snapshot.prompts[task.promptIndex];
  if (!item || !template) throw new InternalError(`task ${task.key} of run ${runId} has no stored item or prompt`);
  const model = run.snapshot.models[task.modelIndex];
  const rendered = renderPrompt(promptParts(template), item, model?.system ? compileTemplate(model.system) : null);
  return {
    dataset: item.datasetId,
    item: item.itemId,
    input: item.input,
    target: item.target,
    prompt: { id: template.id, system: rendered.system ?? null, user: rendered.prompt, ...(rendered.messages ? { messages: rendered.messages } : {}) },
    answerTemplate: templateOfRow(item.fields),
  };
}
