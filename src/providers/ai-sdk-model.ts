import type { LanguageModelV3 } from '@ai-sdk/provider';
import type { GenerateRequest, GenerateResult, LanguageModel, UnifiedFinishReason } from '../spec/model.js';
import { classifyProviderError, redactor } from './call-error.js';

/** The AI SDK's core, loaded on the first call so that commands which never call a model start fast. */
let core: Promise<typeof import('ai')> | undefined;
export function loadAiSdk(): Promise<typeof import('ai')> {
  // The SDK prints warnings (an unsupported setting, say) to the console, which would corrupt `--json`
  // output; they are kept with each answer's raw response instead.
  (globalThis as { AI_SDK_LOG_WARNINGS?: unknown }).AI_SDK_LOG_WARNINGS = false;
  core ??= import('ai');
  return core;
}

const FINISH_REASONS: readonly UnifiedFinishReason[] = ['stop', 'length', 'content-filter', 'tool-calls', 'error', 'other'];

export interface AiSdkModelOptions {
  readonly id: string;
  /** The provider kind, as configs name it. */
  readonly provider: string;
  readonly modelName: string;
  /** The key in use, only so it can be scrubbed from anything stored. */
  readonly apiKey: string | undefined;
  /** Builds the AI SDK model (loading the provider package lazily). */
  readonly load: () => Promise<LanguageModelV3>;
  /** The providerOptions namespace for `params.extra`. */
  readonly optionsNamespace: string;
}

/**
 * A model adapter over any AI SDK provider: one `generateText` call per attempt with the SDK's own retries
 * off, structured output when asked for, and failures turned into categorized errors with secrets removed.
 */
export function aiSdkModel(options: AiSdkModelOptions): LanguageModel {
  let model: Promise<LanguageModelV3> | undefined;
  const redact = redactor([options.apiKey]);
  const prepare = async () => {
    await loadAiSdk();
    model ??= options.load();
    await model;
  };
  return {
    specificationVersion: 'assay.model.v1',
    id: options.id,
    provider: options.provider,
    modelName: options.modelName,
    prepare,
    async doGenerate(request: GenerateRequest): Promise<GenerateResult> {
      const ai = await loadAiSdk();
      model ??= options.load();
      const languageModel = await model;
      const started = performance.now();
      try {
        const result = await ai.generateText({
          model: languageModel,
          ...(request.system !== undefined ? { system: request.system } : {}),
          prompt: request.prompt,
          ...(request.params.temperature !== undefined ? { temperature: request.params.temperature } : {}),
          ...(request.params.maxTokens !== undefined ? { maxOutputTokens: request.params.maxTokens } : {}),
          ...(request.params.topP !== undefined ? { topP: request.params.topP } : {}),
          ...(request.params.stop !== undefined ? { stopSequences: [...request.params.stop] } : {}),
          ...(request.params.extra !== undefined ? { providerOptions: { [options.optionsNamespace]: request.params.extra as Record<string, never> } } : {}),
          ...(request.responseFormat
            ? { output: ai.Output.object({ schema: ai.jsonSchema(request.responseFormat.schema as never), name: request.responseFormat.name }) }
            : {}),
          seed: request.seed,
          maxRetries: 0,
          abortSignal: request.signal,
        });
        const unified = FINISH_REASONS.includes(result.finishReason) ? result.finishReason : 'unknown';
        return {
          text: result.text,
          finishReason: { unified, raw: result.rawFinishReason ?? null },
          usage: { inputTokens: result.usage.inputTokens ?? null, outputTokens: result.usage.outputTokens ?? null },
          latencyMs: performance.now() - started,
          raw: {
            id: result.response.id,
            model: result.response.modelId,
            body: result.response.body ?? null,
            ...(result.warnings && result.warnings.length > 0 ? { warnings: result.warnings } : {}),
          },
        };
      } catch (error) {
        // Structured output that does not validate is still an answer: hand back its text for the caller to read.
        if (ai.NoObjectGeneratedError.isInstance(error) && typeof error.text === 'string') {
          return {
            text: error.text,
            finishReason: { unified: 'other', raw: error.finishReason ?? null },
            usage: { inputTokens: error.usage?.inputTokens ?? null, outputTokens: error.usage?.outputTokens ?? null },
            latencyMs: performance.now() - started,
            raw: { id: error.response?.id ?? null, invalidStructuredOutput: true },
          };
        }
        throw classifyProviderError(error, redact, request.signal);
      }
    },
  };
}
