import { readFileSync } from 'node:fs';

let cachedVersion: string | undefined;

/** assay's own version, from its package.json. */
export function toolVersion(): string {
  if (cachedVersion === undefined) {
    try {
      const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
      cachedVersion = (JSON.parse(text) as { version: string }).version;
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return cachedVersion;
}
