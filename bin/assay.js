#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// A reader that stops early (`assay report RUN | head`) closes the pipe: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

process.exitCode = await main(process.argv.slice(2));
// Let stdout drain, but do not wait on idle keep-alive sockets a provider SDK may leave open.
setTimeout(() => process.exit(), 1500).unref();
