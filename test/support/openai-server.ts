import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly index: number;
  readonly at: number;
  readonly model: string;
  readonly system: string | undefined;
  readonly prompt: string;
  readonly body: Record<string, unknown>;
  readonly headers: IncomingMessage['headers'];
}

/** What the server does with one request. */
export type Reply =
  | { readonly kind: 'answer'; readonly text: string; readonly delayMs?: number }
  | { readonly kind: 'error'; readonly status: number; readonly headers?: Record<string, string>; readonly body?: string; readonly delayMs?: number }
  | { readonly kind: 'raw'; readonly status: number; readonly body: string; readonly delayMs?: number }
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

export const answerEverything: Behaviour = (request) => ({ kind: 'answer', text: solve(request.prompt) });

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
    if (request.method !== 'POST' || !request.url?.endsWith('/chat/completions')) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; messages: { role: string; content: string }[] };
    const recorded: RecordedRequest = {
      index: this.requests.length,
      at: Date.now(),
      model: body.model,
      system: body.messages.find((message) => message.role === 'system')?.content,
      prompt: body.messages.filter((message) => message.role === 'user').map((message) => message.content).join('\n'),
      body,
      headers: request.headers,
    };
    this.requests.push(recorded);
    const reply = this.behaviour(recorded, this);
    if (reply.kind === 'hang') return;
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if (response.destroyed) return;
    if (reply.kind === 'answer') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${recorded.index}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: reply.text }, finish_reason: 'stop' }],
          usage: { prompt_tokens: Math.ceil(recorded.prompt.length / 4), completion_tokens: Math.ceil(reply.text.length / 4), total_tokens: 0 },
        }),
      );
    } else if (reply.kind === 'error') {
      response
        .writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
        .end(reply.body ?? JSON.stringify({ error: { message: `scripted ${reply.status}`, type: 'test' } }));
    } else {
      response.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body);
    }
  }
}
