import type { Provenance } from '../spec/snapshot.js';
/** USD per million tokens. */
export interface Price {
  readonly input: number;
  readonly output: number;
}

export interface Usage {
  readonly inputTokens: number | null;
  readonly outputTokens: number | null;
}

/** The cost in USD of some usage at a price (unknown token counts count as zero). */
export function costOf(usage: Usage, price: Price): number {
  return ((usage.inputTokens ?? 0) * price.input + (usage.outputTokens ?? 0) * price.output) / 1_000_000;
}

export interface PricedModel {
  readonly id: string;
  readonly provider: string;
  readonly model: string;
  readonly price?: Price | null | undefined;
}

/** Where a model's price came from: the config, the maintained price table, or nowhere (cost unknown). */
export interface PriceEntry {
  readonly price: Price | null;
  readonly source: 'config' | 'table' | 'free' | 'unknown';
}

const TABLE_PROVIDER: Readonly<Record<string, string | undefined>> = { openai: 'openai', anthropic: 'anthropic', google: 'google' };

/**
 * Prices per model id. A price in the config wins; otherwise well-known models are priced from
 * @pydantic/genai-prices (bundled data, no network); the mock and recorded providers cost nothing here.
 */
export class PriceBook {
  private constructor(private readonly entries: ReadonlyMap<string, PriceEntry>) {}

  static async for(models: readonly PricedModel[]): Promise<PriceBook> {
    const entries = new Map<string, PriceEntry>();
    let table: typeof import('@pydantic/genai-prices') | null | undefined;
    for (const model of models) {
      if (model.price) {
        entries.set(model.id, { price: model.price, source: 'config' });
        continue;
      }
      if (model.provider === 'mock' || model.provider === 'recorded') {
        entries.set(model.id, { price: { input: 0, output: 0 }, source: 'free' });
        continue;
      }
      table ??= await import('@pydantic/genai-prices').catch(() => null);
      entries.set(model.id, lookup(table, model) ?? { price: null, source: 'unknown' });
    }
    return new PriceBook(entries);
  }

  /** Prices as recorded with a run; models without one fall back to `fallback` (for runs recorded before prices were). */
  static recorded(prices: NonNullable<Provenance['prices']>): PriceBook {
    const entries = new Map<string, PriceEntry>();
    for (const [id, price] of Object.entries(prices)) {
      entries.set(id, price ? { price: { input: price.input, output: price.output }, source: price.source as PriceEntry['source'] } : { price: null, source: 'unknown' });
    }
    return new PriceBook(entries);
  }

  /** The prices to record with a new run. */
  record(modelIds: readonly string[]): NonNullable<Provenance['prices']> {
    return Object.fromEntries(
      modelIds.map((id) => {
        const { price, source } = this.entry(id);
        return [id, price ? { input: price.input, output: price.output, source } : null];
      }),
    );
  }

  static empty(): PriceBook {
    return new PriceBook(new Map());
  }

  entry(modelId: string): PriceEntry {
    return this.entries.get(modelId) ?? { price: null, source: 'unknown' };
  }

  /** The cost of usage by a model, or null when its price is unknown. */
  cost(modelId: string, usage: Usage): number | null {
    const { price } = this.entry(modelId);
    return price ? costOf(usage, price) : null;
  }
}

function lookup(table: typeof import('@pydantic/genai-prices') | null | undefined, model: PricedModel): PriceEntry | null {
  if (!table) return null;
  const providerId = TABLE_PROVIDER[model.provider];
  const options = providerId ? { providerId } : {};
  try {
    const input = table.calcPrice({ input_tokens: 1_000_000, output_tokens: 0 }, model.model, options);
    const output = table.calcPrice({ input_tokens: 0, output_tokens: 1_000_000 }, model.model, options);
    if (!input || !output) return null;
    return { price: { input: input.total_price, output: output.total_price }, source: 'table' };
  } catch {
    return null;
  }
}
