// A bare HTTP client (undici's request, one keep-alive pool, no SDK, no store): sends `items` chat
// completion requests to `url` with `concurrency` in flight, then exits.
import { Agent, request } from 'undici';

const [url, itemsText, concurrencyText] = process.argv.slice(2);
const items = Number(itemsText);
const agent = new Agent({ keepAliveTimeout: 30_000, connections: null });
let next = 0;
await Promise.all(
  Array.from({ length: Number(concurrencyText) }, async () => {
    while (next < items) {
      const index = next++;
      const response = await request(`${url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: `Question ${index}: what is ${index % 997} + 2?` }] }),
        dispatcher: agent,
      });
      JSON.parse(await response.body.text());
    }
  }),
);
await agent.close();
