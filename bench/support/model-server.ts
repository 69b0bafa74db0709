// A local OpenAI-compatible chat completions server for the benchmarks: answers every arithmetic question
// correctly after a fixed delay, and counts what it saw (per prompt, in flight, first and last arrival).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export function solve(prompt: string): string {
  const match = /(-?\d+)\s*([-+*])\s*(-?\d+)/.exec(prompt);
  if (!match) return 'I do not know.';
  const [left, operator, right] = [Number(match[1]), match[2], Number(match[3])];
  const value = operator === '+' ? left + right : operator === '-' ? left - right : left * right;
  return `Let me work it out: ${left} ${operator} ${right} = ${value}. The answer is ${value}.`;
}

export class ModelServer {
  private server: Server | undefined;
  port = 0;
  requests = 0;
  inFlight = 0;
  maxInFlight = 0;
  firstAt: number | null = null;
  lastDoneAt: number | null = null;
  /** Answers sent in each 100 ms since the first request, to tell the first seconds from the rest. */
  private readonly answersPerTick: number[] = [];
  /** Requests per prompt, when asked to keep them (the resume benchmark counts repeats). */
  readonly prompts: Map<string, number> | null;
  /** When each prompt was last answered (performance.now()), with `trackPrompts`. */
  readonly answeredAt: Map<string, number> | null;

  constructor(
    private readonly delayMs: number,
    options: { trackPrompts?: boolean } = {},
  ) {
    this.prompts = options.trackPrompts ? new Map() : null;
    this.answeredAt = options.trackPrompts ? new Map() : null;
  }

  get baseURL(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /**
   * Throughput as the server saw it, from its first request to its last answer, and as a fraction of the
   * physical limit, concurrency / delay (null when the server does not wait).
   */
  throughput(concurrency: number): { steadySeconds: number; requestsPerSecond: number; ideal: number | null; fraction: number | null; maxInFlight: number } {
    const steadySeconds = (this.lastDoneAt! - this.firstAt!) / 1000;
    const requestsPerSecond = this.requests / steadySeconds;
    const ideal = this.delayMs > 0 ? (concurrency * 1000) / this.delayMs : null;
    return { steadySeconds, requestsPerSecond, ideal, fraction: ideal ? requestsPerSecond / ideal : null, maxInFlight: this.maxInFlight };
  }

  /**
   * Answers per second in the seconds `from` to `to` after the first request (`to` defaults to the last
   * answer), counted in whole 100 ms ticks: the first seconds of a client are its warm-up (connections, V8
   * compiling its hot code), later ones its steady rate.
   */
  rateBetween(from: number, to?: number): number | null {
    const first = Math.round(from * 10);
    const last = to === undefined ? this.answersPerTick.length - 1 : Math.round(to * 10) - 1;
    if (last < first) return null;
    let answers = 0;
    for (let tick = first; tick <= last; tick++) answers += this.answersPerTick[tick] ?? 0;
    return answers / ((last - first + 1) / 10);
  }

  /** Forgets the counters (not the prompts), to measure one phase. */
  resetCounters(): void {
    this.requests = 0;
    this.maxInFlight = 0;
    this.firstAt = null;
    this.lastDoneAt = null;
    this.answersPerTick.length = 0;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const arrived = performance.now();
        this.firstAt ??= arrived;
        this.requests++;
        this.inFlight++;
        if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
        let prompt = '';
        let model = 'model';
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model?: string; messages?: { role: string; content: unknown }[] };
          model = body.model ?? model;
          const user = (body.messages ?? []).filter((message) => message.role === 'user').pop();
          prompt = typeof user?.content === 'string' ? user.content : JSON.stringify(user?.content ?? '');
        } catch {
          // an unreadable body still gets an answer
        }
        if (this.prompts) this.prompts.set(prompt, (this.prompts.get(prompt) ?? 0) + 1);
        const text = solve(prompt);
        const reply = () => {
          const payload = JSON.stringify({
            id: `chatcmpl-${this.requests}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model,
            choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
            usage: { prompt_tokens: Math.ceil(prompt.length / 4), completion_tokens: Math.ceil(text.length / 4), total_tokens: Math.ceil((prompt.length + text.length) / 4) },
          });
          response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }).end(payload);
          this.inFlight--;
          this.lastDoneAt = performance.now();
          if (this.firstAt !== null) {
            const tick = Math.floor((this.lastDoneAt - this.firstAt) / 100);
            while (this.answersPerTick.length <= tick) this.answersPerTick.push(0);
            this.answersPerTick[tick]!++;
          }
          this.answeredAt?.set(prompt, this.lastDoneAt);
        };
        if (this.delayMs > 0) setTimeout(reply, this.delayMs);
        else reply();
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
