import { promptLength } from '../core/prompt-render.js';
import type { PriceBook } from '../core/cost.js';
import type { GenerateRequest, TokenUsage } from '../spec/model.js';
import type { AdmissionTicket } from './model-caller.js';

export interface Budget {
  /** The most the run may cost in all, in USD (what earlier sessions spent counts). */
  readonly capUsd: number;
  readonly prices: PriceBook;
  /** What the run had cost before this session. */
  readonly spentUsd: number;
}

/** What a call can cost at most: its prompt (about 4 characters a token) and its whole output allowance. */
export function worstCaseUsage(request: Pick<GenerateRequest, 'system' | 'prompt' | 'params'>): TokenUsage {
  return { inputTokens: Math.ceil(promptLength(request) / 4), outputTokens: request.params.maxTokens ?? 4096 };
}

/**
 * The spending cap. A call is admitted only when what has been spent, plus the worst case of every call in
 * flight, plus its own worst case stays within the cap; when one is refused, `onExhausted` stops the run
 * (which ends `interrupted`, reason `budget`). Running again with a higher cap continues where it stopped.
 */
export class SpendGuard {
  private spent: number;
  private reserved = 0;
  private exhausted = false;
  /** In a fleet: what every process had committed at the last sync, what this one had spent then, how many run. */
  private fleetSpent: number | null = null;
  private spentAtSync = 0;
  private processes = 1;

  constructor(
    private readonly budget: Budget | null,
    private readonly onExhausted: () => void,
  ) {
    this.spent = budget?.spentUsd ?? 0;
  }

  /** What the run had cost before this session plus what this process spent since. */
  get spentUsd(): number {
    return this.spent;
  }

  /** What this process spent in this session. */
  get ownSpentUsd(): number {
    return this.spent - (this.budget?.spentUsd ?? 0);
  }

  /** How many processes share the cap, as of the last fleet sync (1 alone). */
  get sharedBy(): number {
    return this.fleetSpent === null ? 1 : this.processes;
  }

  /**
   * The fleet's spend as the store last had it (every process's committed calls), and how many processes are
   * live: from then on a call is admitted when that, plus what this process spent since, plus its calls in
   * flight, both counted once for each live process (the others are assumed to have spent alike since the
   * sync and to have alike in flight), stays within the cap. The others' spend since the sync is not known
   * here; assuming it equals this process's keeps the fleet under the cap however late a sync comes, as long as
   * the processes go at about one pace (they share the model and the limits).
   */
  fleet(spentUsd: number, processes: number): void {
    this.fleetSpent = Math.max(spentUsd, this.budget?.spentUsd ?? 0);
    this.spentAtSync = this.spent;
    this.processes = Math.max(1, processes);
  }

  /**
   * What the whole run has spent as the cap counts it: alone from the start, `spentUsd`; once synced with the
   * store, what it had then (every process's committed calls) plus what this process spent since, once for
   * each live process (the others are assumed to have spent alike since the sync). A process left alone still
   * counts what the others spent before they went.
   */
  get runSpentUsd(): number {
    if (this.fleetSpent === null) return this.spent;
    return Math.max(this.spent, this.fleetSpent + (this.spent - this.spentAtSync) * this.processes);
  }

  private projected(worst: number): number {
    return this.runSpentUsd + (this.reserved + worst) * this.processes;
  }

  admit(modelId: string, request: Pick<GenerateRequest, 'system' | 'prompt' | 'params'>): AdmissionTicket | null {
    const budget = this.budget;
    if (!budget) return { settle: () => undefined };
    if (this.exhausted) return null;
    // Unpriced models are refused before the run starts (see checkPriced), so a null here is a free call.
    const worst = budget.prices.cost(modelId, worstCaseUsage(request)) ?? 0;
    if (this.projected(worst) > budget.capUsd) {
      this.exhausted = true;
      this.onExhausted();
      return null;
    }
    this.reserved += worst;
    let settled = false;
    return {
      settle: (usage) => {
        if (settled) return;
        settled = true;
        this.reserved -= worst;
        this.spent += usage ? (budget.prices.cost(modelId, usage) ?? 0) : 0;
      },
    };
  }
}

/** The models a cap cannot be kept for, because nothing says what they cost. */
export function unpricedModels(prices: PriceBook, modelIds: readonly string[]): string[] {
  return modelIds.filter((id) => prices.entry(id).price === null);
}
