import type { ProviderDefinition } from '../spec/definition.js';
import { anthropicProvider, googleProvider, openAIProvider } from './hosted-providers.js';
import { mockProvider } from './mock-provider.js';
import { openAICompatibleProvider } from './openai-compatible-provider.js';
import { recordedProvider } from './recorded-provider.js';

/** Provider kinds by name. */
export const PROVIDERS: readonly ProviderDefinition[] = [openAIProvider, anthropicProvider, googleProvider, openAICompatibleProvider, recordedProvider, mockProvider];
