// The physical reference for workload 2: a bare HTTP client (bench/support/raw-client.mjs: undici, no SDK, no
// store) in its own process sends the same requests to the same server at the same concurrency, exactly as
// `assay run` does in the latency scenario. What it reaches is what this machine allows.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelServer } from './support/model-server.js';
import { watch } from './support/watch.js';

const [workDirectory, itemsText, delayText, concurrencyText] = process.argv.slice(2);
const items = Number(itemsText);
const delayMs = Number(delayText);
const concurrency = Number(concurrencyText);
const root = fileURLToPath(new URL('..', import.meta.url));

const server = await new ModelServer(delayMs).start();
const client = watch(process.execPath, [join(root, 'bench', 'support', 'raw-client.mjs'), server.baseURL, String(items), String(concurrency)], { cwd: workDirectory! });
const result = await client.done;
await server.stop();
if (result.code !== 0) throw new Error(`raw client failed: ${result.stderr}`);
const { requestsPerSecond, fraction } = server.throughput(concurrency);
process.stdout.write(
  JSON.stringify({
    items,
    requestsPerSecond,
    fraction,
    firstSecondRequestsPerSecond: server.rateBetween(0, 1),
    afterThreeSecondsRequestsPerSecond: server.rateBetween(3),
    seconds: result.seconds,
    peakRssMB: result.peakRssMB,
  }),
);
