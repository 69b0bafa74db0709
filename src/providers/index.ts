import type { ProviderDefinition } from '../spec/definition.js';
import { mockProvider } from './mock-provider.js';
import { openAICompatibleProvider } from './openai-compatible-provider.js';

/** Provider kinds by name. */
export const PROVIDERS: readonly ProviderDefinition[] = [openAICompatibleProvider, mockProvider];
