// Workload 5: assay and a peer tool (promptfoo, installed only under bench/peers) on the same local
// OpenAI-compatible server: one request per item at the same concurrency. Measured per tool: wall time, peak
// RSS, server-side throughput; then a kill -9 half way and a restart (promptfoo with --resume, assay with a
// plain `assay run`): whether it finishes, and how many requests it repeats for items already answered.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distinctArithmeticDataset, httpConfig } from './fixtures.js';
import { ModelServer } from './support/model-server.js';
import { watch } from './support/watch.js';

const [workDirectory, tool, itemsText, delayText, concurrencyText, modeText] = process.argv.slice(2);
const items = Number(itemsText);
const delayMs = Number(delayText);
const concurrency = Number(concurrencyText);
const mode = (modeText ?? 'full') as 'full' | 'kill';
const root = fileURLToPath(new URL('..', import.meta.url));
const promptfooBin = join(root, 'bench', 'peers', 'node_modules', '.bin', 'promptfoo');
const log = (message: string) => process.stderr.write(`    ${message}\n`);

if (tool === 'promptfoo' && !existsSync(promptfooBin)) {
  process.stdout.write(JSON.stringify({ unavailable: 'promptfoo is not installed: run `npm install` in bench/peers' }));
  process.exit(0);
}

const server = await new ModelServer(delayMs, { trackPrompts: mode === 'kill' }).start();
const dataset = distinctArithmeticDataset(workDirectory!, items);
const directory = join(workDirectory!, `${tool}-${items}-${delayMs}-${mode}`);
rmSync(directory, { recursive: true, force: true });
mkdirSync(directory, { recursive: true });

function command(): { bin: string; args: string[]; env: NodeJS.ProcessEnv; resumeArgs: string[] } {
  if (tool === 'assay') {
    const config = httpConfig(directory, dataset, join(directory, 'store.db'), server.baseURL, concurrency, 'peer-bench');
    const args = [join(root, 'bin', 'assay.js'), 'run', config, '--quiet', '--json'];
    return { bin: process.execPath, args, env: process.env, resumeArgs: args };
  }
  // promptfoo: the same prompts (the question as the user message), the same check (the answer appears).
  const rows = ['question,answer'];
  for (const line of readFileSync(dataset, 'utf8').split('\n')) {
    if (!line) continue;
    const row = JSON.parse(line) as { question: string; answer: string };
    rows.push(`"${row.question.replace(/"/g, '""')}",${row.answer}`);
  }
  writeFileSync(join(directory, 'tests.csv'), `${rows.join('\n')}\n`);
  writeFileSync(
    join(directory, 'promptfooconfig.yaml'),
    `description: peer-bench
prompts: ["{{question}}"]
providers:
  - id: openai:chat:bench-model
    config: { apiBaseUrl: "${server.baseURL}", apiKey: bench, temperature: 0 }
tests: file://tests.csv
defaultTest:
  assert:
    - { type: contains, value: "The answer is {{answer}}." }
`,
  );
  const env = {
    ...process.env,
    PROMPTFOO_CONFIG_DIR: join(directory, '.promptfoo'),
    PROMPTFOO_DISABLE_TELEMETRY: '1',
    PROMPTFOO_DISABLE_UPDATE: '1',
    PROMPTFOO_DISABLE_SHARING: '1',
    OPENAI_API_KEY: 'bench',
  };
  const args = ['eval', '-c', 'promptfooconfig.yaml', '-j', String(concurrency), '--no-cache', '--no-table', '--no-progress-bar', '--no-share'];
  return { bin: promptfooBin, args, env, resumeArgs: ['eval', '--resume', '--no-cache', '--no-table', '--no-progress-bar', '--no-share'] };
}

const { bin, args, env, resumeArgs } = command();

if (mode === 'full') {
  const run = watch(bin, args, { cwd: directory, env });
  const result = await run.done;
  await server.stop();
  // promptfoo exits 100 when some assertion failed; a clean run here passes every one.
  if (result.code !== 0 && server.requests < items) throw new Error(`${tool} failed (${result.code}): ${result.stderr.slice(-2000)}`);
  process.stdout.write(
    JSON.stringify({
      tool,
      items,
      delayMs,
      concurrency,
      requests: server.requests,
      seconds: result.seconds,
      startupSeconds: (server.firstAt! - run.startedAt) / 1000,
      ...server.throughput(concurrency),
      peakRssMB: result.peakRssMB,
      exitCode: result.code,
    }),
  );
} else {
  const first = watch(bin, args, { cwd: directory, env });
  let killedAt = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (server.requests >= items / 2) {
        clearInterval(timer);
        // The whole process group: a tool that runs workers must lose them too.
        killedAt = performance.now();
        first.child.kill('SIGKILL');
        resolve();
      }
    }, 5);
  });
  await first.done;
  const answeredBefore = new Set(server.prompts!.keys());
  // Answers the server sent at least a second before the kill: a tool that saves as it goes has them.
  const settledBefore = new Set([...server.answeredAt!].filter(([, at]) => at < killedAt - 1000).map(([prompt]) => prompt));
  const requestsBefore = server.requests;
  log(`${tool}: killed after ${requestsBefore} requests`);
  server.resetCounters();
  const second = watch(bin, resumeArgs, { cwd: directory, env });
  const result = await second.done;
  await server.stop();
  let repeated = 0;
  let repeatedSettled = 0;
  for (const [prompt, count] of server.prompts!) {
    if (count > 1 && answeredBefore.has(prompt)) repeated += count - 1;
    if (count > 1 && settledBefore.has(prompt)) repeatedSettled += count - 1;
  }
  const finished = tool === 'assay' ? result.code === 0 && (JSON.parse(result.stdout) as { done: number }).done === items : result.code === 0 || result.code === 100;
  log(`${tool}: restart made ${server.requests} requests, exit ${result.code}`);
  process.stdout.write(
    JSON.stringify({
      tool,
      items,
      requestsBeforeKill: requestsBefore,
      requestsAfterRestart: server.requests,
      repeatedAfterRestart: repeated,
      settledBeforeKill: settledBefore.size,
      repeatedSettled,
      distinctAnswered: server.prompts!.size,
      restartExit: result.code,
      finished,
      restartSeconds: result.seconds,
      restartTail: finished ? undefined : result.stderr.slice(-500),
    }),
  );
}
