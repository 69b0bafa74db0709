import type { PluginContext } from '../spec/plugin-context.js';
import type { GenerateResult } from '../spec/model.js';

/** A context for deterministic plugins: any model call is a test failure. */
export const noModels: PluginContext = {
  signal: new AbortController().signal,
  callModel: () => Promise.reject(new Error('this plugin should not call a model')),
};

/** A context whose evaluator models reply with the given texts, in order; records the calls. */
export function scriptedModels(replies: string[]): PluginContext & { calls: { modelId: string; system?: string; prompt: string }[] } {
  const calls: { modelId: string; system?: string; prompt: string }[] = [];
  return {
    signal: new AbortController().signal,
    input: 'What is 6 times 7?',
    calls,
    async callModel(modelId, call) {
      calls.push({ modelId, ...(call.system !== undefined ? { system: call.system } : {}), prompt: call.prompt });
      const text = replies.shift();
      if (text === undefined) throw new Error('no scripted reply left');
      const result: GenerateResult = { text, finishReason: { unified: 'stop', raw: 'stop' }, usage: { inputTokens: 1, outputTokens: 1 }, latencyMs: 1 };
      const refusal = call.accept?.(result) ?? null;
      if (refusal !== null) throw new Error(`reply refused: ${refusal}`);
      return result;
    },
  };
}
