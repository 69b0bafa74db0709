import { useEffect, useState } from 'preact/hooks';

/** Client-side routing over the History API: every page has its own URL; the back button works. */
export function navigate(href: string): void {
  history.pushState(null, '', href);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useLocation(): URL {
  const [url, setUrl] = useState(() => new URL(location.href));
  useEffect(() => {
    const update = () => setUrl(new URL(location.href));
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return url;
}

/** Same-origin links are followed without a reload. */
export function interceptLinks(): void {
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest?.('a');
    if (!anchor || anchor.target || anchor.hasAttribute('download')) return;
    const url = new URL(anchor.href, location.href);
    if (url.origin !== location.origin || url.pathname.endsWith('.html')) return;
    event.preventDefault();
    navigate(`${url.pathname}${url.search}${url.hash}`);
  });
}

export type Route =
  | { readonly page: 'runs' }
  | { readonly page: 'run'; readonly runId: string }
  | { readonly page: 'tasks'; readonly runId: string; readonly params: URLSearchParams }
  | { readonly page: 'task'; readonly runId: string; readonly ord: string }
  | { readonly page: 'item'; readonly runId: string; readonly item: string }
  | { readonly page: 'compare'; readonly a: string; readonly b: string; readonly item: string }
  | { readonly page: 'missing' };

export function routeOf(url: URL): Route {
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { page: 'runs' };
  if (parts[0] === 'runs' && parts[1]) {
    if (parts.length === 2) return { page: 'run', runId: parts[1] };
    if (parts[2] === 'tasks' && parts.length === 3) return { page: 'tasks', runId: parts[1], params: url.searchParams };
    if (parts[2] === 'tasks' && parts[3] && parts.length === 4) return { page: 'task', runId: parts[1], ord: parts[3] };
    if (parts[2] === 'items' && parts[3] && parts.length === 4) return { page: 'item', runId: parts[1], item: parts[3] };
  }
  if (parts[0] === 'compare' && parts.length === 5 && parts[3] === 'items') return { page: 'compare', a: parts[1]!, b: parts[2]!, item: parts[4]! };
  return { page: 'missing' };
}
