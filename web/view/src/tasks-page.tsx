import type { RunDetail, TasksPage as Page } from './api';
import { STAGES, stageName } from './api';
import { Crumbs, fmt, Loading, shortId, useJson } from './common';
import { navigate } from './router';

/** The filter fields, as URL parameters (the API takes the same: src/view/view-data.ts taskQueryOf). */
const FIELDS = ['model', 'prompt', 'dataset', 'stage', 'failed', 'category', 'score', 'pass', 'min', 'max', 'q', 'sort', 'desc'] as const;

/** A run's tasks: a server-side page of an indexed query, the filter in the URL. */
export function TasksPage(props: { runId: string; params: URLSearchParams }) {
  const run = useJson<RunDetail>(`/api/runs/${props.runId}`);
  const query = new URLSearchParams(props.params);
  const limit = Number(query.get('limit') ?? 50);
  const offset = Number(query.get('offset') ?? 0);
  const page = useJson<Page>(`/api/runs/${props.runId}/tasks?${query.toString()}`);
  if (!run.data) return <Loading error={run.error} />;
  const base = `/runs/${props.runId}/tasks`;
  const scoreNames = [...run.data.metrics, ...run.data.judges.map((judge) => `${judge}.*`)];
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const next = new URLSearchParams();
    for (const field of FIELDS) {
      const value = String(form.get(field) ?? '').trim();
      if (value && !(field === 'sort' && value === 'ord')) next.set(field, value);
    }
    navigate(`${base}${next.size > 0 ? `?${next.toString()}` : ''}`);
  };
  const pageHref = (start: number) => {
    const next = new URLSearchParams(query);
    if (start > 0) next.set('offset', String(start));
    else next.delete('offset');
    return `${base}?${next.toString()}`;
  };
  const value = (name: string) => query.get(name) ?? '';
  const select = (name: string, options: readonly string[], blank = 'any') => (
    <select name={name} value={value(name)}>
      <option value="">{blank}</option>
      {options.map((option) => (
        <option key={option} value={option}>
          {option}
        </option>
      ))}
    </select>
  );
  return (
    <main>
      <Crumbs items={[[run.data.name, `/runs/${props.runId}`], ['tasks', null]]} />
      <h1>
        Tasks of {run.data.name} <span class="mono muted">{shortId(props.runId)}</span>
      </h1>
      <form class="filters" onSubmit={submit} key={query.toString()}>
        <label>model {select('model', run.data.models)}</label>
        <label>prompt {select('prompt', run.data.prompts)}</label>
        <label>dataset {select('dataset', run.data.datasets.map((dataset) => dataset.id))}</label>
        <label>stage {select('stage', STAGES)}</label>
        <label>failed {select('failed', ['yes', 'no'])}</label>
        <label>
          category <input name="category" value={value('category')} size={12} />
        </label>
        <label>
          score <input name="score" value={value('score')} list="score-names" size={14} placeholder="metric" />
        </label>
        <datalist id="score-names">
          {scoreNames.map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
        <label>pass {select('pass', ['yes', 'no'])}</label>
        <label>
          min <input name="min" value={value('min')} size={4} inputMode="decimal" />
        </label>
        <label>
          max <input name="max" value={value('max')} size={4} inputMode="decimal" />
        </label>
        <label>
          text <input name="q" type="search" value={value('q')} size={18} placeholder="in input or answer" />
        </label>
        <label>sort {select('sort', ['ord', ...run.data.metrics], 'ord')}</label>
        <label>
          <input type="checkbox" name="desc" value="yes" checked={value('desc') === 'yes'} /> descending
        </label>
        <button type="submit">Filter</button> <a href={base}>clear</a>
      </form>
      {!page.data ? (
        <Loading error={page.error} />
      ) : (
        <>
          <p class="muted" id="tasks-summary">
            {page.data.rows.length === 0 ? 'No task matches.' : `Tasks ${offset + 1} to ${offset + page.data.rows.length}${page.data.more ? ' (more follow)' : ''}`} · query {page.data.queryMs} ms
          </p>
          <table class="grid" id="tasks">
            <thead>
              <tr>
                <th class="num">#</th>
                <th>task</th>
                <th>model</th>
                <th>prompt</th>
                <th>stage</th>
                <th>scores</th>
                <th>input</th>
                <th>answer</th>
              </tr>
            </thead>
            <tbody>
              {page.data.rows.map((row) => (
                <tr key={row.ord} data-ord={row.ord} class={row.failed ? 'failed' : ''}>
                  <td class="num">{row.ord}</td>
                  <td class="mono">
                    <a href={`/runs/${props.runId}/tasks/${row.ord}`}>{row.key}</a>
                  </td>
                  <td>{row.model}</td>
                  <td>{row.prompt}</td>
                  <td>
                    {stageName(row.nextStage)}
                    {row.failure ? <span class="tag bad">{row.failure.category}</span> : null}
                  </td>
                  <td class="mono">
                    {Object.entries({ ...(row.scores ?? {}), ...(row.judgeScores ?? {}) })
                      .map(([name, score]) => `${name} ${fmt(score)}`)
                      .join(', ')}
                  </td>
                  <td class="clip">{row.input}</td>
                  <td class="clip">{row.answer ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="pager">
            {offset > 0 ? <a href={pageHref(Math.max(0, offset - limit))}>← previous</a> : null} {page.data.more ? <a href={pageHref(offset + limit)}>next →</a> : null}
          </p>
        </>
      )}
    </main>
  );
}
