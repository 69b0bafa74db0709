import { callKey, type EvaluatorRequest } from '../core/call-key.js';
import type { CallCompleted, CallRecord, TaskEvent } from '../spec/event.js';
import type { GenerateResult } from '../spec/model.js';
import type { EvaluatorCall, PluginContext } from '../spec/plugin-context.js';
import type { ModelIdentity } from '../spec/snapshot.js';
import type { Stage } from '../spec/stage.js';
import type { Store } from '../spec/store.js';
import type { ModelCaller } from './model-caller.js';

/**
 * Where evaluator replies go and come back from: each reply is committed as a `call-completed` event of its
 * task the moment it arrives, and a task that runs a stage again (after a crash, or after one judge of a
 * panel failed) gets the replies already stored for the same request instead of paying for them twice.
 */
export class CallJournal {
  private readonly identities: ReadonlyMap<string, ModelIdentity>;
  /** Requests being asked by a task of this process, until their reply is durable (then the store has it). */
  private readonly asking = new Map<string, Promise<GenerateResult | null>>();

  constructor(
    private readonly store: Store,
    private readonly runId: string,
    evaluators: readonly ModelIdentity[],
    /** Queues an event for the task; `onDurable` runs once it is committed. */
    readonly push: (event: TaskEvent, onDurable?: () => void) => void,
    /**
     * Whether a stage's requests may be served by replies another task or run paid for (otherwise only by the
     * task's own earlier replies): off with --no-reuse, and for the stage a replay recomputes.
     */
    private readonly share: (stage: Stage) => boolean = () => true,
  ) {
    this.identities = new Map(evaluators.map((identity) => [identity.id, identity]));
  }

  /**
   * The reply to the same request that was paid for elsewhere: being asked by another task of this process
   * (waited for), or stored by any run of the store. Otherwise the caller asks, and `settle` tells the tasks
   * waiting on it how that went (a reply is kept for them until it is durable).
   */
  async acquire(key: string, stage: Stage): Promise<{ readonly reply: GenerateResult; readonly runId: string } | { readonly settle: RequestSettle }> {
    const share = this.share(stage);
    if (share) {
      const waiting = this.asking.get(key);
      const answered = waiting ? await waiting : null;
      if (answered) return { reply: answered, runId: this.runId };
      const stored = (await this.store.findCallReplies([key])).get(key);
      if (stored) return { reply: stored.call.result, runId: stored.runId };
      // Another task may have started asking while the store was read: checked and claimed in one step
      // (no await in between), so two tasks never both ask.
      const started = this.asking.get(key);
      if (started) {
        const reply = await started;
        if (reply) return { reply, runId: this.runId };
        if (this.asking.has(key)) return this.acquire(key, stage);
      }
    }
    return { settle: this.begin(key, share) };
  }

  private begin(key: string, share: boolean): RequestSettle {
    if (!share) return { answered: () => undefined, durable: () => undefined, failed: () => undefined };
    let resolve!: (result: GenerateResult | null) => void;
    this.asking.set(key, new Promise((done) => (resolve = done)));
    return {
      answered: (result) => resolve(result),
      durable: () => this.asking.delete(key),
      failed: () => {
        resolve(null);
        this.asking.delete(key);
      },
    };
  }

  key(modelId: string, request: EvaluatorRequest): string {
    const identity = this.identities.get(modelId) ?? { id: modelId, provider: '?', model: modelId, params: {}, options: {} };
    return callKey(identity, request);
  }

  /**
   * The accepted replies stored for a task that its next attempt at a stage may use, by request key, oldest
   * first (one indexed read of its events). Replies from before the stage last completed are left out: a
   * stage that runs again after completing was rewound (a replay) and asks afresh.
   */
  async stored(ord: number): Promise<Map<string, CallCompleted[]>> {
    const byStage = new Map<Stage, CallCompleted[]>();
    for (const event of await this.store.readTaskEvents(this.runId, ord)) {
      if (event.type === 'call-completed') {
        const call = event.payload as CallCompleted;
        if (!call.accepted) continue;
        const list = byStage.get(call.stage);
        if (list) list.push(call);
        else byStage.set(call.stage, [call]);
      } else if (event.type.endsWith('-completed')) {
        byStage.delete(event.type.slice(0, event.type.indexOf('-')) as Stage);
      }
    }
    const replies = new Map<string, CallCompleted[]>();
    for (const calls of byStage.values()) {
      for (const call of calls) {
        const list = replies.get(call.key);
        if (list) list.push(call);
        else replies.set(call.key, [call]);
      }
    }
    return replies;
  }
}

/** How a request asked by one task ends, for the tasks waiting on the same request. */
export interface RequestSettle {
  answered(result: GenerateResult): void;
  durable(): void;
  failed(): void;
}

/**
 * A plugin's view of the engine for one task: cheap to create (one per task). Its calls go through the caller,
 * are journaled as they arrive, and are remembered so the engine can list them (model, tokens, latency) with
 * the stage result that used them.
 */
export class TaskContext implements PluginContext {
  /** The stage now running, which its calls are recorded under. */
  stage: Stage = 'reduce';
  private calls: CallRecord[] = [];
  private stored: Promise<Map<string, CallCompleted[]>> | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly caller: ModelCaller,
    private readonly journal: CallJournal,
    private readonly ord: number,
    readonly input: string | undefined,
    readonly fields?: Readonly<Record<string, unknown>>,
  ) {}

  get signal(): AbortSignal {
    return this.caller.cancelSignal;
  }

  callModel(modelId: string, call: EvaluatorCall): Promise<GenerateResult> {
    const pending = this.call(modelId, call);
    this.inFlight.add(pending);
    void pending.finally(() => this.inFlight.delete(pending)).catch(() => undefined);
    return pending;
  }

  private async call(modelId: string, call: EvaluatorCall): Promise<GenerateResult> {
    const stage = this.stage;
    const request = {
      ...(call.system !== undefined ? { system: call.system } : {}),
      prompt: call.prompt,
      params: { ...this.caller.paramsOf(modelId), ...call.params },
      ...(call.responseFormat ? { responseFormat: call.responseFormat } : {}),
    };
    const key = this.journal.key(modelId, request);
    this.stored ??= this.journal.stored(this.ord);
    // A reply stored by an earlier attempt at this task answers the same request again, at no cost.
    const earlier = (await this.stored).get(key)?.shift();
    if (earlier && (call.accept?.(earlier.result) ?? null) === null) {
      const { usage, latencyMs } = earlier.result;
      this.calls.push({ model: modelId, usage, latencyMs, ...(earlier.failedAttempts ? { failedAttempts: earlier.failedAttempts } : {}), logged: true });
      return earlier.result;
    }
    // The same request answered by another task or run (a judge prompt seen before, a replay): no call.
    const acquired = await this.journal.acquire(key, stage);
    if ('reply' in acquired && (call.accept?.(acquired.reply) ?? null) === null) {
      const { usage, latencyMs } = acquired.reply;
      this.calls.push({ model: modelId, usage, latencyMs, logged: true, reusedFrom: acquired.runId });
      return acquired.reply;
    }
    const settle = 'settle' in acquired ? acquired.settle : null;
    const journal = (result: GenerateResult, accepted: boolean, record: CallRecord, onDurable?: () => void) =>
      this.journal.push(
        { taskOrd: this.ord, type: 'call-completed', payload: { stage, key, model: modelId, result, accepted, ...(record.failedAttempts ? { failedAttempts: record.failedAttempts } : {}) } },
        onDurable,
      );
    let accepted: CallRecord | undefined;
    let answered;
    try {
      answered = await this.caller.callEvaluator(
        modelId,
        { ...request, seed: 0 },
        {
          ord: this.ord,
          ...(call.accept ? { accept: call.accept } : {}),
          onReply: (reply) => {
            // A rejected reply was paid for too: journal it now (the accepted one is journaled below, holding its slot).
            if (!reply.accepted) journal(reply.result, false, reply.record);
            else accepted = reply.record;
          },
        },
      );
    } catch (error) {
      settle?.failed();
      throw error;
    }
    const record = accepted ?? { model: modelId, usage: answered.result.usage, latencyMs: answered.result.latencyMs };
    this.calls.push({ ...record, logged: true });
    settle?.answered(answered.result);
    // The slot is given back once the reply is durable: calls in flight plus replies not yet committed never
    // exceed the concurrency, which bounds what a kill -9 can make us pay for twice.
    const release = answered.release;
    journal(answered.result, true, record, () => {
      release();
      settle?.durable();
    });
    return answered.result;
  }

  /** Waits for calls still in flight (one judge of a panel failed while others were answering). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** The calls made since the last take. */
  takeCalls(): CallRecord[] {
    const calls = this.calls;
    this.calls = [];
    return calls;
  }
}
