import type { ItemSide, SideTask } from './api';
import { stageName } from './api';
import { Crumbs, fmt, Loading, Section, shortId, Text, useJson } from './common';

/** Score names whose values are not the same in every column that has them: marked on the page. */
function differing(columns: readonly SideTask[]): Set<string> {
  const values = new Map<string, Set<number>>();
  for (const task of columns) for (const [name, value] of Object.entries(task.scores)) values.set(name, (values.get(name) ?? new Set()).add(value));
  return new Set([...values].filter(([name, set]) => set.size > 1 || columns.some((task) => !(name in task.scores))).map(([name]) => name));
}

function Column(props: { task: SideTask; runId: string; label: string; differs: Set<string> }) {
  const { task } = props;
  return (
    <div class="column" data-model={task.model} data-key={task.key}>
      <h3>
        <a href={`/runs/${props.runId}/tasks/${task.ord}`}>{props.label}</a>
      </h3>
      <p class="muted">
        {task.prompt} · replicate {task.replicate} · {stageName(task.nextStage)}
        {task.failure ? <span class="tag bad">{task.failure.category}</span> : null}
      </p>
      <h4>answer</h4>
      {task.answer === null ? <p class="muted">no answer yet</p> : <Text value={task.answer} class="answer" />}
      <h4>parsed</h4>
      {task.parsed ? <Text value={task.parsed} /> : <p class="muted">–</p>}
      <table class="grid compact scores">
        <tbody>
          {Object.entries(task.scores).map(([name, value]) => (
            <tr key={name} class={props.differs.has(name) ? 'differs' : ''} data-score={name}>
              <td>{name}</td>
              <td class="num">{fmt(value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ItemHeader(props: { item: ItemSide['item'] }) {
  return (
    <Section title={`Item ${props.item.dataset ?? ''} / ${props.item.id ?? ''}`}>
      <h3>input</h3>
      <Text value={props.item.input ?? ''} />
      <h3>target</h3>
      <Text value={props.item.target ?? null} />
    </Section>
  );
}

/** One item answered by every model and prompt of a run, side by side. */
export function ItemPage(props: { runId: string; item: string }) {
  const { data, error } = useJson<ItemSide>(`/api/runs/${props.runId}/items/${props.item}`);
  if (!data) return <Loading error={error} />;
  const differs = differing(data.tasks);
  const previous = data.item.ord > 0 ? `/runs/${data.runId}/items/${data.item.ord - 1}` : null;
  return (
    <main>
      <Crumbs items={[[data.runName, `/runs/${data.runId}`], [`item ${data.item.ord}`, null]]} />
      <h1>Side by side: item {data.item.ord}</h1>
      <p class="links">
        {previous ? <a href={previous}>← previous item</a> : null} <a href={`/runs/${data.runId}/items/${data.item.ord + 1}`}>next item →</a>
        {differs.size > 0 ? <span class="tag differs">scores differ: {[...differs].join(', ')}</span> : null}
      </p>
      <ItemHeader item={data.item} />
      <div class="columns" id="side-by-side">
        {data.tasks.map((task) => (
          <Column key={task.ord} task={task} runId={data.runId} label={`${task.model}${data.tasks.length > 1 && task.prompt ? ` · ${task.prompt}` : ''}`} differs={differs} />
        ))}
      </div>
    </main>
  );
}

/** The same item in two runs (`assay compare` of one item): run a's columns, then run b's. */
export function ComparePage(props: { a: string; b: string; item: string }) {
  const { data, error } = useJson<{ a: ItemSide; b: ItemSide }>(`/api/compare/${props.a}/${props.b}/items/${props.item}`);
  if (!data) return <Loading error={error} />;
  const all = [...data.a.tasks, ...data.b.tasks];
  const differs = differing(all);
  return (
    <main>
      <Crumbs items={[[data.a.runName, `/runs/${data.a.runId}`], [`compare with ${data.b.runName}`, null]]} />
      <h1>
        Item {data.a.item.ord} in {data.a.runName} <span class="mono muted">{shortId(data.a.runId)}</span> and {data.b.runName} <span class="mono muted">{shortId(data.b.runId)}</span>
      </h1>
      {differs.size > 0 ? <p class="tag differs">scores differ: {[...differs].join(', ')}</p> : null}
      <ItemHeader item={data.a.item} />
      <div class="columns" id="side-by-side">
        {data.a.tasks.map((task) => (
          <Column key={`a${task.ord}`} task={task} runId={data.a.runId} label={`a: ${task.model}`} differs={differs} />
        ))}
        {data.b.tasks.map((task) => (
          <Column key={`b${task.ord}`} task={task} runId={data.b.runId} label={`b: ${task.model}`} differs={differs} />
        ))}
      </div>
    </main>
  );
}
