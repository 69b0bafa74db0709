import type { ChatMessage, ChatRole } from '../spec/model.js';
import { promptMessages, type FewShotExample, type FewShotIdentity, type PromptIdentity } from '../spec/snapshot.js';
import { compileTemplate, type PromptTemplate } from './prompt-template.js';

/** A prompt ready to render: its turns as compiled templates, and its few-shot examples if it has them. */
export interface PromptParts {
  /** At most one system turn (first); the last is the user's, the turn the model answers. */
  readonly turns: readonly { readonly role: ChatRole; readonly template: PromptTemplate }[];
  readonly fewShot: FewShotIdentity | null;
}

/** What a prompt is rendered for: the item. */
export interface PromptItem {
  readonly itemId: string;
  readonly input: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A rendered prompt: what a request carries (`messages` only when it is more than a system and a user turn). */
export interface RenderedPrompt {
  readonly system?: string;
  readonly prompt: string;
  readonly messages?: readonly ChatMessage[];
}

/** Compiles a prompt identity's templates (the snapshot holds everything a prompt needs to be rendered). */
export function promptParts(prompt: PromptIdentity): PromptParts {
  return {
    turns: promptMessages(prompt).map((message) => ({ role: message.role, template: compileTemplate(message.content) })),
    fewShot: prompt.fewShot ?? null,
  };
}

/**
 * The few-shot examples an item is shown: the first `k` drawn examples that are not the item itself (same id
 * or same input), so an item drawn as an example is replaced by the next one drawn.
 */
export function examplesFor(fewShot: FewShotIdentity, item: PromptItem): FewShotExample[] {
  return fewShot.examples.filter((example) => example.id !== item.itemId && example.input !== item.input).slice(0, fewShot.k);
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Renders a prompt for one item. `system` (a model's own system prompt) replaces the prompt's system turn, or
 * is put first when it has none. Few-shot examples in `turns` format become a user turn (the example rendered
 * with the prompt's user template) and an assistant turn (its target) each, just before the item's user turn;
 * in `text` format they become `{{fewShot}}`: each example's user turn and target on the next line, examples
 * separated by a blank line.
 */
export function renderPrompt(parts: PromptParts, item: PromptItem, system: PromptTemplate | null = null): RenderedPrompt {
  const examples = parts.fewShot ? examplesFor(parts.fewShot, item) : [];
  const userTemplate = parts.turns[parts.turns.length - 1]!.template;
  const exampleValues = (example: FewShotExample) => ({ input: example.input, id: example.id, fields: example.fields, fewShot: '' });
  const fewShotText =
    parts.fewShot?.format === 'text' ? examples.map((example) => `${userTemplate.render(exampleValues(example)).trim()}\n${text(example.target)}`).join('\n\n') : undefined;
  const values = { input: item.input, id: item.itemId, fields: item.fields, ...(fewShotText !== undefined ? { fewShot: fewShotText } : {}) };
  const messages: ChatMessage[] = parts.turns.map((turn) => ({ role: turn.role, content: turn.template.render(values) }));
  if (system !== null) {
    const content = system.render(values);
    if (messages[0]!.role === 'system') messages[0] = { role: 'system', content };
    else messages.unshift({ role: 'system', content });
  }
  if (parts.fewShot?.format === 'turns') {
    const shots = examples.flatMap((example): ChatMessage[] => [
      { role: 'user', content: userTemplate.render(exampleValues(example)) },
      { role: 'assistant', content: text(example.target) },
    ]);
    messages.splice(messages.length - 1, 0, ...shots);
  }
  const prompt = messages[messages.length - 1]!.content;
  const leading = messages[0]!.role === 'system' ? messages[0]!.content : undefined;
  const plain = messages.length === (leading !== undefined ? 2 : 1);
  if (plain) return leading !== undefined ? { system: leading, prompt } : { prompt };
  return { ...(leading !== undefined ? { system: leading } : {}), prompt, messages };
}

/** A rendered prompt as one text (for tables and token counts): the turns, each after its role when there are several. */
export function promptText(rendered: RenderedPrompt): string {
  if (rendered.messages) return rendered.messages.map((message) => `${message.role}: ${message.content}`).join('\n\n');
  return rendered.system === undefined ? rendered.prompt : `${rendered.system}\n\n${rendered.prompt}`;
}

/** Characters a request sends in its prompt (every turn), for estimates made before a call. */
export function promptLength(rendered: RenderedPrompt): number {
  if (rendered.messages) return rendered.messages.reduce((sum, message) => sum + message.content.length, 0);
  return (rendered.system?.length ?? 0) + rendered.prompt.length;
}
