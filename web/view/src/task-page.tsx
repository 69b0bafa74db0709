import { Crumbs, fmt, Loading, Section, shortId, Text, useJson, when } from './common';
import { stageName } from './api';

interface Candidate {
  readonly text: string;
  readonly finishReason: { readonly unified: string; readonly raw: string | null };
  readonly usage: { readonly inputTokens: number; readonly outputTokens: number };
  readonly latencyMs: number;
  readonly raw?: unknown;
  readonly reusedFrom?: string;
  readonly failedAttempts?: readonly { readonly attempt: number; readonly category: string; readonly message: string; readonly at: string }[];
}

interface TaskDetail {
  readonly runId: string;
  readonly runName: string;
  readonly task: { readonly ord: number; readonly key: string; readonly itemOrd: number; readonly model: string; readonly prompt: string; readonly replicate: number };
  readonly item: { readonly dataset: string; readonly id: string; readonly input: string; readonly target: unknown; readonly fields: Record<string, unknown> };
  readonly promptAsSent: { readonly id: string; readonly system: string | null; readonly user: string; readonly messages?: readonly { readonly role: string; readonly content: string }[] };
  readonly artifacts: {
    readonly progress: { readonly nextStage: number; readonly failed: boolean; readonly failure: { readonly stage: string; readonly category: string; readonly message: string; readonly attempts?: readonly unknown[] } | null };
    readonly candidates: readonly (Candidate | null)[];
    readonly reduced: { readonly text: string; readonly sources: readonly number[]; readonly details?: unknown } | null;
    readonly parsed: unknown;
    readonly scores: Readonly<Record<string, { readonly value: number; readonly parts?: unknown; readonly details?: unknown }>> | null;
    readonly judgments:
      | readonly {
          readonly judge: string;
          readonly kind: string;
          readonly scores: Readonly<Record<string, { readonly value: number }>>;
          readonly executions: readonly { readonly model: string; readonly prompt: { readonly system: string | null; readonly user: string }; readonly rawResponse: string; readonly parsed: unknown }[];
        }[]
      | null;
  } | null;
  readonly events: readonly { readonly seq: number; readonly type: string; readonly createdAt: string; readonly payload: unknown }[];
}

/** One task: everything that went into it and came out of it, every model text shown as text. */
export function TaskPage(props: { runId: string; ord: string }) {
  const { data, error } = useJson<TaskDetail>(`/api/runs/${props.runId}/tasks/${props.ord}`);
  if (!data) return <Loading error={error} />;
  const { task, item, promptAsSent, artifacts } = data;
  const run = `/runs/${data.runId}`;
  return (
    <main>
      <Crumbs items={[[data.runName, run], ['tasks', `${run}/tasks`], [`task ${task.ord}`, null]]} />
      <h1 class="mono">{task.key}</h1>
      <p>
        model <strong>{task.model}</strong> · prompt <strong>{task.prompt}</strong> · replicate {task.replicate} · at <strong>{stageName(artifacts?.progress.nextStage ?? 0)}</strong> ·{' '}
        <a href={`${run}/items/${task.itemOrd}`}>side by side</a> · run <span class="mono">{shortId(data.runId)}</span>
      </p>
      {artifacts?.progress.failure ? (
        <Section title="Failure">
          <p class="error">
            {artifacts.progress.failure.stage}: {artifacts.progress.failure.category}
          </p>
          <Text value={artifacts.progress.failure.message} />
          {artifacts.progress.failure.attempts ? <Text value={artifacts.progress.failure.attempts} /> : null}
        </Section>
      ) : null}
      <Section title="Item" id="item">
        <p class="mono">
          {item.dataset} / {item.id}
        </p>
        <h3>input</h3>
        <Text value={item.input} />
        <h3>target</h3>
        <Text value={item.target} />
        <details>
          <summary>all fields</summary>
          <Text value={item.fields} />
        </details>
      </Section>
      <Section title={`Prompt as sent (${promptAsSent.id})`} id="prompt">
        {promptAsSent.messages ? (
          promptAsSent.messages.map((message, index) => (
            <div key={index}>
              <h3>{message.role}</h3>
              <Text value={message.content} />
            </div>
          ))
        ) : (
          <>
            {promptAsSent.system !== null ? (
              <>
                <h3>system</h3>
                <Text value={promptAsSent.system} />
              </>
            ) : null}
            <h3>user</h3>
            <Text value={promptAsSent.user} />
          </>
        )}
      </Section>
      <Section title="Candidates" id="candidates">
        {(artifacts?.candidates ?? []).length === 0 ? <p class="muted">None yet.</p> : null}
        {(artifacts?.candidates ?? []).map((candidate, sample) =>
          candidate === null ? (
            <p key={sample} class="muted">
              sample {sample}: no answer yet
            </p>
          ) : (
            <div key={sample} class="candidate" data-sample={sample}>
              <h3>
                sample {sample} · {candidate.finishReason.unified} · {candidate.usage.inputTokens} in / {candidate.usage.outputTokens} out tokens · {fmt(candidate.latencyMs, 0)} ms
                {candidate.reusedFrom ? ` · reused from run ${shortId(candidate.reusedFrom)}` : ''}
              </h3>
              <Text value={candidate.text} class="answer" />
              {candidate.failedAttempts?.length ? (
                <details>
                  <summary>{candidate.failedAttempts.length} failed attempts</summary>
                  <ul>
                    {candidate.failedAttempts.map((attempt) => (
                      <li key={attempt.attempt}>
                        {attempt.attempt}: {attempt.category}: {attempt.message} ({when(attempt.at)})
                      </li>
                    ))}
                  </ul>
                </details>
              ) : null}
              {candidate.raw !== undefined ? (
                <details>
                  <summary>raw response</summary>
                  <Text value={candidate.raw} />
                </details>
              ) : null}
            </div>
          ),
        )}
      </Section>
      <Section title="Reduced, parsed and scored" id="results">
        <h3>reduced candidate{artifacts?.reduced ? ` (from samples ${artifacts.reduced.sources.join(', ')})` : ''}</h3>
        {artifacts?.reduced ? <Text value={artifacts.reduced.text} /> : <p class="muted">not yet</p>}
        <h3>parsed</h3>
        {artifacts?.parsed ? <Text value={artifacts.parsed} /> : <p class="muted">not yet</p>}
        <h3>scores</h3>
        {artifacts?.scores ? (
          <table class="grid compact" id="scores">
            <tbody>
              {Object.entries(artifacts.scores).map(([name, score]) => (
                <tr key={name}>
                  <td>{name}</td>
                  <td class="num">{fmt(score.value)}</td>
                  <td>{score.details || score.parts ? <Text value={{ parts: score.parts, details: score.details }} /> : null}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">not yet</p>
        )}
      </Section>
      {artifacts?.judgments?.length ? (
        <Section title="Judges" id="judges">
          {artifacts.judgments.map((judgment) => (
            <div key={judgment.judge} class="judgment">
              <h3>
                {judgment.judge} ({judgment.kind}): {Object.entries(judgment.scores).map(([name, score]) => `${name} ${fmt(score.value)}`).join(', ')}
              </h3>
              {judgment.executions.map((execution, index) => (
                <details key={index} open={index === 0}>
                  <summary>{execution.model}</summary>
                  {execution.prompt.system ? (
                    <>
                      <h4>system</h4>
                      <Text value={execution.prompt.system} />
                    </>
                  ) : null}
                  <h4>prompt</h4>
                  <Text value={execution.prompt.user} />
                  <h4>raw reply</h4>
                  <Text value={execution.rawResponse} />
                  <h4>parsed judgment</h4>
                  <Text value={execution.parsed} />
                </details>
              ))}
            </div>
          ))}
        </Section>
      ) : null}
      <Section title={`Events (${data.events.length})`} id="events">
        <table class="grid compact">
          <tbody>
            {data.events.map((event) => (
              <tr key={event.seq}>
                <td class="num">{event.seq}</td>
                <td>{event.type}</td>
                <td>{when(event.createdAt)}</td>
                <td>
                  <details>
                    <summary>payload</summary>
                    <Text value={event.payload} />
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </main>
  );
}
