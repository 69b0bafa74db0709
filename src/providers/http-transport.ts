import type { Agent } from 'undici';

/**
 * The `fetch` every AI SDK provider of assay is given: undici's `request` over one keep-alive connection pool
 * per process, answered as a fully read `Response`. The provider packages still build every request and
 * read every response; this only replaces the WHATWG fetch underneath, whose streams cost about half of a
 * call's CPU at thousands of calls per second.
 */
let agent: Promise<{ agent: Agent; request: typeof import('undici').request }> | undefined;

function pool() {
  agent ??= import('undici').then(({ Agent: AgentClass, request }) => ({
    agent: new AgentClass({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: null, pipelining: 1 }),
    request,
  }));
  return agent;
}

/** Loads undici and opens the pool, so the first call does not pay for it. */
export async function warmTransport(): Promise<void> {
  await pool();
}

function headersOf(init: RequestInit | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  const given = init?.headers;
  if (!given) return headers;
  if (given instanceof Headers) {
    given.forEach((value, name) => (headers[name] = value));
  } else if (Array.isArray(given)) {
    for (const [name, value] of given) headers[name!.toLowerCase()] = value!;
  } else {
    for (const [name, value] of Object.entries(given)) if (value !== undefined) headers[name.toLowerCase()] = String(value);
  }
  return headers;
}

export const poolFetch: typeof fetch = async (input, init) => {
  const { agent: dispatcher, request } = await pool();
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const body = init?.body;
  if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
    // Streams and forms (never sent by the chat APIs assay uses) go through the platform fetch.
    return fetch(input, init);
  }
  const response = await request(url, {
    method: (init?.method ?? 'GET') as 'POST',
    headers: headersOf(init),
    body: body ?? null,
    signal: init?.signal ?? null,
    dispatcher,
  });
  const text = await response.body.text();
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const entry of value) headers.append(name, entry);
    else headers.set(name, value);
  }
  const nullBody = response.statusCode === 204 || response.statusCode === 304;
  return new Response(nullBody ? null : text, { status: response.statusCode, headers });
};
