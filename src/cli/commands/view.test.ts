import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// Loading the viewer (Hono, the server, the assets) must not slow the other commands: the CLI reaches it
// only through a dynamic import inside `assay view`'s action.
describe('assay view is loaded lazily', () => {
  it('has no static import of the viewer or its framework on the CLI path', () => {
    for (const file of ['../main.ts', './view.ts']) {
      const source = readFileSync(new URL(file, import.meta.url), 'utf8');
      const staticImports = [...source.matchAll(/^import[^;]*from '([^']+)'/gm)].map((match) => match[1]);
      expect(staticImports.filter((path) => /\/view\/|hono/.test(path!)), file).toEqual([]);
    }
    expect(readFileSync(new URL('./view.ts', import.meta.url), 'utf8')).toContain("await import('../../view/start-view.js')");
  });
});
