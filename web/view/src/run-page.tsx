import { useState } from 'preact/hooks';
import type { RunDetail, RunSummary } from './api';
import { Bar, Crumbs, fmt, Loading, Section, shortId, usd, useJson, when } from './common';
import { navigate } from './router';

/** One run: live counts (polled while it runs), failures, usage and cost, and the report's summary. */
export function RunPage(props: { runId: string }) {
  const [running, setRunning] = useState(true);
  const { data, error } = useJson<RunDetail>(`/api/runs/${props.runId}`, running ? 1000 : 10_000);
  const runs = useJson<RunSummary[]>('/api/runs');
  if (!data) return <Loading error={error} />;
  const { progress } = data;
  if ((progress.status === 'running') !== running) setRunning(progress.status === 'running');
  const base = `/runs/${data.runId}`;
  const others = (runs.data ?? []).filter((run) => run.runId !== data.runId);
  return (
    <main>
      <Crumbs items={[[data.name, null]]} />
      <h1>
        {data.name} <span class="mono muted">{shortId(data.runId)}</span>
      </h1>
      <p>
        <span class={`status ${progress.status}`} id="run-status">{progress.status}</span> · created {when(data.createdAt)} · updated <span id="run-updated">{when(progress.updatedAt)}</span>
        {data.importedFrom ? <span class="tag">imported from {data.importedFrom}</span> : null}
      </p>
      <p class="links">
        <a href={`${base}/tasks`}>Tasks</a> · <a href={`${base}/items/0`}>Side by side (first item)</a>
        {others.length > 0 ? (
          <label>
            {' '}
            · Compare item 0 with{' '}
            <select onChange={(event) => navigate(`/compare/${data.runId}/${(event.target as HTMLSelectElement).value}/items/0`)} value="">
              <option value="">another run…</option>
              {others.map((run) => (
                <option key={run.runId} value={run.runId}>
                  {run.name} ({shortId(run.runId)})
                </option>
              ))}
            </select>
          </label>
        ) : null}
      </p>
      <Section title="Progress" id="progress">
        <p>
          <Bar done={progress.state.done} failed={progress.state.failed} total={progress.state.tasks} /> <span id="count-done">{progress.state.done}</span> of{' '}
          <span id="count-tasks">{progress.state.tasks}</span> tasks done, <span id="count-failed">{progress.state.failed}</span> failed
        </p>
        <table class="grid compact">
          <thead>
            <tr>
              <th>stage</th>
              <th class="num">completed</th>
              <th class="num">failed</th>
              <th class="num">pending</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(progress.state.stages)
              .filter(([, counts]) => counts.enabled)
              .map(([stage, counts]) => (
                <tr key={stage} data-stage={stage}>
                  <td>{stage}</td>
                  <td class="num">{counts.completed}</td>
                  <td class="num">{counts.failed > 0 ? <a href={`${base}/tasks?stage=${stage}&failed=yes`}>{counts.failed}</a> : 0}</td>
                  <td class="num">{counts.pending}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </Section>
      <Section title="Failures by stage and category" id="failures">
        {progress.failures.length === 0 ? (
          <p class="muted">No failures.</p>
        ) : (
          <table class="grid compact">
            <tbody>
              {progress.failures.map((row) => (
                <tr key={`${row.stage}/${row.category}`}>
                  <td>{row.stage}</td>
                  <td>
                    <a href={`${base}/tasks?failed=yes&category=${encodeURIComponent(row.category)}`}>{row.category}</a>
                  </td>
                  <td class="num">{row.count}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Usage and cost" id="usage">
        <p>
          Total <strong>{usd(progress.cost.total)}</strong>
          {progress.cost.unpriced.length > 0 ? ` (no price known for ${progress.cost.unpriced.join(', ')})` : ''}
        </p>
        <table class="grid compact">
          <thead>
            <tr>
              <th>model</th>
              <th>stage</th>
              <th class="num">calls</th>
              <th class="num">input tokens</th>
              <th class="num">output tokens</th>
              <th class="num">cost</th>
            </tr>
          </thead>
          <tbody>
            {progress.usage.map((row) => (
              <tr key={`${row.model}/${row.stage}`}>
                <td>{row.model}</td>
                <td>{row.stage}</td>
                <td class="num">{row.calls}</td>
                <td class="num">{row.inputTokens}</td>
                <td class="num">{row.outputTokens}</td>
                <td class="num">{usd(row.cost)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Report" id="report">
        <p class="muted">
          {data.models.length} models × {data.prompts.length} prompts × {data.replicates} replicates; metrics {data.metrics.join(', ') || '–'}
          {data.judges.length ? `; judges ${data.judges.join(', ')}` : ''}; {fmt(data.taskCount)} tasks. The report as <code>assay report --format html</code> writes it:
        </p>
        {/* The report's own HTML, in a frame that may run nothing. Reloaded when the counts change. */}
        <iframe class="report" title="report" sandbox="allow-same-origin" src={`${base}/report.html?at=${running ? "live" : encodeURIComponent(progress.updatedAt)}`} />
      </Section>
    </main>
  );
}
