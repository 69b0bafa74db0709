import { ReadableStream, type ReadableStreamReadResult, type ReadableWritablePair, type StreamPipeOptions, type WritableStream } from 'node:stream/web';
import type { Agent } from 'undici';

/**
 * The `fetch` every AI SDK provider of assay is given: undici's `request` over one keep-alive connection pool
 * per process, answered as a fully read {@link BufferedResponse}. The provider packages still build every
 * request and read every response; this only replaces the WHATWG fetch underneath, whose streams cost about
 * half of a call's CPU at thousands of calls per second.
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
  const bytes = await response.body.bytes();
  return new BufferedResponse(response.statusCode, response.statusText ?? '', response.headers, bytes, url) as unknown as Response;
};

/**
 * The read-only part of WHATWG `Headers` that a response needs, over the header object undici parsed
 * (names already lower case). Repeated headers read as one value joined by ", ", as `Headers#get` gives them.
 */
export class BufferedHeaders {
  private readonly values = new Map<string, string>();
  private readonly cookies: readonly string[];

  constructor(raw: Readonly<Record<string, string | string[] | undefined>>) {
    for (const [name, value] of Object.entries(raw)) {
      if (value === undefined) continue;
      this.values.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : value);
    }
    const cookies = raw['set-cookie'];
    this.cookies = cookies === undefined ? [] : Array.isArray(cookies) ? cookies : [cookies];
  }

  get(name: string): string | null {
    return this.values.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.values.has(name.toLowerCase());
  }

  getSetCookie(): string[] {
    return [...this.cookies];
  }

  forEach(callback: (value: string, name: string, headers: BufferedHeaders) => void, thisArg?: unknown): void {
    for (const [name, value] of this.values) callback.call(thisArg, value, name, this);
  }

  entries(): IterableIterator<[string, string]> {
    return this.values.entries();
  }

  keys(): IterableIterator<string> {
    return this.values.keys();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.values.entries();
  }
}

/**
 * A response whose body has already been read in full, shaped like WHATWG `Response` for the AI SDK: status,
 * headers, `body.getReader()` (one chunk, then done), `text()`, `json()`, `arrayBuffer()`. Building a real
 * `Response` made Node create a web stream per call (about a tenth of a call's CPU in the latency benchmark,
 * docs/benchmarks.md section 2); here a real stream is made only if a caller asks for one the reader above
 * does not cover (piping, teeing, async iteration).
 */
export class BufferedResponse {
  readonly headers: BufferedHeaders;
  readonly type = 'basic';
  readonly redirected = false;
  private used = false;
  private bodyView: BufferedBody | null | undefined;

  constructor(
    readonly status: number,
    /** The reason phrase the server sent ("Too Many Requests"): the AI SDK's message for an error without a body. */
    readonly statusText: string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    private readonly content: Uint8Array,
    readonly url: string,
  ) {
    this.headers = new BufferedHeaders(headers);
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get bodyUsed(): boolean {
    return this.used;
  }

  get body(): BufferedBody | null {
    if (this.bodyView === undefined) {
      const empty = this.status === 204 || this.status === 304 || this.status === 205;
      this.bodyView = empty ? null : new BufferedBody(this.content, () => (this.used = true));
    }
    return this.bodyView;
  }

  private take(): Uint8Array {
    if (this.used) throw new TypeError('Body is unusable: Body has already been read');
    this.used = true;
    return this.content;
  }

  async bytes(): Promise<Uint8Array> {
    return this.take();
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.take();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(this.take());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async blob(): Promise<Blob> {
    return new Blob([this.take() as Uint8Array<ArrayBuffer>], { type: this.headers.get('content-type') ?? '' });
  }

  clone(): BufferedResponse {
    if (this.used) throw new TypeError('Response.clone: Body has already been consumed.');
    const raw: Record<string, string> = {};
    for (const [name, value] of this.headers) raw[name] = value;
    return new BufferedResponse(this.status, this.statusText, raw, this.content, this.url);
  }
}

/** The body of a {@link BufferedResponse}: a one-chunk reader, or a real `ReadableStream` made on demand. */
export class BufferedBody {
  private stream: ReadableStream<Uint8Array> | null = null;
  private readerTaken = false;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly markUsed: () => void,
  ) {}

  get locked(): boolean {
    return this.readerTaken || (this.stream?.locked ?? false);
  }

  getReader(): { read(): Promise<ReadableStreamReadResult<Uint8Array>>; cancel(reason?: unknown): Promise<void>; releaseLock(): void; readonly closed: Promise<undefined> } {
    if (this.locked) throw new TypeError('ReadableStream is locked');
    this.readerTaken = true;
    let done = false;
    return {
      read: async () => {
        if (done) return { done: true, value: undefined };
        done = true;
        this.markUsed();
        return { done: false, value: this.bytes };
      },
      cancel: async () => {
        done = true;
      },
      releaseLock: () => {
        this.readerTaken = false;
      },
      closed: Promise.resolve(undefined),
    };
  }

  async cancel(): Promise<void> {
    this.markUsed();
  }

  /** A real web stream of the same bytes, for every other use of a response body. */
  private real(): ReadableStream<Uint8Array> {
    if (!this.stream) {
      const bytes = this.bytes;
      this.markUsed();
      this.stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes);
          controller.close();
        },
      });
    }
    return this.stream;
  }

  pipeThrough<T>(transform: ReadableWritablePair<T, Uint8Array>, options?: StreamPipeOptions): ReadableStream<T> {
    return this.real().pipeThrough(transform, options);
  }

  pipeTo(destination: WritableStream<Uint8Array>, options?: StreamPipeOptions): Promise<void> {
    return this.real().pipeTo(destination, options);
  }

  tee(): [ReadableStream<Uint8Array>, ReadableStream<Uint8Array>] {
    return this.real().tee();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return (this.real() as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  }
}
