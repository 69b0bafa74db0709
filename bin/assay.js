#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
// Let stdout drain, but do not wait on idle keep-alive sockets a provider SDK may leave open.
setTimeout(() => process.exit(), 1500).unref();
