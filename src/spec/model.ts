import type { FailureCategory } from './failure.js';

/** Generation parameters; anything a provider understands beyond these lives in `extra`. */
export interface GenerationParams {
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly topP?: number;
  readonly stop?: readonly string[];
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** Ask for a JSON object matching a JSON Schema (structured output), where the provider supports it. */
export interface JsonResponseFormat {
  readonly type: 'json';
  readonly name: string;
  readonly schema: Readonly<Record<string, unknown>>;
}

/** The dataset item a call is about: providers that answer from records (not from the prompt) match on it. */
export interface RequestItem {
  readonly datasetId: string;
  readonly itemId: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** Who says a turn of a chat conversation. */
export type ChatRole = 'system' | 'user' | 'assistant';

/** One turn of a conversation, as sent. */
export interface ChatMessage {
  readonly role: ChatRole;
  readonly content: string;
}

export interface GenerateRequest {
  /** The system message; with `messages`, the content of its leading system turn, if any. */
  readonly system?: string;
  /** The user message; with `messages`, the content of its last (user) turn. */
  readonly prompt: string;
  /**
   * The whole conversation, when it is more than a system and a user message (chat turns written in the
   * config, few-shot examples as turns): providers that take chat turns send these instead of `system` and
   * `prompt`; those that do not (mock, recorded) answer `prompt`. It always ends with a user turn.
   */
  readonly messages?: readonly ChatMessage[];
  readonly params: GenerationParams;
  /** Per-call seed derived from the run seed, the task and the sample index. */
  readonly seed: number;
  readonly signal: AbortSignal;
  readonly item?: RequestItem;
  readonly responseFormat?: JsonResponseFormat;
}

export type UnifiedFinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other' | 'unknown';

export interface TokenUsage {
  readonly inputTokens: number | null;
  readonly outputTokens: number | null;
}

/** A candidate answer: normalized fields plus whatever raw response the provider returned. */
export interface GenerateResult {
  readonly text: string;
  readonly finishReason: { readonly unified: UnifiedFinishReason; readonly raw: string | null };
  readonly usage: TokenUsage;
  readonly latencyMs: number;
  readonly raw?: unknown;
}

/**
 * A model adapter. `doGenerate` is for the engine only: it performs one call with no retries of its own and
 * throws a {@link ProviderCallError} on failure, so that retries, rate limits and recording live in one place.
 */
export interface LanguageModel {
  readonly specificationVersion: 'assay.model.v1';
  /** The id this model has in the experiment config. */
  readonly id: string;
  readonly provider: string;
  readonly modelName: string;
  doGenerate(request: GenerateRequest): Promise<GenerateResult>;
  /**
   * Loads whatever the first call needs (SDK modules, clients). The engine awaits it before a call takes
   * its rate-limit slot, so a limiter's clock and the server's agree from the first request.
   */
  prepare?(): Promise<void>;
}

/** What a provider adapter throws: a categorized failure the engine may retry. */
export interface ProviderCallFailure {
  readonly category: FailureCategory;
  readonly message: string;
  readonly status?: number;
  /** A server-requested wait before retrying (from Retry-After), in milliseconds. */
  readonly retryAfterMs?: number;
  readonly retryable: boolean;
}
