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

  constructor(
    private readonly store: Store,
    private readonly runId: string,
    evaluators: readonly ModelIdentity[],
    /** Queues an event for the task; `onDurable` runs once it is committed. */
    readonly push: (event: TaskEvent, onDurable?: () => void) => void,
  ) {
    this.identities = new Map(evaluators.map((identity) => [identity.id, identity]));
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
    const journal = (result: GenerateResult, accepted: boolean, record: CallRecord, onDurable?: () => void) =>
      this.journal.push(
        { taskOrd: this.ord, type: 'call-completed', payload: { stage, key, model: modelId, result, accepted, ...(record.failedAttempts ? { failedAttempts: record.failedAttempts } : {}) } },
        onDurable,
      );
    let accepted: CallRecord | undefined;
    const answered = await this.caller.callEvaluator(
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
    const record = accepted ?? { model: modelId, usage: answered.result.usage, latencyMs: answered.result.latencyMs };
    this.calls.push({ ...record, logged: true });
    // The slot is given back once the reply is durable: calls in flight plus replies not yet committed never
    // exceed the concurrency, which bounds what a kill -9 can make us pay for twice.
    journal(answered.result, true, record, answered.release);
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
