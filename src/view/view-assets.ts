import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../core/errors.js';

/** The viewer's built pages (Vite, web/view -> dist/viewer), read into memory once. */
export interface ViewAssets {
  /** index.html: every page URL answers with it; the app routes on the client. */
  readonly index: string;
  /** Other files by URL path (/assets/...). */
  readonly files: ReadonlyMap<string, { readonly body: Uint8Array<ArrayBuffer>; readonly type: string }>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** dist/viewer, from this module in dist/view/ (the package as built) or in src/view/ (tests run from source). */
export function viewAssetsFolder(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, '..', 'viewer'), join(here, '..', '..', 'dist', 'viewer')];
  return candidates.find((folder) => existsSync(join(folder, 'index.html'))) ?? candidates[0]!;
}

export function loadViewAssets(folder = viewAssetsFolder()): ViewAssets {
  const indexPath = join(folder, 'index.html');
  if (!existsSync(indexPath)) {
    throw new UserError('viewer_not_built', `the viewer's pages are not built (no ${indexPath})`, { hint: 'run `npm run build` in the assay folder (npm install does it)' });
  }
  const files = new Map<string, { body: Uint8Array<ArrayBuffer>; type: string }>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name !== 'index.html') {
        const url = `/${relative(folder, path).split(sep).join('/')}`;
        files.set(url, { body: new Uint8Array(readFileSync(path)), type: TYPES[extname(name)] ?? 'application/octet-stream' });
      }
    }
  };
  walk(folder);
  return { index: readFileSync(indexPath, 'utf8'), files };
}
