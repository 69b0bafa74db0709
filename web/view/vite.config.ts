import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The viewer's pages: built into dist/viewer by `npm run build` (which `npm install` runs through `prepare`),
// served by src/view. No inline script anywhere (the server's CSP forbids it), no source maps shipped.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../../dist/viewer', import.meta.url)),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
});
