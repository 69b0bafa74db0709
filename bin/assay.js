#!/usr/bin/env node
import { main, stderrClosed } from '../dist/cli/main.js';

// A reader that stops early (`assay report RUN | head`) closes the pipe: that is not an error, and there is
// nothing more to say. A reader of stderr that goes away (`assay worker 2>&1 | head`, a killed
// `assay run --workers` parent) does not stop the work: its lines are dropped from then on (a fleet worker
// whose parent is gone stops as on SIGTERM: src/cli/commands/worker.ts).
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
process.stderr.on('error', (error) => {
  if (error.code === 'EPIPE') return stderrClosed();
  throw error;
});

process.exitCode = await main(process.argv.slice(2));
// Let stdout drain, but do not wait on idle keep-alive sockets a provider SDK may leave open.
setTimeout(() => process.exit(), 1500).unref();
