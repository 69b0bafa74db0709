import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getJson } from './api';

/** Loads JSON for a page; `refreshMs` polls it (live counts), `null` loads once. */
export function useJson<T>(path: string, refreshMs: number | null = null): { data: T | null; error: string | null } {
  const [state, setState] = useState<{ data: T | null; error: string | null; path: string }>({ data: null, error: null, path });
  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    const load = () =>
      getJson<T>(path).then(
        (data) => live && setState({ data, error: null, path }),
        (error: Error) => live && setState((previous) => ({ data: previous.path === path ? previous.data : null, error: error.message, path })),
      ).finally(() => {
        if (live && refreshMs !== null) timer = window.setTimeout(load, refreshMs);
      });
    void load();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [path, refreshMs]);
  return state.path === path ? state : { data: null, error: null };
}

export function Loading(props: { error: string | null }) {
  return props.error ? <p class="error" role="alert">{props.error}</p> : <p class="loading">Loading…</p>;
}

export const shortId = (id: string) => id.slice(0, 12);
export const fmt = (value: number | null | undefined, digits = 3) => (value === null || value === undefined ? '–' : Number.isInteger(value) ? String(value) : value.toFixed(digits));
export const usd = (value: number | null | undefined) => (value === null || value === undefined ? '–' : `$${value.toFixed(value < 1 ? 4 : 2)}`);
export const when = (iso: string) => iso.slice(0, 19).replace('T', ' ');

/** Model output and anything else from the store: always text (Preact escapes it), never markup. */
export function Text(props: { value: unknown; class?: string }) {
  const text = typeof props.value === 'string' ? props.value : JSON.stringify(props.value, null, 2);
  return <pre class={`text ${props.class ?? ''}`}>{text ?? ''}</pre>;
}

export function Section(props: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" id={props.id}>
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}

export function Bar(props: { done: number; failed: number; total: number }) {
  const part = (count: number) => `${props.total > 0 ? Math.round((count / props.total) * 1000) / 10 : 0}%`;
  return (
    <span class="bar" title={`${props.done} done, ${props.failed} failed of ${props.total}`}>
      <progress class="done" max={props.total || 1} value={props.done} aria-label={`done ${part(props.done)}`} />
      <span class="bar-text">{part(props.done)}</span>
    </span>
  );
}

export function Crumbs(props: { items: readonly (readonly [string, string | null])[] }) {
  return (
    <nav class="crumbs">
      <a href="/">Runs</a>
      {props.items.map(([label, href]) => (
        <span key={label}>
          {' / '}
          {href ? <a href={href}>{label}</a> : <span>{label}</span>}
        </span>
      ))}
    </nav>
  );
}
