import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poolFetch } from './http-transport.js';

// A real HTTP server on loopback: the transport is checked against what a platform Response would give.
let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (request.url === '/empty') return void response.writeHead(204).end();
      if (request.url === '/limited') {
        response.writeHead(429, { 'retry-after': '3', 'content-type': 'application/json' });
        return void response.end(JSON.stringify({ error: { message: 'slow down' } }));
      }
      response.setHeader('Set-Cookie', ['a=1', 'b=2']);
      response.setHeader('X-Many', ['one', 'two']);
      response.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify({ method: request.method, header: request.headers['x-test'] ?? null, body, text: 'żółw ✓' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const post = (path: string) => poolFetch(`${base}${path}`, { method: 'POST', headers: { 'X-Test': 'yes', 'content-type': 'application/json' }, body: '{"q":1}' });

describe('poolFetch', () => {
  it('answers like a platform Response: status, headers by any case, the body as text or JSON, once', async () => {
    const [ours, platform] = await Promise.all([post('/ok'), fetch(`${base}/ok`, { method: 'POST', headers: { 'X-Test': 'yes' }, body: '{"q":1}' })]);
    expect(ours.status).toBe(200);
    expect(ours.ok).toBe(true);
    expect(ours.statusText).toBe(platform.statusText);
    expect(ours.headers.get('CONTENT-TYPE')).toBe(platform.headers.get('content-type'));
    expect(ours.headers.get('x-many')).toBe(platform.headers.get('x-many'));
    expect(ours.headers.getSetCookie()).toEqual(platform.headers.getSetCookie());
    expect(ours.headers.has('Date')).toBe(true);
    expect(ours.headers.get('x-absent')).toBeNull();
    // What the AI SDK does with the headers of every response (extractResponseHeaders).
    expect(Object.fromEntries([...ours.headers])['content-type']).toBe('application/json; charset=utf-8');
    const parsed = (await ours.json()) as { method: string; header: string; body: string; text: string };
    expect(parsed).toEqual({ method: 'POST', header: 'yes', body: '{"q":1}', text: 'żółw ✓' });
    expect(ours.bodyUsed).toBe(true);
    await expect(ours.text()).rejects.toThrow(/already been read/);
    expect(await platform.json()).toEqual(parsed);
  });

  it('reads the body through a reader in one chunk, as the AI SDK reads every response', async () => {
    const response = await post('/ok');
    const reader = response.body!.getReader();
    const first = await reader.read();
    const second = await reader.read();
    await reader.cancel();
    reader.releaseLock();
    expect(second.done).toBe(true);
    expect(JSON.parse(new TextDecoder().decode(first.value)).text).toBe('żółw ✓');
    expect(response.bodyUsed).toBe(true);
  });

  it('makes a real web stream when a caller pipes the body', async () => {
    const response = await post('/ok');
    const text = await new Response(response.body!.pipeThrough(new TransformStream())).text();
    expect(JSON.parse(text).header).toBe('yes');
  });

  it('keeps error statuses and their headers, and has no body for 204', async () => {
    const limited = await post('/limited');
    expect(limited.ok).toBe(false);
    expect(limited.status).toBe(429);
    expect(limited.statusText).toBe('Too Many Requests');
    expect(limited.headers.get('Retry-After')).toBe('3');
    expect(await limited.clone().json()).toEqual({ error: { message: 'slow down' } });
    expect(await limited.text()).toContain('slow down');
    const empty = await post('/empty');
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
  });
});
