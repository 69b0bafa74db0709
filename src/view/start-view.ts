import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { UserError } from '../core/errors.js';
import { holdsOneRun, openStore } from '../stores/open-store.js';
import type { Store } from '../spec/store.js';
import { loadViewAssets } from './view-assets.js';
import { viewApp } from './view-server.js';

export interface StartViewOptions {
  /** The store's location (path), opened read-only. */
  readonly store: string;
  readonly host: string;
  readonly port: number;
  /** False with --no-token: refused beyond loopback. */
  readonly token: boolean;
}

export interface RunningView {
  /** The URL to open, with the access token when there is one. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly token: string | null;
  readonly store: Store;
  close(): Promise<void>;
}

/** Whether the address can only be reached from this machine. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

function listen(app: ReturnType<typeof viewApp>, host: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port });
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new UserError('port_in_use', `port ${port} on ${host} is already in use`, { hint: 'pass --port with another port (0 picks a free one)' }));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') reject(new UserError('bad_host', `cannot listen on ${host}: no such address on this machine`, { hint: 'pass --host with an address of this machine, e.g. 127.0.0.1' }));
      else if (error.code === 'EACCES') reject(new UserError('port_denied', `not allowed to listen on port ${port}`, { hint: 'pass --port with a port above 1023' }));
      else reject(error);
    });
    server.once('listening', () => resolve(server));
  });
}

/** Opens the store read-only and serves the viewer; resolves once it listens. */
export async function startView(options: StartViewOptions): Promise<RunningView> {
  const loopback = isLoopback(options.host);
  if (!loopback && !options.token) {
    throw new UserError('token_required', `--no-token is refused with --host ${options.host}: beyond loopback the viewer needs its access token`, { hint: 'drop --no-token (a random token is printed with the URL), or use --host 127.0.0.1' });
  }
  const assets = loadViewAssets();
  const store = await openStore(options.store, { create: false, readonly: true });
  // A store another connection can read (a database, not one job's files) builds reports in a worker thread.
  const reportLocation = holdsOneRun(options.store) ? null : options.store;
  try {
    const token = loopback ? null : randomBytes(24).toString('base64url');
    const hosts = (port: number) => (loopback ? ['127.0.0.1', 'localhost', '[::1]', `[${options.host}]`, options.host].map((name) => `${name}:${port}`) : null);
    let allowed: string[] | null = null;
    const app = viewApp({ store, assets, token, reportLocation, get allowedHosts() { return allowed; } });
    const server = await listen(app, options.host, options.port);
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    allowed = hosts(port);
    const shown = isIP(options.host) === 6 ? `[${options.host}]` : options.host;
    const url = `http://${shown}:${port}/${token ? `?token=${token}` : ''}`;
    return {
      url,
      host: options.host,
      port,
      token,
      store,
      close: async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
