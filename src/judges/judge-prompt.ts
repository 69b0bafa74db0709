import { compileTemplate } from '../core/prompt-template.js';
import type { JudgeInput } from '../spec/judge.js';

/** A judge's prompt pair; templates may use {{input}}, {{answer}}, {{target}}, row fields and judge-specific names. */
export interface JudgePromptTemplates {
  readonly system: string;
  readonly user: string;
}

export function renderJudgePrompt(templates: JudgePromptTemplates, input: JudgeInput, extra: Readonly<Record<string, string>>): { system: string; user: string } {
  const fields = {
    ...input.item.fields,
    answer: input.answer,
    target: typeof input.item.target === 'string' ? input.item.target : JSON.stringify(input.item.target ?? ''),
    ...extra,
  };
  const values = { input: input.item.input, id: input.item.id, fields };
  return { system: compileTemplate(templates.system).render(values), user: compileTemplate(templates.user).render(values) };
}

export const promptOverrideFields = {
  system: 'string',
  user: 'string',
} as const;
