import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Which wire format a request came in: OpenAI chat completions, Anthropic messages, or Gemini generateContent. */
export type Api = 'openai' | 'anthropic' | 'google';

export interface RecordedRequest {
  readonly index: number;
  readonly at: number;
  readonly api: Api;
  /** The request path and query, as sent. */
  readonly url: string;
  readonly model: string;
  readonly system: string | undefined;
  readonly prompt: string;
  /** The conversation as sent, in any API's format read as system/user/assistant turns. */
  readonly turns: readonly { readonly role: string; readonly content: string }[];
  readonly body: Record<string, unknown>;
  readonly headers: IncomingMessage['headers'];
}

/** What the server does with one request. */
export type Reply =
  /** `after`: the answer waits for it too (a test holding every answer until something has happened). */
  | { readonly kind: 'answer'; readonly text: string; readonly delayMs?: number; readonly after?: Promise<unknown> }
  | { readonly kind: 'error'; readonly status: number; readonly headers?: Record<string, string>; readonly body?: string; readonly delayMs?: number }
  /** A body sent as given; bytes go out untouched (invalid UTF-8 included). */
  | { readonly kind: 'raw'; readonly status: number; readonly body: string | Uint8Array; readonly delayMs?: number }
  /** Headers at once, then the body a few bytes at a time. */
  | { readonly kind: 'drip'; readonly text: string; readonly chunkDelayMs: number }
  | { readonly kind: 'hang' };

export type Behaviour = (request: RecordedRequest, server: FakeOpenAIServer) => Reply;

/** Solves the "What is a + b?" questions the tests use, so answers are checkable. */
export function solve(prompt: string): string {
  const match = /(-?\d+)\s*([-+*])\s*(-?\d+)/.exec(prompt);
  if (!match) return 'I do not know.';
  const [left, operator, right] = [Number(match[1]), match[2], Number(match[3])];
  const value = operator === '+' ? left + right : operator === '-' ? left - right : left * right;
  return `The answer is ${value}.`;
}

/**
 * An OpenAI-format error reply whose message echoes the request's URL and every header (the Authorization
 * header included), as careless servers and proxies do: what a stored failure must never keep.
 */
export function echoingError(request: RecordedRequest, status: number): Reply {
  const message = `rejected POST ${request.url} with headers ${JSON.stringify(request.headers)}`;
  return { kind: 'error', status, body: JSON.stringify({ error: { message, type: 'echo', headers: request.headers } }) };
}

export const answerEverything: Behaviour = (request) => ({ kind: 'answer', text: solve(request.prompt) });

/** Solves the question of the last turn only (earlier user turns may be few-shot examples). */
export const answerLastTurn: Behaviour = (request) => ({ kind: 'answer', text: solve(request.turns.at(-1)?.content ?? '') });

/**
 * A real OpenAI-compatible HTTP server for tests: answers POST /v1/chat/completions, records every request
 * (so tests count calls per prompt), and lets a test script each reply (delays, 429s, 500s, broken bodies).
 */
export class FakeOpenAIServer {
  readonly requests: RecordedRequest[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<import('node:net').Socket>();
  behaviour: Behaviour;
  port = 0;

  constructor(behaviour: Behaviour = answerEverything) {
    this.behaviour = behaviour;
  }

  get baseURL(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => void this.handle(request, response));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server!.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** How many requests carried each prompt. */
  countsByPrompt(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const request of this.requests) counts.set(request.prompt, (counts.get(request.prompt) ?? 0) + 1);
    return counts;
  }

  requestsFor(prompt: string): RecordedRequest[] {
    return this.requests.filter((request) => request.prompt === prompt);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const url = request.url ?? '';
    const api: Api | null =
      request.method !== 'POST' ? null : url.endsWith('/chat/completions') ? 'openai' : url.endsWith('/messages') ? 'anthropic' : url.includes(':generateContent') ? 'google' : null;
    if (!api) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    const { model, system, prompt } = readRequest(api, body, url);
    const recorded: RecordedRequest = { index: this.requests.length, at: Date.now(), api, url, model, system, prompt, turns: readTurns(api, body), body, headers: request.headers };
    this.requests.push(recorded);
    const reply = this.behaviour(recorded, this);
    if (reply.kind === 'hang') return;
    if (reply.kind !== 'drip' && reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if (reply.kind === 'answer' && reply.after) await reply.after;
    if (response.destroyed) return;
    if (reply.kind === 'answer' || reply.kind === 'drip') {
      const text = JSON.stringify(answerBody(api, model, reply.text, recorded));
      if (reply.kind === 'answer') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(text);
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      for (let offset = 0; offset < text.length; offset += 8) {
        if (response.destroyed) return;
        response.write(text.slice(offset, offset + 8));
        await new Promise((resolve) => setTimeout(resolve, reply.chunkDelayMs));
      }
      response.end();
    } else if (reply.kind === 'error') {
      response
        .writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
        .end(reply.body ?? JSON.stringify({ error: { message: `scripted ${reply.status}`, type: 'test' } }));
    } else {
      response.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body);
    }
  }
}

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (typeof part === 'string' ? part : ((part as { text?: string }).text ?? ''))).join('');
  return '';
}

function readRequest(api: Api, body: Record<string, unknown>, url: string): { model: string; system: string | undefined; prompt: string } {
  if (api === 'google') {
    const contents = (body.contents ?? []) as { role?: string; parts: { text?: string }[] }[];
    const instruction = body.systemInstruction as { parts: { text?: string }[] } | undefined;
    return {
      model: decodeURIComponent(/models\/([^:]+):generateContent/.exec(url)?.[1] ?? ''),
      system: instruction ? text(instruction.parts) : undefined,
      prompt: contents.filter((entry) => entry.role !== 'model').map((entry) => text(entry.parts)).join('\n'),
    };
  }
  const messages = (body.messages ?? []) as { role: string; content: unknown }[];
  const system = api === 'anthropic' ? (body.system === undefined ? undefined : text(body.system)) : messages.find((message) => message.role === 'system')?.content;
  return {
    model: String(body.model),
    system: typeof system === 'string' ? system : undefined,
    prompt: messages.filter((message) => message.role === 'user').map((message) => text(message.content)).join('\n'),
  };
}

function readTurns(api: Api, body: Record<string, unknown>): { role: string; content: string }[] {
  if (api === 'google') {
    const instruction = body.systemInstruction as { parts: { text?: string }[] } | undefined;
    const contents = (body.contents ?? []) as { role?: string; parts: { text?: string }[] }[];
    return [
      ...(instruction ? [{ role: 'system', content: text(instruction.parts) }] : []),
      ...contents.map((entry) => ({ role: entry.role === 'model' ? 'assistant' : (entry.role ?? 'user'), content: text(entry.parts) })),
    ];
  }
  const messages = ((body.messages ?? []) as { role: string; content: unknown }[]).map((message) => ({ role: message.role, content: text(message.content) }));
  return api === 'anthropic' && body.system !== undefined ? [{ role: 'system', content: text(body.system) }, ...messages] : messages;
}

function answerBody(api: Api, model: string, reply: string, request: RecordedRequest): unknown {
  const input = Math.ceil(request.prompt.length / 4);
  const output = Math.ceil(reply.length / 4);
  if (api === 'anthropic') {
    return { id: `msg_${request.index}`, type: 'message', role: 'assistant', model, content: [{ type: 'text', text: reply }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: input, output_tokens: output } };
  }
  if (api === 'google') {
    return { candidates: [{ content: { parts: [{ text: reply }], role: 'model' }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: input, candidatesTokenCount: output, totalTokenCount: input + output }, modelVersion: model };
  }
  return {
    id: `chatcmpl-${request.index}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }],
    usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
  };
}
