import { useState } from 'preact/hooks';
import type { RunSummary } from './api';
import { Bar, Loading, shortId, usd, useJson, when } from './common';

/** Every run in the store, with a search over name, id, status and models. */
export function RunsPage() {
  const { data, error } = useJson<RunSummary[]>('/api/runs', 5000);
  const [search, setSearch] = useState(() => new URL(location.href).searchParams.get('q') ?? '');
  if (!data) return <Loading error={error} />;
  const needle = search.trim().toLowerCase();
  const shown = needle ? data.filter((run) => [run.name, run.runId, run.status, ...run.models].some((text) => text.toLowerCase().includes(needle))) : data;
  const onSearch = (value: string) => {
    setSearch(value);
    history.replaceState(null, '', value ? `/?q=${encodeURIComponent(value)}` : '/');
  };
  return (
    <main>
      <h1>Runs</h1>
      <p class="muted">{data.length} runs in this store</p>
      <label class="search">
        Search <input type="search" name="q" value={search} onInput={(event) => onSearch((event.target as HTMLInputElement).value)} placeholder="name, id, status or model" />
      </label>
      <table class="grid" id="runs">
        <thead>
          <tr>
            <th>name</th>
            <th>id</th>
            <th>status</th>
            <th>progress</th>
            <th class="num">tasks</th>
            <th class="num">failed</th>
            <th class="num">cost</th>
            <th>created</th>
            <th>models</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((run) => (
            <tr key={run.runId} data-run={run.runId}>
              <td>
                <a href={`/runs/${run.runId}`}>{run.name}</a>
                {run.importedFrom ? <span class="tag">imported</span> : null}
              </td>
              <td class="mono">{shortId(run.runId)}</td>
              <td>
                <span class={`status ${run.status}`}>{run.status}</span>
              </td>
              <td>
                <Bar done={run.done} failed={run.failed} total={run.tasks} />
              </td>
              <td class="num">{run.tasks}</td>
              <td class="num">{run.failed}</td>
              <td class="num">{usd(run.cost)}</td>
              <td>{when(run.createdAt)}</td>
              <td>{run.models.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown.length === 0 ? <p class="muted">No run matches.</p> : null}
    </main>
  );
}
